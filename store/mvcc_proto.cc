// Store types to and from mvccpb; see mvcc_proto.h.
#include "store/mvcc_proto.h"

#include <utility>

namespace keel::store {

void ToProto(const KeyValue& kv, mvccpb::KeyValue* out) {
  out->set_key(kv.key);
  out->set_create_revision(kv.create_revision);
  out->set_mod_revision(kv.mod_revision);
  out->set_version(kv.version);
  out->set_value(kv.value);
  out->set_lease(kv.lease);
}

void ToProto(KeyValue&& kv, mvccpb::KeyValue* out) {
  out->set_key(std::move(kv.key));
  out->set_create_revision(kv.create_revision);
  out->set_mod_revision(kv.mod_revision);
  out->set_version(kv.version);
  out->set_value(std::move(kv.value));
  out->set_lease(kv.lease);
}

void ToProto(const Event& event, bool with_prev_kv, mvccpb::Event* out) {
  out->set_type(event.type == EventType::kPut ? mvccpb::Event::PUT
                                              : mvccpb::Event::DELETE);
  ToProto(event.kv, out->mutable_kv());
  if (with_prev_kv && event.prev_kv) {
    ToProto(*event.prev_kv, out->mutable_prev_kv());
  }
}

KeyValue FromProto(const mvccpb::KeyValue& kv) {
  KeyValue out;
  out.key = kv.key();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  out.version = kv.version();
  out.value = kv.value();
  out.lease = kv.lease();
  return out;
}

}  // namespace keel::store
