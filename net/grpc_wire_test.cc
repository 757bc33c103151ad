// Tests of the gRPC wire helpers: framing and its limits, grpc-message
// percent-encoding (checked against grpc-go's encoding of the same strings),
// grpc-timeout in both directions, and the error mappings.
#include "net/grpc_wire.h"

#include <string>

#include "gtest/gtest.h"

namespace keel::net {
namespace {

TEST(GrpcFrameTest, FramesRoundTripAcrossArbitrarySplits) {
  std::string wire;
  AppendGrpcFrame("hello", &wire);
  AppendGrpcFrame("", &wire);
  AppendGrpcFrame(std::string(70000, 'x'), &wire);
  ASSERT_EQ(wire.size(), 3 * kGrpcFrameHeaderBytes + 5 + 70000);
  EXPECT_EQ(wire.substr(0, 5), std::string("\0\0\0\0\5", 5));
  for (size_t step : {1u, 3u, 7u, 4096u}) {
    GrpcFrameDecoder decoder(1 << 20);
    for (size_t i = 0; i < wire.size(); i += step) {
      ASSERT_TRUE(decoder.Append(std::string_view(wire).substr(i, step)).ok());
    }
    EXPECT_FALSE(decoder.has_partial());
    EXPECT_EQ(decoder.Next(), "hello");
    EXPECT_EQ(decoder.Next(), "");
    EXPECT_EQ(decoder.Next(), std::string(70000, 'x'));
    EXPECT_EQ(decoder.Next(), std::nullopt);
  }
}

TEST(GrpcFrameTest, OversizedMessageIsRefusedAtItsHeader) {
  std::string wire;
  AppendGrpcFrame(std::string(101, 'y'), &wire);
  GrpcFrameDecoder decoder(100);
  absl::Status status = decoder.Append(std::string_view(wire).substr(0, 5));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "grpc: received message larger than max (101 vs. 100)");
  EXPECT_EQ(decoder.Append("more").code(), absl::StatusCode::kResourceExhausted);
}

TEST(GrpcFrameTest, CompressedMessageIsRefused) {
  GrpcFrameDecoder decoder(100);
  absl::Status status = decoder.Append(std::string("\1\0\0\0\1z", 6));
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(status.message(),
            "grpc: compressed flag set with identity or empty encoding");
}

TEST(GrpcMessageEncodingTest, MatchesGrpcGo) {
  // Expected values are what grpc-go's encodeGrpcMessage produces.
  EXPECT_EQ(EncodeGrpcMessage(""), "");
  EXPECT_EQ(EncodeGrpcMessage("etcdserver: key not found"),
            "etcdserver: key not found");
  EXPECT_EQ(EncodeGrpcMessage("100%"), "100%25");
  EXPECT_EQ(EncodeGrpcMessage("a\nb\tc"), "a%0Ab%09c");
  EXPECT_EQ(EncodeGrpcMessage("\xE2\x82\xAC"), "%E2%82%AC");  // U+20AC
  EXPECT_EQ(EncodeGrpcMessage("\xFF"), "%EF%BF%BD");           // not UTF-8
  EXPECT_EQ(EncodeGrpcMessage("\xE2\x82"), "%EF%BF%BD%EF%BF%BD");
}

TEST(GrpcMessageEncodingTest, DecodeUndoesEncode) {
  for (std::string s : {"plain", "50% off\r\n", "\xC3\xA9t\xC3\xA9", "~!@#$%^&*()"}) {
    EXPECT_EQ(DecodeGrpcMessage(EncodeGrpcMessage(s)), s);
  }
  EXPECT_EQ(DecodeGrpcMessage("bad %zz and %4"), "bad %zz and %4");
}

TEST(GrpcTimeoutTest, ParsesEveryUnit) {
  EXPECT_EQ(ParseGrpcTimeout("5S"), Seconds(5));
  EXPECT_EQ(ParseGrpcTimeout("4999m"), Milliseconds(4999));
  EXPECT_EQ(ParseGrpcTimeout("2M"), Seconds(120));
  EXPECT_EQ(ParseGrpcTimeout("1H"), Seconds(3600));
  EXPECT_EQ(ParseGrpcTimeout("7u"), Microseconds(7));
  EXPECT_EQ(ParseGrpcTimeout("0n"), Nanoseconds(0));
  EXPECT_EQ(ParseGrpcTimeout("99999999H"), Duration::max());
}

TEST(GrpcTimeoutTest, RefusesMalformedValues) {
  for (const char* bad : {"", "S", "5", "5s", "123456789S", "-5S", "5 S"}) {
    EXPECT_EQ(ParseGrpcTimeout(bad), std::nullopt) << bad;
  }
}

TEST(GrpcTimeoutTest, FormatsLikeGrpcGo) {
  EXPECT_EQ(FormatGrpcTimeout(Duration::zero()), "0n");
  EXPECT_EQ(FormatGrpcTimeout(Nanoseconds(-3)), "0n");
  EXPECT_EQ(FormatGrpcTimeout(Nanoseconds(99'999'999)), "99999999n");
  EXPECT_EQ(FormatGrpcTimeout(Seconds(5)), "5000000u");
  EXPECT_EQ(FormatGrpcTimeout(Seconds(500)), "500000m");
  EXPECT_EQ(FormatGrpcTimeout(Nanoseconds(100'000'001)), "100001u");  // rounds up
  EXPECT_EQ(FormatGrpcTimeout(Seconds(200'000)), "200000S");
  for (Duration d : {Milliseconds(1), Seconds(7), Seconds(86400 * 365)}) {
    std::optional<Duration> back = ParseGrpcTimeout(FormatGrpcTimeout(d));
    ASSERT_TRUE(back.has_value());
    EXPECT_GE(*back, d);
  }
}

TEST(GrpcErrorMappingTest, HttpStatusAndResetCodesMapLikeGrpcGo) {
  EXPECT_EQ(StatusFromHttpStatus(404).code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(StatusFromHttpStatus(404).message(), "Not Found: HTTP status code 404");
  EXPECT_EQ(StatusFromHttpStatus(503).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromHttpStatus(418).code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(StatusFromRstStream(8).code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(StatusFromRstStream(8).message(),
            "stream terminated by RST_STREAM with error code: CANCEL");
  EXPECT_EQ(StatusFromRstStream(7).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromRstStream(0).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(StatusFromGrpcCode(11, "x").code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(StatusFromGrpcCode(99, "x").code(), absl::StatusCode::kUnknown);
}

}  // namespace
}  // namespace keel::net
