// Reading a decision log back (the JSON Lines lib/engine/decision_log.cc
// writes): a small parser for flat JSON objects, enough for those lines
// and strict about everything else.
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "beckon/decision.h"
#include "beckon/replay.h"
#include "lib/file_util.h"
#include "lib/string_views.h"

namespace beckon {
namespace {

// A value of a flat object: a string, a number (as written), a bool, or
// null.
struct Value {
  enum Kind { kString, kNumber, kBool, kNull } kind = kNull;
  std::string text;  // kString: decoded; kNumber: as written.
  bool boolean = false;
};

class FlatObjectParser {
 public:
  explicit FlatObjectParser(std::string_view s) : s_(s) {}

  // Calls `field(key, value)` for each member; returns an error text or "".
  template <typename F>
  std::string Parse(const F& field) {
    Skip();
    if (!Eat('{')) return "not a JSON object";
    Skip();
    if (Eat('}')) return Trailing();
    for (;;) {
      Skip();
      std::string key;
      if (Peek() != '"') return "expected a key";
      if (std::string e = String(key); !e.empty()) return e;
      Skip();
      if (!Eat(':')) return absl::StrCat("expected ':' after \"", key, "\"");
      Skip();
      Value v;
      if (std::string e = ParseValue(v); !e.empty()) {
        return absl::StrCat(e, " (key \"", key, "\")");
      }
      if (std::string e = field(key, v); !e.empty()) return e;
      Skip();
      if (Eat(',')) continue;
      if (Eat('}')) return Trailing();
      return "expected ',' or '}'";
    }
  }

 private:
  char Peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c || i_ >= s_.size()) return false;
    ++i_;
    return true;
  }
  void Skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' ||
                              s_[i_] == '\r' || s_[i_] == '\n')) {
      ++i_;
    }
  }
  std::string Trailing() {
    Skip();
    return i_ == s_.size() ? "" : "text after the object";
  }
  static void AppendUtf8(std::string& out, uint32_t c) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  bool Hex4(uint32_t& out) {
    if (i_ + 4 > s_.size()) return false;
    out = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }
  std::string String(std::string& out) {
    ++i_;  // The opening quote.
    for (;;) {
      if (i_ >= s_.size()) return "unterminated string";
      const char c = s_[i_++];
      if (c == '"') return "";
      if (static_cast<unsigned char>(c) < 0x20) {
        return "control character in a string";
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return "unterminated string";
      const char e = s_[i_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          uint32_t c1;
          if (!Hex4(c1)) return "bad \\u escape";
          if (c1 >= 0xD800 && c1 < 0xDC00 && i_ + 1 < s_.size() &&
              s_[i_] == '\\' && s_[i_ + 1] == 'u') {
            i_ += 2;
            uint32_t c2;
            if (!Hex4(c2) || c2 < 0xDC00 || c2 >= 0xE000) {
              return "bad surrogate pair";
            }
            c1 = 0x10000 + ((c1 - 0xD800) << 10) + (c2 - 0xDC00);
          } else if (c1 >= 0xD800 && c1 < 0xE000) {
            c1 = 0xFFFD;  // A lone surrogate.
          }
          AppendUtf8(out, c1);
          break;
        }
        default:
          return "bad escape in a string";
      }
    }
  }
  std::string ParseValue(Value& v) {
    const char c = Peek();
    if (c == '"') {
      v.kind = Value::kString;
      return String(v.text);
    }
    if (c == '{' || c == '[')
      return "nested objects and lists are not expected";
    auto word = [&](std::string_view w) {
      if (s_.substr(i_, w.size()) != w) return false;
      i_ += w.size();
      return true;
    };
    if (word("true")) {
      v.kind = Value::kBool;
      v.boolean = true;
      return "";
    }
    if (word("false")) {
      v.kind = Value::kBool;
      return "";
    }
    if (word("null")) {
      v.kind = Value::kNull;
      return "";
    }
    // A number, by JSON's grammar.
    const size_t start = i_;
    if (Peek() == '-') ++i_;
    auto digits = [&] {
      const size_t from = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ > from;
    };
    if (!digits()) return "expected a value";
    if (Peek() == '.') {
      ++i_;
      if (!digits()) return "bad number";
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++i_;
      if (Peek() == '+' || Peek() == '-') ++i_;
      if (!digits()) return "bad number";
    }
    v.kind = Value::kNumber;
    v.text = std::string(s_.substr(start, i_ - start));
    return "";
  }

  std::string_view s_;
  size_t i_ = 0;
};

std::optional<Action> ActionOf(std::string_view name) {
  for (int a = 0; a < kActionCount; ++a) {
    if (ActionName(static_cast<Action>(a)) == name)
      return static_cast<Action>(a);
  }
  return std::nullopt;
}

std::optional<Reason> ReasonOf(std::string_view name) {
  for (int r = 0; r < kReasonCount; ++r) {
    if (ReasonName(static_cast<Reason>(r)) == name)
      return static_cast<Reason>(r);
  }
  return std::nullopt;
}

// One line into `d`; returns an error text or "".
std::string ParseLine(std::string_view line, LoggedDecisionRecord& d) {
  bool has_ts = false, has_hash = false, has_action = false, has_reason = false;
  FlatObjectParser parser(line);
  std::string e = parser.Parse([&](const std::string& key,
                                   const Value& v) -> std::string {
    auto want = [&](Value::Kind k, const char* what) -> std::string {
      return v.kind == k ? "" : absl::StrCat(key, " must be ", what);
    };
    auto number = [&](double& out) -> std::string {
      if (v.kind == Value::kNull) {  // NaN and infinities are written null.
        out = std::nan("");
        return "";
      }
      if (std::string w = want(Value::kNumber, "a number"); !w.empty()) {
        return w;
      }
      out = std::strtod(v.text.c_str(), nullptr);
      return "";
    };
    if (key == "ts_ms") {
      if (v.kind != Value::kNumber ||
          v.text.find_first_of(".eE") != std::string::npos) {
        return "ts_ms must be a whole number";
      }
      errno = 0;
      char* end = nullptr;
      const long long t = std::strtoll(v.text.c_str(), &end, 10);
      if (errno != 0 || t < 0) return "ts_ms out of range";
      d.ts_ms = t;
      has_ts = true;
    } else if (key == "visitor_hash") {
      if (v.kind != Value::kString || v.text.size() != 16 ||
          v.text.find_first_not_of("0123456789abcdefABCDEF") !=
              std::string::npos) {
        return "visitor_hash must be 16 hex digits";
      }
      d.visitor_hash = std::strtoull(v.text.c_str(), nullptr, 16);
      has_hash = true;
    } else if (key == "action") {
      std::optional<Action> a;
      if (v.kind == Value::kString) a = ActionOf(v.text);
      if (!a) return absl::StrCat("unknown action \"", v.text, "\"");
      d.action = *a;
      has_action = true;
    } else if (key == "reason") {
      std::optional<Reason> r;
      if (v.kind == Value::kString) r = ReasonOf(v.text);
      if (!r) return absl::StrCat("unknown reason \"", v.text, "\"");
      d.reason = *r;
      has_reason = true;
    } else if (key == "probability") {
      return number(d.probability);
    } else if (key == "threshold") {
      return number(d.threshold);
    } else if (key == "offer_probability") {
      return number(d.offer_probability);
    } else if (key == "would_offer") {
      if (std::string w = want(Value::kBool, "true or false"); !w.empty()) {
        return w;
      }
      d.would_offer = v.boolean;
    } else if (key == "group" || key == "policy" || key == "policy_version") {
      if (std::string w = want(Value::kString, "a string"); !w.empty()) {
        return w;
      }
      (key == "group"    ? d.group
       : key == "policy" ? d.policy_name
                         : d.policy_version) = v.text;
    }  // Other keys (recheck_at_ms, later additions) are skipped.
    return "";
  });
  if (!e.empty()) return e;
  std::string missing;
  for (const auto& [has, name] :
       {std::pair{has_ts, "ts_ms"}, std::pair{has_hash, "visitor_hash"},
        std::pair{has_action, "action"}, std::pair{has_reason, "reason"}}) {
    if (!has) absl::StrAppend(&missing, missing.empty() ? "" : ", ", name);
  }
  if (!missing.empty()) return absl::StrCat("missing ", missing);
  return "";
}

}  // namespace

absl::StatusOr<std::vector<LoggedDecisionRecord>> ParseDecisionLog(
    std::string_view text, std::string_view name) {
  std::vector<LoggedDecisionRecord> out;
  uint64_t number = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    LoggedDecisionRecord d;
    d.line = number;
    std::string e = line.find_first_not_of(" \t") == std::string_view::npos
                        ? std::string("empty line")
                        : ParseLine(line, d);
    if (!e.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(internal::AbslView(name), ": line ", number,
                       ": not a decision log line: ", e));
    }
    out.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<std::vector<LoggedDecisionRecord>> ReadDecisionLog(
    const std::string& path) {
  absl::StatusOr<std::string> text = internal::ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseDecisionLog(*text, path);
}

}  // namespace beckon
