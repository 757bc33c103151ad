// Conversions between the store's KeyValue/Event and the wire types in
// proto/mvcc.proto (package mvccpb), for the server and the watch hub.
#ifndef KEEL_STORE_MVCC_PROTO_H_
#define KEEL_STORE_MVCC_PROTO_H_

#include "proto/mvcc.pb.h"
#include "store/mvcc_types.h"

namespace keel::store {

void ToProto(const KeyValue& kv, mvccpb::KeyValue* out);
// Moves the key and value out of `kv`.
void ToProto(KeyValue&& kv, mvccpb::KeyValue* out);
// prev_kv is copied only when `with_prev_kv` (a watcher's prev_kv option).
void ToProto(const Event& event, bool with_prev_kv, mvccpb::Event* out);
KeyValue FromProto(const mvccpb::KeyValue& kv);

}  // namespace keel::store

#endif  // KEEL_STORE_MVCC_PROTO_H_
