// The URL matcher as it was before it was compiled into a trie: the
// specification the compiled PageMatcher must reproduce exactly (checked by
// tests/page_matcher_test.cc) and the baseline tests/bench/matcher_bench.cc
// times it against. Shared by both; not part of the library.
#ifndef BECKON_TESTS_PAGE_MATCHER_REFERENCE_H_
#define BECKON_TESTS_PAGE_MATCHER_REFERENCE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "beckon/policy.pb.h"
#include "lib/page_matcher.h"
#include "lib/siphash.h"

namespace beckon::internal {

// --- The reference: the matcher as it was before it was compiled -------------
//
// A verbatim copy of the original implementation (rules tried in turn, the
// dynamic-programming glob, SipHash of the normalized path), kept here as
// the specification that the compiled PageMatcher must reproduce exactly:
// same group, same page hash, for every URL.
namespace ref {
// Everything inline: the header is included by two binaries.

constexpr uint64_t kPageKey0 = 0x706167652d6b6579ULL;
constexpr uint64_t kPageKey1 = 0x6265636b6f6e2d70ULL;

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }

inline bool LooksLikeId(std::string_view seg) {
  int run = 0, max_run = 0, digits = 0, hexish = 0;
  for (char c : seg) {
    if (IsDigit(c)) {
      ++digits;
      max_run = std::max(max_run, ++run);
    } else {
      run = 0;
    }
    if (IsHex(c) || c == '-') ++hexish;
  }
  if (digits == 0) return false;
  if (digits == static_cast<int>(seg.size())) return true;
  if (max_run >= 3) return true;
  return seg.size() >= 16 && hexish == static_cast<int>(seg.size());
}

inline void NormalizePath(std::string_view url, PathBuffer& out) {
  const size_t scheme = url.find("://");
  if (scheme != std::string_view::npos && url.find_first_of("/?#") > scheme) {
    url.remove_prefix(scheme + 3);
    const size_t slash = url.find_first_of("/?#");
    url = slash == std::string_view::npos ? std::string_view()
                                          : url.substr(slash);
  }
  url = url.substr(0, url.find_first_of("?#"));
  out.size = 0;
  out.data[out.size++] = '/';
  for (char c : url) {
    if (out.size >= kMaxPathBytes) break;
    if (c == '/') {
      if (out.data[out.size - 1] != '/') out.data[out.size++] = '/';
    } else {
      out.data[out.size++] = absl::ascii_tolower(static_cast<unsigned char>(c));
    }
  }
  if (out.size > 1 && out.data[out.size - 1] == '/') --out.size;
}

inline void TemplatePath(std::string_view path, PathBuffer& out) {
  out.size = 0;
  size_t i = 0;
  while (i < path.size()) {
    out.data[out.size++] = '/';
    ++i;
    const size_t end = std::min(path.find('/', i), path.size());
    const std::string_view seg = path.substr(i, end - i);
    if (LooksLikeId(seg)) {
      out.data[out.size++] = '*';
    } else {
      for (char c : seg) out.data[out.size++] = c;
    }
    i = end;
  }
  if (out.size == 0) out.data[out.size++] = '/';
}

inline bool GlobMatch(std::string_view pattern, std::string_view text) {
  const size_t n = text.size();
  unsigned char small[2][kMaxPathBytes + 1];
  std::vector<unsigned char> big;
  unsigned char* cur = small[0];
  unsigned char* next = small[1];
  if (n > kMaxPathBytes) {
    big.assign(2 * (n + 1), 0);
    cur = big.data();
    next = cur + n + 1;
  }
  std::fill(cur, cur + n + 1, 0);
  cur[0] = 1;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern[i] == '*') {
      const bool deep = i + 1 < pattern.size() && pattern[i + 1] == '*';
      while (i < pattern.size() && pattern[i] == '*') ++i;
      next[0] = cur[0];
      for (size_t j = 1; j <= n; ++j) {
        next[j] = cur[j] || (next[j - 1] && (deep || text[j - 1] != '/'));
      }
    } else {
      next[0] = false;
      for (size_t j = 1; j <= n; ++j) {
        next[j] = cur[j - 1] && text[j - 1] == pattern[i];
      }
      ++i;
    }
    std::swap(cur, next);
  }
  return cur[n];
}

class Matcher {
 public:
  explicit Matcher(const proto::Policy& policy) {
    for (int i = 0; i < policy.groups_size(); ++i) {
      by_pattern_.emplace(policy.groups(i).pattern(),
                          static_cast<uint16_t>(i));
    }
    for (const auto& r : policy.url_rules()) {
      rules_.push_back(Rule{r.kind() == proto::UrlRule::GLOB,
                            absl::AsciiStrToLower(r.match()),
                            GroupByPattern(r.group())});
    }
  }

  uint16_t GroupByPattern(std::string_view pattern) const {
    const auto it =
        by_pattern_.find(absl::string_view(pattern.data(), pattern.size()));
    return it == by_pattern_.end() ? kUnlistedGroup : it->second;
  }

  // What decided a URL's group (for the tests' coverage counts).
  enum class Via { kPrefixRule, kGlobRule, kTemplate, kUnlisted };
  Via ViaOf(std::string_view url) const {
    PathBuffer path;
    ref::NormalizePath(url, path);
    const std::string_view p = path.view();
    for (const Rule& r : rules_) {
      if (r.glob ? ref::GlobMatch(r.match, p)
                 : p.substr(0, r.match.size()) == r.match) {
        return r.glob ? Via::kGlobRule : Via::kPrefixRule;
      }
    }
    PathBuffer tmpl;
    ref::TemplatePath(p, tmpl);
    return GroupByPattern(tmpl.view()) == kUnlistedGroup ? Via::kUnlisted
                                                         : Via::kTemplate;
  }

  PageMatcher::Match Classify(std::string_view url) const {
    PathBuffer path;
    ref::NormalizePath(url, path);
    const std::string_view p = path.view();
    const uint32_t hash =
        static_cast<uint32_t>(SipHash24(kPageKey0, kPageKey1, p));
    for (const Rule& r : rules_) {
      const bool hit = r.glob ? ref::GlobMatch(r.match, p)
                              : p.substr(0, r.match.size()) == r.match;
      if (hit) return PageMatcher::Match{r.group, hash};
    }
    PathBuffer tmpl;
    ref::TemplatePath(p, tmpl);
    return PageMatcher::Match{GroupByPattern(tmpl.view()), hash};
  }

 private:
  struct Rule {
    bool glob;
    std::string match;
    uint16_t group;
  };
  std::vector<Rule> rules_;
  absl::flat_hash_map<std::string, uint16_t> by_pattern_;
};

}  // namespace ref

}  // namespace beckon::internal

#endif  // BECKON_TESTS_PAGE_MATCHER_REFERENCE_H_
