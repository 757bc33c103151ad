// Where LevelDB's background work (compactions, memtable flushes) runs: a
// small header of its own so that owners can choose without including
// LevelDB (store/leveldb_env.h explains the two modes).
#ifndef KEEL_STORE_LEVELDB_BACKGROUND_H_
#define KEEL_STORE_LEVELDB_BACKGROUND_H_

namespace keel::store {

// kQueue: on the owner's loop after every DB call (the simulator).
// kThread: on a real background thread (production).
enum class LevelDbBackground { kQueue, kThread };

}  // namespace keel::store

#endif  // KEEL_STORE_LEVELDB_BACKGROUND_H_
