# store/ targets for the write-ahead log (wal*), the LevelDB Env adapter
# (leveldb_env*, leveldb_db*) and the snapshot file (snapshot_file*).
# Included from store/CMakeLists.txt.

keel_library(keel_wal
  SOURCES
    wal.cc
    wal_inspect.cc
    wal_open.cc
    wal_record.cc
    wal_replay.cc
  DEPS
    keel_runtime keel_proto absl::status absl::statusor
    absl::str_format)

keel_library(keel_leveldb
  SOURCES
    leveldb_db.cc
    leveldb_env.cc
    leveldb_env_files.cc
    leveldb_env_log_scan.cc
    leveldb_table_check.cc
  DEPS
    keel_runtime leveldb::leveldb absl::status absl::statusor)

keel_library(keel_snapshot_file
  SOURCES snapshot_file.cc snapshot_envelope.cc
  DEPS keel_runtime absl::status absl::statusor absl::str_format)

keel_test(wal_test LABEL unit
  SOURCES
    wal_record_test.cc
    wal_replay_test.cc
    wal_test.cc
  DEPS keel_wal keel_sim)

keel_test(leveldb_env_test LABEL unit
  SOURCES leveldb_env_test.cc
  DEPS keel_leveldb keel_sim)

keel_test(snapshot_file_test LABEL unit
  SOURCES snapshot_file_test.cc
  DEPS keel_snapshot_file keel_sim)
