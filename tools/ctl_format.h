// The text encodings etcdctl's printers use, as Go spells them:
//  - GoQuote: fmt's %q (strconv.Quote), for the fields format;
//  - JsonString / GoJson: encoding/json's output for the json format, over
//    any protobuf message the way json.Marshal encodes etcd's gogo-generated
//    structs (field names from the .proto, omitempty, bytes in base64,
//    64-bit integers as plain numbers, enums as numbers, a oneof as
//    {"Name":{"field":...}});
//  - HexBytes: the --hex form of a key or value ("\x66\x6f\x6f");
//  - GoDuration: time.Duration's String() ("3.345431ms", "1.5s").
#ifndef KEEL_TOOLS_CTL_FORMAT_H_
#define KEEL_TOOLS_CTL_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "google/protobuf/message.h"
#include "runtime/time.h"

namespace keel::tools {

std::string GoQuote(std::string_view text);
std::string JsonString(std::string_view text);
std::string GoJson(const google::protobuf::Message& message);
// The members of GoJson(message) without the braces: for Go structs that
// embed a header (clientv3's lease responses flatten *pb.ResponseHeader
// into the outer object). Empty if every field is empty.
std::string GoJsonMembers(const google::protobuf::Message& message);
std::string Base64(std::string_view bytes);
std::string HexBytes(std::string_view bytes);
std::string GoDuration(Duration duration);
// strconv.ParseInt(text, 16, 64): an optional sign and hex digits, in range.
bool ParseHexInt64(std::string_view text, int64_t* out);
// strconv.ParseUint(text, 16, 64), as member IDs are parsed.
bool ParseHexUint64(std::string_view text, uint64_t* out);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_CTL_FORMAT_H_
