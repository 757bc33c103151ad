// The RAND method that reads the scope's Random.
//
// RAND_set_rand_method is deprecated in OpenSSL 3 but still honoured by
// RAND_bytes_ex and RAND_priv_bytes_ex, which key generation, nonces and
// the hello randoms go through; a provider would need a whole EVP_RAND
// implementation for the same effect.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "net/tls_random.h"

#include <openssl/rand.h>

#include <cstring>

namespace keel::net {
namespace {

thread_local bool env_random_on = false;
thread_local Random* current = nullptr;

int Bytes(unsigned char* out, int n) {
  if (current == nullptr) return RAND_OpenSSL()->bytes(out, n);
  for (int i = 0; i < n;) {
    const uint64_t word = current->Next();
    const int take = n - i < 8 ? n - i : 8;
    std::memcpy(out + i, &word, static_cast<size_t>(take));
    i += take;
  }
  return 1;
}

int Seed(const void* buffer, int n) { return RAND_OpenSSL()->seed(buffer, n); }
int Add(const void* buffer, int n, double entropy) {
  return RAND_OpenSSL()->add(buffer, n, entropy);
}
int Status() { return 1; }

const RAND_METHOD kEnvMethod = {
    .seed = Seed,
    .bytes = Bytes,
    .cleanup = nullptr,
    .add = Add,
    .pseudorand = Bytes,
    .status = Status,
};

}  // namespace

void UseEnvRandomForTls(bool on) {
  if (on) {
    static const bool installed = RAND_set_rand_method(&kEnvMethod) == 1;
    (void)installed;
  }
  env_random_on = on;
}

bool EnvRandomForTls() { return env_random_on; }

TlsRandomScope::TlsRandomScope(Random& random) : previous_(current) {
  if (env_random_on) current = &random;
}

TlsRandomScope::~TlsRandomScope() { current = previous_; }

}  // namespace keel::net
