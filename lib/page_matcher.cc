#include "page_matcher.h"

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

// Pages are identified by a 32-bit hash of their normalized path.
constexpr uint64_t kPageKey0 = 0x706167652d6b6579ULL;
constexpr uint64_t kPageKey1 = 0x6265636b6f6e2d70ULL;

}  // namespace

std::string_view HostOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    if (url.size() >= 2 && url[0] == '/' && url[1] == '/') {
      url.remove_prefix(2);
    } else {
      return {};
    }
  } else {
    url.remove_prefix(scheme + 3);
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
  // Drop the scheme and host of an absolute URL.
  if (const size_t scheme = url.find("://");
      scheme != std::string_view::npos &&
      url.find_first_of("/?#") > scheme) {
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
  // Backtracking over the last star seen; `**` may cross '/', `*` may not.
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  bool star_deep = false;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_deep = p + 1 < pattern.size() && pattern[p + 1] == '*';
      p += star_deep ? 2 : 1;
      star_p = p;
      star_t = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star_p != std::string_view::npos &&
               (star_deep || text[star_t] != '/')) {
      // Let the last star swallow one more character.
      ++star_t;
      t = star_t;
      p = star_p;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
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
  const std::string_view host = HostOf(referrer);
  if (host.empty() || search_hosts_.empty()) return false;
  char buf[256];
  const size_t n = std::min(host.size(), sizeof(buf));
  for (size_t i = 0; i < n; ++i) {
    buf[i] = absl::ascii_tolower(static_cast<unsigned char>(host[i]));
  }
  const std::string_view h(buf, n);
  for (const std::string& s : search_hosts_) {
    for (size_t pos = h.find(s); pos != std::string_view::npos;
         pos = h.find(s, pos + 1)) {
      if (pos == 0 || h[pos - 1] == '.') return true;
    }
  }
  return false;
}

}  // namespace beckon::internal
