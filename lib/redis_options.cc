// RedisOptions::FromUrl and the checks of RedisOptions.
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "beckon/engine.h"
#include "redis_options_check.h"
#include "string_views.h"

namespace beckon {
namespace {

absl::Status BadUrl(std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("redis url: ", internal::AbslView(why)));
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::StatusOr<std::string> PercentDecode(std::string_view s,
                                          std::string_view what) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    const bool room = i + 2 < s.size();
    const int hi = room ? HexDigit(s[i + 1]) : -1;
    const int lo = room ? HexDigit(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return BadUrl(absl::StrCat("bad percent-escape in ",
                                 internal::AbslView(what)));
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

absl::Status ParseInt(std::string_view value, std::string_view name,
                      int* out) {
  int v;
  if (value.empty() || !absl::SimpleAtoi(internal::AbslView(value), &v) ||
      value[0] == '+' || value[0] == ' ') {
    return BadUrl(absl::StrCat(internal::AbslView(name),
                               " must be an integer, got \"",
                               internal::AbslView(value), "\""));
  }
  *out = v;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RedisOptions> RedisOptions::FromUrl(std::string_view url) {
  RedisOptions o;
  std::string_view rest;
  bool is_unix = false;
  if (url.substr(0, 8) == "redis://") {
    rest = url.substr(8);
  } else if (url.substr(0, 7) == "unix://") {
    rest = url.substr(7);
    is_unix = true;
  } else {
    return BadUrl(absl::StrCat("\"", internal::AbslView(url),
                               "\" must start with redis:// or unix://"));
  }
  std::string_view query;
  if (const size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (is_unix) {
    if (rest.empty() || rest[0] != '/') {
      return BadUrl("unix:// needs an absolute socket path");
    }
    absl::StatusOr<std::string> path = PercentDecode(rest, "the socket path");
    if (!path.ok()) return path.status();
    o.unix_socket = *path;
  } else {
    std::string_view authority = rest;
    std::string_view path;
    if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
      authority = rest.substr(0, slash);
      path = rest.substr(slash + 1);
    }
    if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
      std::string_view userinfo = authority.substr(0, at);
      authority = authority.substr(at + 1);
      std::string_view user = userinfo, password;
      if (const size_t colon = userinfo.find(':');
          colon != std::string_view::npos) {
        user = userinfo.substr(0, colon);
        password = userinfo.substr(colon + 1);
      }
      absl::StatusOr<std::string> u = PercentDecode(user, "the user");
      if (!u.ok()) return u.status();
      absl::StatusOr<std::string> p = PercentDecode(password, "the password");
      if (!p.ok()) return p.status();
      o.user = *u;
      o.password = *p;
    }
    std::string_view host = authority;
    if (!authority.empty() && authority[0] == '[') {  // [::1]:6379
      const size_t close = authority.find(']');
      if (close == std::string_view::npos) return BadUrl("unclosed '[' in host");
      host = authority.substr(1, close - 1);
      authority = authority.substr(close + 1);
      if (!authority.empty() && authority[0] != ':') {
        return BadUrl("junk after ']' in host");
      }
      if (!authority.empty()) {
        if (absl::Status s = ParseInt(authority.substr(1), "port", &o.port);
            !s.ok()) {
          return s;
        }
      }
    } else if (const size_t colon = authority.rfind(':');
               colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      if (absl::Status s = ParseInt(authority.substr(colon + 1), "port",
                                    &o.port);
          !s.ok()) {
        return s;
      }
    }
    if (host.empty()) return BadUrl("no host");
    o.host = std::string(host);
    if (!path.empty()) {
      if (absl::Status s = ParseInt(path, "database", &o.database); !s.ok()) {
        return s;
      }
    }
  }
  if (!query.empty()) {
    for (absl::string_view piece :
         absl::StrSplit(internal::AbslView(query), '&')) {
      const std::string_view kv = internal::StdView(piece);
      const size_t eq = kv.find('=');
      if (eq == std::string_view::npos) {
        return BadUrl(absl::StrCat("option \"", internal::AbslView(kv),
                                   "\" has no '='"));
      }
      const std::string_view key = kv.substr(0, eq);
      absl::StatusOr<std::string> value =
          PercentDecode(kv.substr(eq + 1), key);
      if (!value.ok()) return value.status();
      absl::Status s;
      if (key == "db") {
        s = ParseInt(*value, key, &o.database);
      } else if (key == "cluster") {
        if (*value != "0" && *value != "1") {
          return BadUrl("cluster must be 0 or 1");
        }
        o.cluster = *value == "1";
      } else if (key == "prefix") {
        o.key_prefix = *value;
      } else if (key == "user") {
        o.user = *value;
      } else if (key == "password") {
        o.password = *value;
      } else if (key == "connect_timeout_ms") {
        s = ParseInt(*value, key, &o.connect_timeout_ms);
      } else if (key == "command_timeout_ms") {
        s = ParseInt(*value, key, &o.command_timeout_ms);
      } else if (key == "max_conflict_retries") {
        s = ParseInt(*value, key, &o.max_conflict_retries);
      } else if (key == "backoff_min_ms") {
        s = ParseInt(*value, key, &o.backoff_min_ms);
      } else if (key == "backoff_max_ms") {
        s = ParseInt(*value, key, &o.backoff_max_ms);
      } else {
        return BadUrl(absl::StrCat("unknown option \"",
                                   internal::AbslView(key), "\""));
      }
      if (!s.ok()) return s;
    }
  }
  if (absl::Status s = internal::CheckRedisOptions(o); !s.ok()) return s;
  return o;
}

namespace internal {

absl::Status CheckRedisOptions(const RedisOptions& o) {
  auto bad = [](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("RedisOptions.", internal::AbslView(why)));
  };
  if (o.unix_socket.empty()) {
    if (o.host.empty()) return bad("host is empty");
    if (o.port < 1 || o.port > 65535) {
      return bad(absl::StrCat("port must be in [1, 65535], got ", o.port));
    }
  }
  if (o.database < 0) {
    return bad(absl::StrCat("database must be >= 0, got ", o.database));
  }
  if (o.cluster && o.database != 0) {
    return bad("database must be 0 with a cluster");
  }
  if (o.cluster && !o.unix_socket.empty()) {
    return bad("unix_socket cannot reach a cluster; give host and port");
  }
  if (o.key_prefix.empty() || o.key_prefix.size() > 64 ||
      o.key_prefix.find_first_of("{}") != std::string::npos) {
    return bad("key_prefix must be 1..64 bytes without '{' or '}'");
  }
  for (const auto& [v, name] :
       {std::pair<int, const char*>{o.connect_timeout_ms, "connect_timeout_ms"},
        {o.command_timeout_ms, "command_timeout_ms"}}) {
    if (v < 1 || v > 60000) {
      return bad(absl::StrCat(name, " must be in [1, 60000], got ", v));
    }
  }
  if (o.max_conflict_retries < 0 || o.max_conflict_retries > 1000) {
    return bad(absl::StrCat("max_conflict_retries must be in [0, 1000], got ",
                            o.max_conflict_retries));
  }
  if (o.backoff_min_ms < 0 || o.backoff_max_ms < o.backoff_min_ms ||
      o.backoff_max_ms > 600000) {
    return bad("backoff must satisfy 0 <= backoff_min_ms <= backoff_max_ms "
               "<= 600000");
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace beckon
