// Where OpenSSL's randomness comes from.
//
// By default OpenSSL draws from its own DRBG, seeded by the operating
// system: handshakes on real sockets are not reproducible, and must not be,
// because keel's Random (xoshiro256**) is not a cryptographic generator.
// The simulator and unit tests switch on env randomness for their thread:
// OpenSSL's RAND method is then replaced (process-wide, once) by one that
// draws from the Random of the TlsRandomScope open on the calling thread, so
// every key share, nonce and signature of a handshake comes from the
// simulated process's seeded Random and a run replays bit for bit. Calls
// made outside any scope fall back to OpenSSL's DRBG.
#ifndef KEEL_NET_TLS_RANDOM_H_
#define KEEL_NET_TLS_RANDOM_H_

#include "runtime/random.h"

namespace keel::net {

// Switches env randomness on or off for the calling thread (see above).
void UseEnvRandomForTls(bool on);
bool EnvRandomForTls();

// While alive, OpenSSL calls on this thread draw from `random` if env
// randomness is on; otherwise it does nothing. Scopes nest.
class TlsRandomScope {
 public:
  explicit TlsRandomScope(Random& random);
  ~TlsRandomScope();
  TlsRandomScope(const TlsRandomScope&) = delete;
  TlsRandomScope& operator=(const TlsRandomScope&) = delete;

 private:
  Random* previous_;
};

}  // namespace keel::net

#endif  // KEEL_NET_TLS_RANDOM_H_
