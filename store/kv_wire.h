// etcd's bytes for a KeyValue and a revision, as its HashKV hashes them:
// the gogoproto marshaling of mvccpb.KeyValue (fields in number order, zero
// values left out) and the bolt key "8-byte main '_' 8-byte sub" with a 't'
// after a tombstone's. Kept here, without protobuf, so hashing is cheap;
// store/mvcc_proto_test.cc checks it against libprotobuf.
#ifndef KEEL_STORE_KV_WIRE_H_
#define KEEL_STORE_KV_WIRE_H_

#include <string>

#include "store/mvcc_types.h"
#include "store/revision.h"

namespace keel::store {

void AppendKeyValueWire(std::string* out, const KeyValue& kv);
void AppendEtcdRevisionKey(std::string* out, Revision rev, bool tombstone);

}  // namespace keel::store

#endif  // KEEL_STORE_KV_WIRE_H_
