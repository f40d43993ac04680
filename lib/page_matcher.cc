#include "page_matcher.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "absl/strings/ascii.h"
#include "siphash.h"
#include "string_views.h"

namespace beckon::internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f');
}

// A segment is an id if it is all digits, holds a run of 3+ digits, or is a
// long hex string (16+ hex digits or dashes, with a digit).
bool LooksLikeId(std::string_view seg) {
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

std::atomic<ClassifyHookForTest> classify_hook{nullptr};

void CallClassifyHook(std::string_view url) {
  if (ClassifyHookForTest hook = classify_hook.load(std::memory_order_acquire)) {
    hook(url);
  }
}

// Pages are identified by a 32-bit hash of their normalized path.
constexpr uint64_t kPageKey0 = 0x706167652d6b6579ULL;
constexpr uint64_t kPageKey1 = 0x6265636b6f6e2d70ULL;

}  // namespace

void SetClassifyHookForTest(ClassifyHookForTest hook) {
  classify_hook.store(hook, std::memory_order_release);
}

std::string_view HostOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme != std::string_view::npos &&
      url.find_first_of("/?#") > scheme) {
    url.remove_prefix(scheme + 3);
  } else if (url.size() >= 2 && url[0] == '/' && url[1] == '/') {
    url.remove_prefix(2);  // Protocol-relative: "//host/path".
  } else {
    return {};  // Relative: no host, whatever its query holds.
  }
  const size_t end = url.find_first_of("/?#");
  std::string_view host = url.substr(0, end);
  if (const size_t at = host.rfind('@'); at != std::string_view::npos) {
    host.remove_prefix(at + 1);
  }
  if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  return host;
}

void NormalizePath(std::string_view url, PathBuffer& out) {
  // Drop the scheme and host of an absolute URL. A page that starts with
  // "//" is taken as a path with a doubled slash, as web logs write it, not
  // as a protocol-relative URL (referrers, read by HostOf, may be those).
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

void TemplatePath(std::string_view path, PathBuffer& out) {
  out.size = 0;
  size_t i = 0;
  while (i < path.size()) {
    // path[i] == '/' at the start of each segment.
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

std::string TemplateOf(std::string_view url) {
  PathBuffer path, tmpl;
  NormalizePath(url, path);
  TemplatePath(path.view(), tmpl);
  return std::string(tmpl.view());
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Dynamic programming over the pattern's tokens: m[j] tells whether the
  // pattern so far matches text[0, j). O(|pattern| * |text|), no recursion,
  // no allocation for texts up to kMaxPathBytes.
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
        // Either the star matches nothing more, or it takes text[j-1].
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

PageMatcher::PageMatcher(const proto::Policy& policy) {
  for (int i = 0; i < policy.groups_size(); ++i) {
    by_pattern_.emplace(policy.groups(i).pattern(), static_cast<uint16_t>(i));
  }
  for (const auto& r : policy.url_rules()) {
    rules_.push_back(Rule{r.kind() == proto::UrlRule::GLOB,
                          absl::AsciiStrToLower(r.match()),
                          GroupByPattern(r.group())});
  }
  for (const auto& h : policy.session().search_engine_hosts()) {
    search_hosts_.push_back(absl::AsciiStrToLower(h));
  }
}

uint16_t PageMatcher::GroupByPattern(std::string_view pattern) const {
  const auto it = by_pattern_.find(AbslView(pattern));
  return it == by_pattern_.end() ? kUnlistedGroup : it->second;
}

PageMatcher::Match PageMatcher::Classify(std::string_view url) const {
  CallClassifyHook(url);
  PathBuffer path;
  NormalizePath(url, path);
  const std::string_view p = path.view();
  const uint32_t hash =
      static_cast<uint32_t>(SipHash24(kPageKey0, kPageKey1, p));
  for (const Rule& r : rules_) {
    const bool hit = r.glob ? GlobMatch(r.match, p)
                            : p.substr(0, r.match.size()) == r.match;
    if (hit) return Match{r.group, hash};
  }
  PathBuffer tmpl;
  TemplatePath(p, tmpl);
  return Match{GroupByPattern(tmpl.view()), hash};
}

bool PageMatcher::IsSearchEngine(std::string_view referrer) const {
  CallClassifyHook(referrer);
  const std::string_view host = HostOf(referrer);
  if (host.empty() || search_hosts_.empty()) return false;
  char buf[256];
  const size_t n = std::min(host.size(), sizeof(buf));
  for (size_t i = 0; i < n; ++i) {
    buf[i] = absl::ascii_tolower(static_cast<unsigned char>(host[i]));
  }
  const std::string_view h(buf, n);
  // An entry matches whole labels: it starts the host or follows a '.',
  // and it ends the host unless it ends with '.' itself ("google." matches
  // "www.google.co.uk"; "bing.com" does not match "bing.company.example").
  for (const std::string& s : search_hosts_) {
    for (size_t pos = h.find(s); pos != std::string_view::npos;
         pos = h.find(s, pos + 1)) {
      const bool starts = pos == 0 || h[pos - 1] == '.';
      const bool ends = s.back() == '.' || pos + s.size() == h.size();
      if (starts && ends) return true;
    }
  }
  return false;
}

}  // namespace beckon::internal
