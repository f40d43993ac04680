// URL classification: PageMatcher::Classify against the original matcher
// (kept below as the baseline, measured in the same run), on a mix of
// realistic shop URLs, with the default policy (20 rules) and with a
// 200-rule policy.
//
//   scripts/build.sh -DBECKON_BUILD_BENCHMARKS=ON  (TARGETS=matcher_bench)
//   build/tests/matcher_bench --benchmark_repetitions=5
//     --benchmark_report_aggregates_only=true  (one command line)
//
// BM_Classify/<impl>/<policy>: ns per Classify, cycling over 4096 URLs.
// BM_NormalizePath, BM_PageHash: the parts every URL pays for.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "benchmark/benchmark.h"
#include "beckon/policy.h"
#include "beckon/policy.pb.h"
#include "lib/page_matcher.h"
#include "lib/siphash.h"

namespace beckon::internal {
namespace {

// --- The baseline: the matcher before it was compiled (a verbatim copy, as
// in tests/page_matcher_test.cc, which checks that both agree). -------------
namespace baseline {

constexpr uint64_t kPageKey0 = 0x706167652d6b6579ULL;
constexpr uint64_t kPageKey1 = 0x6265636b6f6e2d70ULL;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }

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

void NormalizePath(std::string_view url, PathBuffer& out) {
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

bool GlobMatch(std::string_view pattern, std::string_view text) {
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

  PageMatcher::Match Classify(std::string_view url) const {
    PathBuffer path;
    baseline::NormalizePath(url, path);
    const std::string_view p = path.view();
    const uint32_t hash =
        static_cast<uint32_t>(SipHash24(kPageKey0, kPageKey1, p));
    for (const Rule& r : rules_) {
      const bool hit = r.glob ? baseline::GlobMatch(r.match, p)
                              : p.substr(0, r.match.size()) == r.match;
      if (hit) return PageMatcher::Match{r.group, hash};
    }
    PathBuffer tmpl;
    baseline::TemplatePath(p, tmpl);
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

}  // namespace baseline

// --- Policies and URLs ---------------------------------------------------------

const char* const kLangs[] = {"de", "fr", "it", "es", "nl", "pl"};
const char* const kSections[] = {"help", "faq", "cart", "checkout", "account",
                                 "search", "sale", "p/", "c/"};
const char* const kWords[] = {
    "shoes", "boots", "jackets", "shirts", "dresses", "bags", "socks",
    "running", "outdoor", "kids", "women", "men", "summer", "winter", "denim",
    "wool", "leather", "sport", "classic", "eco"};

void AddGroup(proto::Policy& p, const std::string& pattern, proto::Role role) {
  proto::PageGroup* g = p.add_groups();
  g->set_pattern(pattern);
  g->set_role(role);
  g->set_dwell_threshold_s(45);
  g->set_help_rate(0.05);
}

void AddRule(proto::Policy& p, proto::UrlRule::Kind kind,
             const std::string& match, const std::string& group) {
  proto::UrlRule* r = p.add_url_rules();
  r->set_kind(kind);
  r->set_match(match);
  r->set_group(group);
}

// A shop with localized sections, brand and campaign pages and a few globs
// in front of the default policy's rules: 200 rules.
proto::Policy BigPolicy() {
  proto::Policy p = Policy::Default().message();
  const auto defaults = p.url_rules();
  p.clear_url_rules();
  for (const char* lang : kLangs) {
    const std::string l = std::string("/") + lang;
    AddGroup(p, l + "/help", proto::ROLE_HELP);
    AddGroup(p, l + "/p/*", proto::ROLE_PRODUCT);
    AddGroup(p, l + "/c/*", proto::ROLE_CATEGORY);
    AddRule(p, proto::UrlRule::GLOB, l + "/p/*/reviews", "/p/*");
    AddRule(p, proto::UrlRule::GLOB, l + "/p/*/size-guide", l + "/help");
    for (const char* section : kSections) {
      const std::string s = section;
      const std::string group = s == "p/"   ? l + "/p/*"
                                : s == "c/" ? l + "/c/*"
                                : s == "help" || s == "faq" ? l + "/help"
                                : s == "cart"               ? "/cart"
                                : s == "checkout"           ? "/checkout/*"
                                : s == "account"            ? "/account/*"
                                : s == "search"             ? "/search"
                                                            : "/c/*";
      AddRule(p, proto::UrlRule::PREFIX, l + "/" + s, group);
    }
  }
  AddGroup(p, "/brand/*", proto::ROLE_CATEGORY);
  AddGroup(p, "/lp", proto::ROLE_LANDING);
  for (int i = 0; p.url_rules_size() < 124; ++i) {
    AddRule(p, proto::UrlRule::PREFIX,
            "/brand/" + std::string(kWords[i % 20]) + "-" +
                std::string(kWords[(i * 7 + 3) % 20]),
            "/brand/*");
  }
  for (int i = 0; p.url_rules_size() < 174; ++i) {
    AddRule(p, proto::UrlRule::PREFIX,
            "/lp/" + std::string(kWords[(i * 3) % 20]) + "-" +
                std::to_string(2020 + i % 6),
            "/lp");
  }
  AddRule(p, proto::UrlRule::GLOB, "/**/print", "/help/*");
  AddRule(p, proto::UrlRule::GLOB, "/**/*.pdf", "/help/*");
  AddRule(p, proto::UrlRule::GLOB, "/outlet/*/p/*", "/p/*");
  AddRule(p, proto::UrlRule::GLOB, "/outlet/*", "/c/*");
  AddRule(p, proto::UrlRule::PREFIX, "/gift-cards", "/cart");
  AddRule(p, proto::UrlRule::PREFIX, "/wishlist", "/account/*");
  AddRule(p, proto::UrlRule::PREFIX, "/orders", "/account/*");
  for (const auto& r : defaults) *p.add_url_rules() = r;
  absl::StatusOr<Policy> valid = Policy::FromProto(p);
  if (!valid.ok() || p.url_rules_size() != 200) std::abort();
  return p;
}

// A day of shop traffic, roughly: product and category pages first, then
// search, the root, help, cart and checkout, account pages and the rest;
// about half of them absolute URLs, many with a query string.
std::vector<std::string> Urls(bool localized) {
  std::mt19937 rng(42);
  auto below = [&](int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(rng);
  };
  auto word = [&] { return std::string(kWords[below(20)]); };
  std::vector<std::string> urls;
  for (int i = 0; i < 4096; ++i) {
    std::string path;
    const int kind = below(100);
    if (kind < 30) {
      path = below(2) ? "/p/" + std::to_string(100000 + below(900000))
                      : "/product/" + word() + "-" + word() + "-" +
                            std::to_string(below(10000));
    } else if (kind < 45) {
      path = below(2) ? "/c/" + word() + "/" + word() : "/category/" + word();
    } else if (kind < 55) {
      path = "/search?q=" + word() + "+" + word() + "&page=" +
             std::to_string(1 + below(5));
    } else if (kind < 61) {
      path = "/";
    } else if (kind < 66) {
      path = below(2) ? "/help/returns" : "/faq/shipping-times";
    } else if (kind < 74) {
      path = below(2) ? "/cart" : "/checkout/payment";
    } else if (kind < 77) {
      path = "/account/orders/" + std::to_string(below(100000));
    } else if (kind < 89 && localized) {
      const std::string l = std::string("/") + kLangs[below(6)];
      path = below(2) ? l + "/p/" + std::to_string(below(1000000))
                      : l + "/c/" + word();
      if (below(8) == 0) path += "/reviews";
    } else if (kind < 93 && localized) {
      path = "/brand/" + std::string(kWords[below(20)]) + "-" + word();
    } else {
      path = below(2) ? "/blog/2024/05/" + word() + "-" + word()
                      : "/about-us";
    }
    std::string url = below(2) ? "https://www.shop.example" + path : path;
    if (below(3) == 0) url += (url.find('?') == std::string::npos ? "?" : "&");
    if (url.back() == '?' || url.back() == '&') url += "utm_source=newsletter";
    urls.push_back(url);
  }
  return urls;
}

const proto::Policy& PolicyFor(int64_t which) {
  static const proto::Policy* const kDefault =
      new proto::Policy(Policy::Default().message());
  static const proto::Policy* const kBig = new proto::Policy(BigPolicy());
  return which == 0 ? *kDefault : *kBig;
}

template <typename M>
void RunClassify(benchmark::State& state, const M& matcher) {
  const std::vector<std::string> urls = Urls(state.range(0) != 0);
  std::vector<std::string_view> views(urls.begin(), urls.end());
  size_t i = 0;
  uint64_t sink = 0;
  for (auto _ : state) {
    const PageMatcher::Match m = matcher.Classify(views[i]);
    sink += m.group + m.page_hash;
    i = (i + 1) & 4095;
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}

void BM_Classify_Baseline(benchmark::State& state) {
  const baseline::Matcher matcher(PolicyFor(state.range(0)));
  RunClassify(state, matcher);
}
void BM_Classify_Compiled(benchmark::State& state) {
  const PageMatcher matcher(PolicyFor(state.range(0)));
  const baseline::Matcher reference(PolicyFor(state.range(0)));
  for (const std::string& url : Urls(state.range(0) != 0)) {
    const PageMatcher::Match a = matcher.Classify(url), b = reference.Classify(url);
    if (a.group != b.group || a.page_hash != b.page_hash) {
      state.SkipWithError(("differs from the baseline on " + url).c_str());
      return;
    }
  }
  RunClassify(state, matcher);
}
// Arg 0: the default policy (20 rules); 1: the 200-rule policy.
BENCHMARK(BM_Classify_Baseline)->ArgName("rules200")->Arg(0)->Arg(1);
BENCHMARK(BM_Classify_Compiled)->ArgName("rules200")->Arg(0)->Arg(1);

template <void (*Normalize)(std::string_view, PathBuffer&)>
void BM_NormalizePath(benchmark::State& state) {
  const std::vector<std::string> urls = Urls(true);
  size_t i = 0;
  PathBuffer out;
  for (auto _ : state) {
    Normalize(urls[i], out);
    benchmark::DoNotOptimize(out.size);
    benchmark::ClobberMemory();
    i = (i + 1) & 4095;
  }
}
BENCHMARK_TEMPLATE(BM_NormalizePath, baseline::NormalizePath);
BENCHMARK_TEMPLATE(BM_NormalizePath, NormalizePath);

// The page hash alone: SipHash-2-4 of the normalized path (kept because
// snapshots and the Redis store hold these hashes).
void BM_PageHash(benchmark::State& state) {
  const std::vector<std::string> urls = Urls(true);
  std::vector<std::string> paths;
  for (const std::string& u : urls) {
    PathBuffer out;
    NormalizePath(u, out);
    paths.emplace_back(out.view());
  }
  size_t i = 0;
  uint64_t sink = 0;
  for (auto _ : state) {
    sink += SipHash24(baseline::kPageKey0, baseline::kPageKey1, paths[i]);
    i = (i + 1) & 4095;
  }
  benchmark::DoNotOptimize(sink);
}
BENCHMARK(BM_PageHash);

}  // namespace
}  // namespace beckon::internal

BENCHMARK_MAIN();
