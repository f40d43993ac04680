// A small JSON writer for the metrics, traces and `inspect --json`.
#ifndef BECKON_LIB_JSON_H_
#define BECKON_LIB_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace beckon::internal {

// Appends `s` as a JSON string literal (quoted, escaped; bytes that are not
// valid UTF-8 become U+FFFD).
void AppendJsonString(std::string& out, std::string_view s);

// Appends a number: shortest round-trip form; NaN and infinities as null.
void AppendJsonNumber(std::string& out, double v);

// Builds one JSON object: Key(...) then a value, in order.
class JsonObject {
 public:
  JsonObject& Key(std::string_view key);
  JsonObject& Str(std::string_view key, std::string_view value);
  JsonObject& Num(std::string_view key, double value);
  JsonObject& Int(std::string_view key, int64_t value);
  JsonObject& UInt(std::string_view key, uint64_t value);
  JsonObject& Bool(std::string_view key, bool value);
  JsonObject& Null(std::string_view key);
  // Appends already-formatted JSON as the value of `key`.
  JsonObject& Raw(std::string_view key, std::string_view json);
  std::string Finish();

 private:
  std::string out_ = "{";
  bool first_ = true;
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_JSON_H_
