// The JSONL history format: base64, the JSON parser, round trips and clear
// errors on bad input.
#include "check/history_json.h"

#include <random>

#include "gtest/gtest.h"
#include "check/base64.h"
#include "check/history_test_util.h"
#include "check/json.h"

namespace keel::check {
namespace {

using testing::Created;
using testing::DeleteEvent;
using testing::Events;
using testing::HistoryBuilder;
using testing::Kv;
using testing::Progress;
using testing::PutEvent;

TEST(Base64Test, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    bytes.push_back(static_cast<char>(i * 7));
    absl::StatusOr<std::string> back = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_EQ(Base64Encode("a"), "YQ==");
  EXPECT_EQ(Base64Encode(std::string(1, '\0')), "AA==");
}

TEST(Base64Test, RejectsMalformedText) {
  EXPECT_FALSE(Base64Decode("YQ=").ok());     // length
  EXPECT_FALSE(Base64Decode("Y!==").ok());    // alphabet
  EXPECT_FALSE(Base64Decode("YR==").ok());    // trailing bits
  EXPECT_FALSE(Base64Decode("Y=Q=").ok());    // padding in the middle
  EXPECT_FALSE(Base64Decode("YQ==YQ==").ok());  // padding before the end
  EXPECT_TRUE(Base64Decode("").ok());
}

TEST(JsonTest, ParsesValuesEscapesAndLargeNumbers) {
  absl::StatusOr<JsonValue> v = ParseJson(
      R"( {"a":[1,-2,3.5,true,false,null],"s":"q\"\\\/\n\u00e9\ud83d\ude00","big":9223372036854775807,"huge":1e400} )");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->Find("a")->items()[1].int_value(), -2);
  EXPECT_EQ(v->Find("a")->items()[2].kind(), JsonValue::Kind::kDouble);
  EXPECT_EQ(v->Find("s")->string_value(), "q\"\\/\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(v->Find("big")->int_value(), INT64_MAX);
  std::string out;
  AppendJson(&out, *v);
  absl::StatusOr<JsonValue> again = ParseJson(out);
  ASSERT_TRUE(again.ok()) << out;
}

TEST(JsonTest, RejectsMalformedDocumentsWithOffsets) {
  const char* bad[] = {"",         "{",          "[1,]",      "{\"a\":1,}", "\"abc",
                       "01",       "1.",         "-",         "tru",        "{\"a\" 1}",
                       "{\"a\":1}x", "\"\\x\"",   "\"\\ud800\"", "{\"a\":1,\"a\":2}",
                       "\"a\nb\"", "[1 2]"};
  for (const char* text : bad) {
    absl::StatusOr<JsonValue> v = ParseJson(text);
    EXPECT_FALSE(v.ok()) << text;
    if (!v.ok()) {
      EXPECT_NE(v.status().message().find("offset"), absl::string_view::npos);
    }
  }
  std::string deep(kMaxJsonDepth + 2, '[');
  deep += std::string(kMaxJsonDepth + 2, ']');
  EXPECT_FALSE(ParseJson(deep).ok());
}

History EveryKindOfOperation() {
  HistoryRecorder rec(3, {Kv(std::string("k\0\xff", 3), "v", 2, 3, 2, 0)});
  OpId p = rec.Invoke(0, PutRequest{"a", "1", 7, true, false, false}, 10);
  rec.Ok(p, PutResponse{Kv("a", "0", 2, 2, 1)}, 4, 20);
  RangeRequest r{"a", std::string(1, '\0'), 3, 2, true, false, false};
  OpId g = rec.Invoke(1, r, 11);
  RangeResponse rr;
  rr.kvs.push_back(Kv("a", "1", 2, 4, 2, 7));
  rr.more = true;
  rr.count = 5;
  rec.Ok(g, rr, 4, 21);
  OpId d = rec.Invoke(2, DeleteRequest{"a", "b", true}, 12);
  rec.Ok(d, DeleteResponse{1, {Kv("a", "1", 2, 4, 2, 7)}}, 5, 22);
  TxnRequest t;
  Compare c1;
  c1.key = "a";
  c1.target = CompareTarget::kMod;
  c1.result = CompareResult::kLess;
  c1.number = 9;
  Compare c2;
  c2.key = "b";
  c2.target = CompareTarget::kValue;
  c2.result = CompareResult::kNotEqual;
  c2.value = "";
  t.compare = {c1, c2};
  t.success.push_back(PutRequest{"a", "2"});
  t.success.push_back(DeleteRequest{"z"});
  t.failure.push_back(RangeRequest{"a"});
  OpId x = rec.Invoke(3, t, 13);
  TxnResponse tr;
  tr.succeeded = true;
  tr.responses.emplace_back(std::in_place_type<PutResponse>);
  tr.responses.emplace_back(std::in_place_type<DeleteResponse>);
  rec.Ok(x, tr, 6, 23);
  OpId u = rec.Invoke(3, PutRequest{"b", "1"}, 30);
  rec.Unknown(u, "timeout", 40);
  OpId e = rec.Invoke(3, CompactRequest{2, true}, 31);
  rec.Fail(e, "etcdserver: mvcc: required revision has been compacted", 41);
  OpId lg = rec.Invoke(4, LeaseGrantRequest{10, 0}, 50);
  rec.Ok(lg, LeaseGrantResponse{77, 10}, 6, 51);
  OpId lk = rec.Invoke(4, LeaseKeepAliveRequest{77}, 52);
  rec.Ok(lk, LeaseKeepAliveResponse{10}, 6, 53);
  OpId lt = rec.Invoke(4, LeaseTimeToLiveRequest{77, true}, 54);
  rec.Ok(lt, LeaseTimeToLiveResponse{9, 10, {"a", "b"}}, 6, 55);
  OpId lr = rec.Invoke(4, LeaseRevokeRequest{77}, 56);
  rec.Ok(lr, LeaseRevokeResponse{}, 6, 57);
  WatchRequest w{"a", "c", 4, true, true, true, true, false, 3};
  OpId wid = rec.StartWatch(5, w, 1);
  rec.WatchReceived(wid, Created(2, 3));
  Event ev = PutEvent(Kv("a", "1", 2, 4, 2, 7));
  ev.prev_kv = Kv("a", "0", 2, 2, 1);
  rec.WatchReceived(wid, Events(21, 4, {ev, DeleteEvent("q", 4)}));
  WatchResponse progress = Progress(21, 5);  // stream-wide: a WatchProgressRequest's answer
  progress.watch_id = -1;
  rec.WatchReceived(wid, progress);
  WatchResponse compacted;
  compacted.time_ns = 22;
  compacted.compact_revision = 3;
  compacted.canceled = true;
  compacted.cancel_reason = "compacted";
  rec.WatchReceived(wid, compacted);
  OpId final_read = rec.Invoke(6, RangeRequest{"a", std::string(1, '\0')}, 90);
  rec.Ok(final_read, RangeResponse{}, 6, 91);
  rec.MarkFinalRead(final_read);
  rec.Invoke(7, PutRequest{"never", "answered"}, 95);
  return std::move(rec).Finish();
}

TEST(HistoryJsonTest, RoundTripsEveryKindOfOperation) {
  History h = EveryKindOfOperation();
  ASSERT_TRUE(ValidateHistory(h).ok()) << ValidateHistory(h);
  std::string text = FormatHistory(h);
  absl::StatusOr<History> back = ParseHistory(text);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << text;
  EXPECT_EQ(FormatHistory(*back), text);
  EXPECT_EQ(back->ops.size(), h.ops.size());
  EXPECT_EQ(back->initial_revision, 3);
  EXPECT_EQ(back->initial_kvs[0].key, std::string("k\0\xff", 3));
  EXPECT_EQ(back->ops.back().outcome, Outcome::kUnknown);
  EXPECT_EQ(back->ops.back().complete_ns, kNever);
  EXPECT_TRUE(back->ops[back->ops.size() - 2].final_read);
  const auto& watch = std::get<WatchResult>(back->ops[10].response);
  ASSERT_EQ(watch.responses.size(), 4u);
  EXPECT_EQ(watch.responses[1].events[0].prev_kv, Kv("a", "0", 2, 2, 1));
  EXPECT_TRUE(watch.responses[2].IsProgressNotify());
  EXPECT_EQ(watch.responses[2].watch_id, -1);
  EXPECT_EQ(watch.responses[2].revision, 5);
  EXPECT_EQ(std::get<WatchRequest>(back->ops[10].request).filter_noput, true);
}

TEST(HistoryJsonTest, ReportsBadLinesByNumber) {
  const std::string good =
      R"({"id":0,"client":0,"op":"put","invoke":1,"complete":2,"input":{"key":"YQ=="},"output":{"status":"ok","revision":2}})";
  struct Case {
    std::string line;
    std::string message;
  } cases[] = {
      {R"({"id":1,"op":"put","invoke":1,"complete":2,"input":{"key":"YQ==","vaule":"MQ=="},"output":{"status":"ok","revision":3}})",
       "unknown field \"vaule\""},
      {R"({"op":"put","invoke":1,"input":{},"output":{"status":"ok","revision":3}})", "missing id"},
      {R"({"id":1,"op":"get","invoke":1,"input":{},"output":{"status":"ok"}})", "unknown op"},
      {R"({"id":1,"op":"put","invoke":1,"input":{},"output":{"status":"maybe"}})", "status must be"},
      {R"({"id":1,"op":"put","invoke":1,"input":{},"output":{"status":"ok","revision":3}})",
       "needs \"complete\""},
      {R"({"id":1,"op":"put","invoke":"1","input":{},"output":{"status":"unknown"}})",
       "not an integer"},
      {R"({"id":0,"op":"put","invoke":1,"complete":2,"input":{},"output":{"status":"ok","revision":3}})",
       "duplicate op id"},
      {R"({"id":1,"op":"txn","invoke":1,"complete":2,"input":{"success":[{"put":{"key":"YQ=="}}]},"output":{"status":"ok","revision":3,"succeeded":true}})",
       "txn has 0 responses"},
      {R"({"id":1,"op":"put","invoke":5,"complete":2,"input":{},"output":{"status":"ok","revision":3}})",
       "completes before"},
      {R"({"op":"initial","revision":5})", "must come first"},
      {"{not json}", "line 2"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<History> h = ParseHistory(good + "\n" + c.line + "\n");
    ASSERT_FALSE(h.ok()) << c.line;
    EXPECT_NE(h.status().message().find(c.message), absl::string_view::npos)
        << h.status() << " wanted " << c.message;
  }
  EXPECT_TRUE(ParseHistory(good + "\n\n   \n").ok());
  EXPECT_TRUE(ParseHistory(R"({"id":1,"x_note":"free","op":"range","invoke":1,"complete":2,"input":{},"output":{"status":"ok","revision":1}})").ok());
}

TEST(HistoryJsonTest, SurvivesMutatedInputWithoutCrashing) {
  std::string text = FormatHistory(EveryKindOfOperation());
  std::mt19937 rng(12345);
  int parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string mutated = text;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % mutated.size();
      switch (rng() % 3) {
        case 0: mutated[at] = static_cast<char>(rng() % 256); break;
        case 1: mutated.erase(at, 1 + rng() % 8); break;
        case 2: mutated.insert(at, 1, "{}[],:\"\\0-e9"[rng() % 12]); break;
      }
      if (mutated.empty()) mutated = "x";
    }
    absl::StatusOr<History> h = ParseHistory(mutated);
    if (h.ok()) ++parsed;
  }
  // Some mutations are harmless; most must be clean errors. Either way no crash.
  EXPECT_LT(parsed, 3000);
}

}  // namespace
}  // namespace keel::check
