// Stateful property test: random sequences of puts, deletes, ranges (at
// random revisions, with limits, sorts and filters), txns (nested, with
// compares and reads of their own writes), leases, compaction (scheduled,
// then advanced a random number of bounded steps), history reads, hashes
// and close/reopen, run against both the Mvcc and MvccModel (mvcc_model.h).
// Every result and error must be equal. Keys come from a small set with
// shared prefixes and zero bytes so that ranges, overwrites and history
// collide often.
#include <memory>
#include <ostream>
#include <string>

#include "gtest/gtest.h"
#include "leveldb/helpers/memenv.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "rapidcheck/state.h"
#include "store/mvcc.h"
#include "store/mvcc_check.h"
#include "store/mvcc_errors.h"
#include "store/mvcc_model.h"

namespace keel::store {

// Printing for RapidCheck's counterexamples.
void showValue(const KeyValue& kv, std::ostream& os) {
  os << "{" << kv.key << " c" << kv.create_revision << " m" << kv.mod_revision
     << " v" << kv.version << " =" << kv.value << " l" << kv.lease << "}";
}

namespace {

struct Sut {
  Sut() : env(leveldb::NewMemEnv(leveldb::Env::Default())) {
    options.path = "/prop";
    options.env = env.get();
    options.write_buffer_bytes = 32 << 10;
    options.compaction_batch_limit = 3;
    Reopen();
  }
  void Reopen() {
    mvcc.reset();
    auto opened = Mvcc::Open(options);
    RC_ASSERT(opened.ok());
    mvcc = std::move(*opened);
  }
  EntryId Next() { return EntryId{++index, 1}; }

  std::unique_ptr<leveldb::Env> env;
  MvccOptions options;
  std::unique_ptr<Mvcc> mvcc;
  uint64_t index = 0;
};

using Model = MvccModel;
using Command = rc::state::Command<Model, Sut>;

const std::string kZero(1, '\0');

rc::Gen<std::string> GenKey() {
  return rc::gen::element<std::string>("a", "ab", "abc", "b", "ba", "c",
                                       std::string("a\0", 2),
                                       std::string("b\0\0", 3), "d");
}

rc::Gen<std::string> GenRangeEnd() {
  return rc::gen::element<std::string>("", "", kZero, "b", "c", "ab", "bb",
                                       "e", std::string("a\0\x01", 3));
}

rc::Gen<std::string> GenValue() {
  return rc::gen::oneOf(
      rc::gen::element<std::string>("", "x", "y", "zz"),
      rc::gen::container<std::string>(rc::gen::inRange<char>('a', 'f')));
}

// A revision near the interesting ones: compacted, current, future.
int64_t PickRevision(const Model& m) {
  return *rc::gen::oneOf(
      rc::gen::just<int64_t>(0),
      rc::gen::inRange<int64_t>(std::max<int64_t>(m.compact_revision - 1, 0),
                                m.current_revision + 2));
}

template <typename T>
void AssertSame(const absl::StatusOr<T>& got, const absl::StatusOr<T>& want) {
  RC_ASSERT(got.status() == want.status());
}

void AssertSameRange(const absl::StatusOr<RangeResult>& got,
                     const absl::StatusOr<RangeResult>& want) {
  AssertSame(got, want);
  if (!want.ok()) return;
  RC_ASSERT(got->revision == want->revision);
  RC_ASSERT(got->count == want->count);
  RC_ASSERT(got->more == want->more);
  RC_ASSERT(got->kvs == want->kvs);
}

RangeRequest GenRangeRequest(const Model& m) {
  RangeRequest r;
  r.key = *GenKey();
  r.range_end = *GenRangeEnd();
  r.revision = PickRevision(m);
  r.limit = *rc::gen::element<int64_t>(0, 0, 1, 2, 4);
  r.sort_order = *rc::gen::element(SortOrder::kNone, SortOrder::kNone,
                                   SortOrder::kAscend, SortOrder::kDescend);
  r.sort_target = *rc::gen::element(SortTarget::kKey, SortTarget::kKey,
                                    SortTarget::kVersion, SortTarget::kCreate,
                                    SortTarget::kMod, SortTarget::kValue);
  r.keys_only = *rc::gen::element(false, false, true);
  r.count_only = *rc::gen::element(false, false, false, true);
  if (*rc::gen::element(false, false, true)) {
    auto bound = rc::gen::inRange<int64_t>(0, m.current_revision + 2);
    r.min_mod_revision = *bound;
    r.max_mod_revision = *rc::gen::oneOf(rc::gen::just<int64_t>(0), bound);
    r.min_create_revision = *rc::gen::oneOf(rc::gen::just<int64_t>(0), bound);
    r.max_create_revision = *bound;
  }
  return r;
}

PutRequest GenPutRequest(const Model& m, bool allow_ignore) {
  PutRequest p;
  p.key = *GenKey();
  p.value = *GenValue();
  p.lease = *rc::gen::element<int64_t>(0, 0, 0, 1, 2, 99);
  p.prev_kv = *rc::gen::arbitrary<bool>();
  if (allow_ignore && *rc::gen::element(false, false, false, true)) {
    p.ignore_value = true;
    p.value.clear();
  }
  return p;
}

struct PutCmd : Command {
  PutRequest request;
  explicit PutCmd(const Model& m) : request(GenPutRequest(m, true)) {}
  void apply(Model& m) const override { (void)m.Put(request); }
  void run(const Model& m, Sut& sut) const override {
    Model model = m;
    auto want = model.Put(request);
    auto got = sut.mvcc->Put(sut.Next(), request);
    AssertSame(got, want);
    if (!want.ok()) return;
    RC_ASSERT(got->revision == want->revision);
    RC_ASSERT(got->prev_kv == want->prev_kv);
  }
  void show(std::ostream& os) const override {
    os << "Put(" << request.key << "=" << request.value << " lease "
       << request.lease << (request.ignore_value ? " ignore_value" : "") << ")";
  }
};

struct DeleteCmd : Command {
  DeleteRangeRequest request;
  explicit DeleteCmd(const Model&) {
    request.key = *GenKey();
    request.range_end = *GenRangeEnd();
    request.prev_kv = *rc::gen::arbitrary<bool>();
  }
  void apply(Model& m) const override { (void)m.DeleteRange(request); }
  void run(const Model& m, Sut& sut) const override {
    Model model = m;
    auto want = model.DeleteRange(request);
    auto got = sut.mvcc->DeleteRange(sut.Next(), request);
    AssertSame(got, want);
    RC_ASSERT(got->revision == want->revision);
    RC_ASSERT(got->deleted == want->deleted);
    RC_ASSERT(got->prev_kvs == want->prev_kvs);
  }
  void show(std::ostream& os) const override {
    os << "Delete(" << request.key << ", " << request.range_end << ")";
  }
};

struct RangeCmd : Command {
  RangeRequest request;
  explicit RangeCmd(const Model& m) : request(GenRangeRequest(m)) {}
  void run(const Model& m, Sut& sut) const override {
    AssertSameRange(sut.mvcc->Range(request), m.Range(request));
  }
  void show(std::ostream& os) const override {
    os << "Range(" << request.key << ", " << request.range_end << " @"
       << request.revision << " limit " << request.limit << ")";
  }
};

std::vector<RequestOp> GenOps(const Model& m, int depth) {
  std::vector<RequestOp> ops;
  const int n = *rc::gen::inRange(0, 4);
  for (int i = 0; i < n; ++i) {
    RequestOp& op = ops.emplace_back();
    switch (*rc::gen::inRange(0, depth > 0 ? 4 : 3)) {
      case 0: {
        RangeRequest& r = op.request.emplace<RangeRequest>(GenRangeRequest(m));
        r.revision = 0;
        break;
      }
      case 1:
        op.request.emplace<PutRequest>(GenPutRequest(m, false));
        break;
      case 2: {
        DeleteRangeRequest& d = op.request.emplace<DeleteRangeRequest>();
        d.key = *GenKey();
        d.range_end = *GenRangeEnd();
        d.prev_kv = *rc::gen::arbitrary<bool>();
        break;
      }
      default: {
        TxnRequest& nested = op.request.emplace<TxnRequest>();
        Compare& c = nested.compare.emplace_back();
        c.key = *GenKey();
        c.number = *rc::gen::inRange<int64_t>(0, 2);
        nested.success = GenOps(m, depth - 1);
        nested.failure = GenOps(m, depth - 1);
      }
    }
  }
  return ops;
}

struct TxnCmd : Command {
  TxnRequest request;
  explicit TxnCmd(const Model& m) {
    const int compares = *rc::gen::inRange(0, 3);
    for (int i = 0; i < compares; ++i) {
      Compare c;
      c.key = *GenKey();
      c.range_end = *rc::gen::element<std::string>("", "", "c");
      c.target = *rc::gen::element(CompareTarget::kVersion, CompareTarget::kCreate,
                                   CompareTarget::kMod, CompareTarget::kValue,
                                   CompareTarget::kLease);
      c.result = *rc::gen::element(CompareResult::kEqual, CompareResult::kNotEqual,
                                   CompareResult::kGreater, CompareResult::kLess);
      c.number = *rc::gen::inRange<int64_t>(0, m.current_revision + 1);
      c.value = *GenValue();
      request.compare.push_back(c);
    }
    request.success = GenOps(m, 1);
    request.failure = GenOps(m, 1);
  }
  void checkPreconditions(const Model&) const override {
    RC_PRE(CheckTxn(request).ok());
  }
  void apply(Model& m) const override { (void)m.Txn(request); }
  void run(const Model& m, Sut& sut) const override {
    Model model = m;
    auto want = model.Txn(request);
    auto got = sut.mvcc->Txn(sut.Next(), request);
    AssertSame(got, want);
    if (!want.ok()) return;
    AssertSameTxn(*got, *want);
  }
  static void AssertSameTxn(const TxnResult& got, const TxnResult& want) {
    RC_ASSERT(got.revision == want.revision);
    RC_ASSERT(got.succeeded == want.succeeded);
    RC_ASSERT(got.responses.size() == want.responses.size());
    for (size_t i = 0; i < got.responses.size(); ++i) {
      const auto& g = got.responses[i].response;
      const auto& w = want.responses[i].response;
      RC_ASSERT(g.index() == w.index());
      if (const auto* r = std::get_if<RangeResult>(&w)) {
        AssertSameRange(std::get<RangeResult>(g), *r);
      } else if (const auto* p = std::get_if<PutResult>(&w)) {
        RC_ASSERT(std::get<PutResult>(g).revision == p->revision);
        RC_ASSERT(std::get<PutResult>(g).prev_kv == p->prev_kv);
      } else if (const auto* d = std::get_if<DeleteRangeResult>(&w)) {
        RC_ASSERT(std::get<DeleteRangeResult>(g).revision == d->revision);
        RC_ASSERT(std::get<DeleteRangeResult>(g).deleted == d->deleted);
        RC_ASSERT(std::get<DeleteRangeResult>(g).prev_kvs == d->prev_kvs);
      } else {
        AssertSameTxn(std::get<TxnResult>(g), std::get<TxnResult>(w));
      }
    }
  }
  static void ShowOps(const std::vector<RequestOp>& ops, std::ostream& os) {
    for (const RequestOp& op : ops) {
      if (const auto* r = std::get_if<RangeRequest>(&op.request)) {
        os << " range(" << r->key << "," << r->range_end << ")";
      } else if (const auto* p = std::get_if<PutRequest>(&op.request)) {
        os << " put(" << p->key << "=" << p->value << ")";
      } else if (const auto* d = std::get_if<DeleteRangeRequest>(&op.request)) {
        os << " delete(" << d->key << "," << d->range_end << ")";
      } else {
        os << " txn{";
        ShowTxn(std::get<TxnRequest>(op.request), os);
        os << "}";
      }
    }
  }
  static void ShowTxn(const TxnRequest& t, std::ostream& os) {
    for (const Compare& c : t.compare) {
      os << " if(" << c.key << "," << c.range_end << " t"
         << static_cast<int>(c.target) << " r" << static_cast<int>(c.result)
         << " " << c.number << "/" << c.value << ")";
    }
    os << " then";
    ShowOps(t.success, os);
    os << " else";
    ShowOps(t.failure, os);
  }
  void show(std::ostream& os) const override {
    os << "Txn(";
    ShowTxn(request, os);
    os << ")";
  }
};

struct CompactCmd : Command {
  int64_t revision;
  int steps;
  explicit CompactCmd(const Model& m)
      : revision(*rc::gen::inRange<int64_t>(
            std::max<int64_t>(m.compact_revision - 1, 0), m.current_revision + 2)),
        steps(*rc::gen::inRange(0, 4)) {}
  void apply(Model& m) const override { (void)m.Compact(revision); }
  void run(const Model& m, Sut& sut) const override {
    Model model = m;
    auto want = model.Compact(revision);
    auto got = sut.mvcc->Compact(sut.Next(), revision);
    AssertSame(got, want);
    if (want.ok()) RC_ASSERT(*got == *want);
    for (int i = 0; i < steps; ++i) RC_ASSERT(sut.mvcc->CompactStep().ok());
  }
  void show(std::ostream& os) const override {
    os << "Compact(" << revision << ", " << steps << " steps)";
  }
};

struct CompactStepCmd : Command {
  void run(const Model&, Sut& sut) const override {
    RC_ASSERT(sut.mvcc->CompactStep().ok());
  }
  void show(std::ostream& os) const override { os << "CompactStep"; }
};

struct ReopenCmd : Command {
  bool sync = *rc::gen::arbitrary<bool>();
  void run(const Model& m, Sut& sut) const override {
    if (sync) RC_ASSERT(sut.mvcc->SyncBarrier().ok());
    sut.Reopen();
    RC_ASSERT(sut.mvcc->current_revision() == m.current_revision);
    RC_ASSERT(sut.mvcc->compact_revision() == m.compact_revision);
  }
  void show(std::ostream& os) const override { os << "Reopen"; }
};

struct GrantLeaseCmd : Command {
  int64_t id = *rc::gen::inRange<int64_t>(1, 3);
  void apply(Model& m) const override { m.leases.insert(id); }
  void run(const Model&, Sut& sut) const override {
    LeaseRecord lease{id, 10, 10};
    RC_ASSERT(sut.mvcc->PutLeases(sut.Next(), {&lease, 1}).ok());
  }
  void show(std::ostream& os) const override { os << "Grant(" << id << ")"; }
};

struct RevokeLeaseCmd : Command {
  int64_t id = *rc::gen::inRange<int64_t>(1, 3);
  void apply(Model& m) const override { (void)m.RevokeLease(id); }
  void run(const Model& m, Sut& sut) const override {
    auto keys = sut.mvcc->KeysOfLease(id);
    RC_ASSERT(keys.ok());
    RC_ASSERT(*keys == m.KeysOfLease(id));
    Model model = m;
    auto want = model.RevokeLease(id);
    auto got = sut.mvcc->RevokeLease(sut.Next(), id);
    AssertSame(got, want);
    if (!want.ok()) return;
    RC_ASSERT(got->revision == want->revision);
    RC_ASSERT(got->deleted == want->deleted);
  }
  void show(std::ostream& os) const override { os << "Revoke(" << id << ")"; }
};

struct EventsCmd : Command {
  std::string key, range_end;
  int64_t after, until;
  size_t max_events;
  explicit EventsCmd(const Model& m)
      : key(*GenKey()),
        range_end(*GenRangeEnd()),
        after(*rc::gen::inRange<int64_t>(
            std::max<int64_t>(m.compact_revision - 2, 0), m.current_revision + 1)),
        until(*rc::gen::oneOf(rc::gen::just<int64_t>(0),
                              rc::gen::inRange<int64_t>(after, m.current_revision + 2))),
        max_events(*rc::gen::inRange<size_t>(1, 6)) {}
  void run(const Model& m, Sut& sut) const override {
    auto want = m.Events(key, range_end, after, until, max_events);
    auto got = sut.mvcc->Events(key, range_end, after, until, max_events);
    AssertSame(got, want);
    if (!want.ok()) return;
    RC_ASSERT(got->last_revision == want->last_revision);
    RC_ASSERT(got->events.size() == want->events.size());
    for (size_t i = 0; i < got->events.size(); ++i) {
      RC_ASSERT(got->events[i].type == want->events[i].type);
      RC_ASSERT(got->events[i].kv == want->events[i].kv);
      RC_ASSERT(got->events[i].prev_kv == want->events[i].prev_kv);
    }
  }
  void show(std::ostream& os) const override {
    os << "Events(" << key << ", " << range_end << ", " << after << ", "
       << until << ", " << max_events << ")";
  }
};

struct HashCmd : Command {
  int64_t revision;
  explicit HashCmd(const Model& m) : revision(PickRevision(m)) {}
  void run(const Model& m, Sut& sut) const override {
    auto want = m.HashKV(revision);
    auto got = sut.mvcc->HashKV(revision);
    AssertSame(got, want);
    if (want.ok()) {
      RC_ASSERT(got->hash == want->hash);
      RC_ASSERT(got->revision == want->revision);
      RC_ASSERT(got->compact_revision == want->compact_revision);
    }
    auto hash = sut.mvcc->Hash();
    RC_ASSERT(hash.ok());
    RC_ASSERT(hash->hash == m.Hash());
  }
  void show(std::ostream& os) const override { os << "HashKV(" << revision << ")"; }
};

RC_GTEST_PROP(MvccProperty, MvccBehavesLikeThePlainModel, ()) {
  Sut sut;
  rc::state::check(
      Model{}, sut,
      rc::state::gen::execOneOfWithArgs<
          PutCmd, PutCmd, PutCmd, DeleteCmd, RangeCmd, RangeCmd, TxnCmd,
          TxnCmd, CompactCmd, CompactStepCmd, ReopenCmd, GrantLeaseCmd,
          RevokeLeaseCmd, EventsCmd, HashCmd>());
}

}  // namespace
}  // namespace keel::store
