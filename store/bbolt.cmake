# store/ targets for bbolt files (bbolt_*) and etcd's schema over them
# (etcd_*): the format etcd keeps its key space in and streams as
# `snapshot save`. Included from store/CMakeLists.txt.

keel_library(keel_bbolt
  SOURCES bbolt_format.cc bbolt_reader.cc bbolt_writer.cc
  DEPS keel_runtime absl::btree absl::status absl::statusor absl::function_ref)

keel_test(bbolt_test LABEL unit
  SOURCES bbolt_test.cc
  DEPS keel_bbolt)

keel_library(keel_etcd_snapshot FAILPOINT_TWIN
  SOURCES etcd_export.cc etcd_import.cc etcd_schema.cc etcd_snapshot.cc
  DEPS keel_bbolt keel_mvcc keel_proto absl::flat_hash_map absl::str_format)

keel_test(etcd_snapshot_test LABEL unit
  SOURCES etcd_snapshot_test.cc
  DEPS keel_etcd_snapshot ${LEVELDB_MEMENV_LIBRARY})
