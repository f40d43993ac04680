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
#include "beckon/policy.h"
#include "beckon/policy.pb.h"
#include "benchmark/benchmark.h"
#include "lib/page_matcher.h"
#include "lib/policy_internal.h"
#include "lib/siphash.h"
#include "tests/page_matcher_reference.h"

namespace beckon::internal {
namespace {

// --- The baseline: the matcher before it was compiled
// (tests/page_matcher_reference.h, which page_matcher_test checks against).
namespace baseline = ref;

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
  absl::StatusOr<Policy> valid = internal::PolicyInternal::FromProto(p);
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
