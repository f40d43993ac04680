// Tests for lib/page_matcher: URL normalization, automatic templates, hosts,
// globs, and classification of URLs into a policy's page groups.
#include "lib/page_matcher.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "beckon/policy.h"
#include "beckon/policy.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/policy_internal.h"
#include "lib/siphash.h"
#include "page_matcher_reference.h"

namespace beckon::internal {
namespace {

std::string Normalize(std::string_view url) {
  PathBuffer out;
  NormalizePath(url, out);
  return std::string(out.view());
}

std::string Template(std::string_view path) {
  PathBuffer out;
  TemplatePath(path, out);
  return std::string(out.view());
}

std::string Host(std::string_view url) { return std::string(HostOf(url)); }

const proto::Policy& DefaultMessage() {
  static const Policy* const kPolicy = new Policy(Policy::Default());
  return internal::PolicyInternal::Message(*kPolicy);
}

// Index of the group with `pattern` in `policy`, or -1 (checked by callers
// so that a missing group fails the test rather than matching by accident).
int IndexOf(const proto::Policy& policy, const std::string& pattern) {
  for (int i = 0; i < policy.groups_size(); ++i) {
    if (policy.groups(i).pattern() == pattern) return i;
  }
  return -1;
}

// Returns the pattern of the group `url` falls in, or "<unlisted>".
std::string GroupOf(const PageMatcher& matcher, const proto::Policy& policy,
                    std::string_view url) {
  const uint16_t g = matcher.Classify(url).group;
  if (g == kUnlistedGroup) return "<unlisted>";
  if (g >= policy.groups_size()) return "<out of range>";
  return policy.groups(g).pattern();
}

proto::PageGroup* AddGroup(proto::Policy& p, const std::string& pattern,
                           proto::Role role = proto::ROLE_OTHER) {
  proto::PageGroup* g = p.add_groups();
  g->set_pattern(pattern);
  g->set_role(role);
  g->set_dwell_threshold_s(30);
  g->set_help_rate(0.1);
  return g;
}

void AddRule(proto::Policy& p, proto::UrlRule::Kind kind,
             const std::string& match, const std::string& group) {
  proto::UrlRule* r = p.add_url_rules();
  r->set_kind(kind);
  r->set_match(match);
  r->set_group(group);
}

// Validates `message` through the public API, so the tests exercise only
// policies the engine would accept.
proto::Policy Validated(const proto::Policy& message) {
  absl::StatusOr<Policy> p = internal::PolicyInternal::FromProto(message);
  EXPECT_TRUE(p.ok()) << p.status();
  return message;
}


// --- NormalizePath -----------------------------------------------------------

TEST(PageMatcher, AbsoluteUrlDropsSchemeAndHost) {
  EXPECT_EQ(Normalize("https://shop.example.com/p/123"), "/p/123");
  EXPECT_EQ(Normalize("http://user:pw@shop.example.com:8080/a/b"), "/a/b");
  EXPECT_EQ(Normalize("HTTPS://SHOP.EXAMPLE.COM/Cart"), "/cart");
}

TEST(PageMatcher, AbsoluteUrlWithoutPathIsRoot) {
  EXPECT_EQ(Normalize("https://shop.example.com"), "/");
  EXPECT_EQ(Normalize("https://shop.example.com/"), "/");
  EXPECT_EQ(Normalize("https://shop.example.com?utm=x"), "/");
  EXPECT_EQ(Normalize("https://shop.example.com#top"), "/");
}

TEST(PageMatcher, SchemeInsideQueryIsNotAHost) {
  // "://" after the path starts belongs to the query, not to a scheme.
  EXPECT_EQ(Normalize("/redirect?to=https://evil.example/x"), "/redirect");
  EXPECT_EQ(Normalize("/go/https://evil.example/x"),
            "/go/https:/evil.example/x");
}

TEST(PageMatcher, QueryAndFragmentAreDropped) {
  EXPECT_EQ(Normalize("/search?q=shoes"), "/search");
  EXPECT_EQ(Normalize("/help#returns"), "/help");
  EXPECT_EQ(Normalize("/help?a=1#frag"), "/help");
  EXPECT_EQ(Normalize("/help#frag?a=1"), "/help");
  EXPECT_EQ(Normalize("?q=1"), "/");
  EXPECT_EQ(Normalize("#x"), "/");
}

TEST(PageMatcher, PathIsLowercased) {
  EXPECT_EQ(Normalize("/Help/RETURNS"), "/help/returns");
  EXPECT_EQ(Normalize("/ÄbC"), "/Äbc");  // Only ASCII is folded.
}

TEST(PageMatcher, DuplicateAndTrailingSlashesAreRemoved) {
  EXPECT_EQ(Normalize("//a///b//"), "/a/b");
  EXPECT_EQ(Normalize("/a/b/"), "/a/b");
  EXPECT_EQ(Normalize("/a/"), "/a");
  EXPECT_EQ(Normalize("///"), "/");
  EXPECT_EQ(Normalize("https://x.example//a//"), "/a");
}

TEST(PageMatcher, EmptyUrlIsRoot) {
  EXPECT_EQ(Normalize(""), "/");
  EXPECT_EQ(Normalize("/"), "/");
}

TEST(PageMatcher, RelativePathGetsLeadingSlash) {
  EXPECT_EQ(Normalize("cart"), "/cart");
  EXPECT_EQ(Normalize("a/b"), "/a/b");
}

TEST(PageMatcher, OverLongPathIsCappedAtMaxPathBytes) {
  const std::string long_path = "/" + std::string(10000, 'a');
  const std::string got = Normalize(long_path);
  EXPECT_EQ(got.size(), kMaxPathBytes);
  EXPECT_EQ(got, "/" + std::string(kMaxPathBytes - 1, 'a'));

  // Many segments, ids and slashes: capped, no trailing slash, no crash.
  std::string segments;
  for (int i = 0; i < 2000; ++i) segments += "/12345//";
  const std::string capped = Normalize("https://x.example" + segments);
  EXPECT_LE(capped.size(), kMaxPathBytes);
  EXPECT_NE(capped.back(), '/');
  EXPECT_EQ(capped.substr(0, 7), "/12345/");

  // The template of a capped path fits, too.
  const std::string tmpl = TemplateOf("https://x.example" + segments);
  EXPECT_LE(tmpl.size(), kMaxPathBytes);
  EXPECT_EQ(tmpl.substr(0, 6), "/*/*/*");
}

TEST(PageMatcher, PathExactlyMaxPathBytesIsKept) {
  const std::string path = "/" + std::string(kMaxPathBytes - 1, 'z');
  EXPECT_EQ(Normalize(path), path);
  EXPECT_EQ(Normalize(path + "?q=1"), path);
}

// --- Templates ---------------------------------------------------------------

TEST(PageMatcher, NumericSegmentsBecomeStars) {
  EXPECT_EQ(TemplateOf("/p/123"), "/p/*");
  EXPECT_EQ(TemplateOf("/p/1"), "/p/*");
  EXPECT_EQ(TemplateOf("/c/12/p/345"), "/c/*/p/*");
  EXPECT_EQ(TemplateOf("https://shop.example/P/123?ref=x"), "/p/*");
}

TEST(PageMatcher, UuidSegmentsBecomeStars) {
  EXPECT_EQ(TemplateOf("/order/550e8400-e29b-41d4-a716-446655440000"),
            "/order/*");
  EXPECT_EQ(TemplateOf("/order/550E8400-E29B-41D4-A716-446655440000"),
            "/order/*");
}

TEST(PageMatcher, LongHexSegmentsBecomeStars) {
  EXPECT_EQ(TemplateOf("/cart/deadbeefcafe0a1b"), "/cart/*");  // 16 hex
  // Hex without any digit is a word, not an id.
  EXPECT_EQ(TemplateOf("/x/deadbeefcafebabe"), "/x/deadbeefcafebabe");
}

TEST(PageMatcher, SegmentsWithRunsOfThreeDigitsBecomeStars) {
  EXPECT_EQ(TemplateOf("/sku-12345"), "/*");
  EXPECT_EQ(TemplateOf("/shoes/model-x100"), "/shoes/*");
}

TEST(PageMatcher, WordsWithFewDigitsStay) {
  EXPECT_EQ(TemplateOf("/help/2fa"), "/help/2fa");
  EXPECT_EQ(TemplateOf("/sts-69"), "/sts-69");
  EXPECT_EQ(TemplateOf("/mp3/a1b2"), "/mp3/a1b2");
  EXPECT_EQ(TemplateOf("/help/returns"), "/help/returns");
}

TEST(PageMatcher, TemplateOfRootIsRoot) {
  EXPECT_EQ(TemplateOf(""), "/");
  EXPECT_EQ(TemplateOf("/"), "/");
  EXPECT_EQ(TemplateOf("https://shop.example"), "/");
  EXPECT_EQ(Template("/"), "/");
  EXPECT_EQ(Template(""), "/");
}

TEST(PageMatcher, TemplatePathWorksOnNormalizedPaths) {
  EXPECT_EQ(Template("/a/123/b"), "/a/*/b");
  EXPECT_EQ(Template("/42"), "/*");
}

// --- HostOf ------------------------------------------------------------------

TEST(PageMatcher, HostOfAbsoluteUrl) {
  EXPECT_EQ(Host("https://www.x.com/a"), "www.x.com");
  EXPECT_EQ(Host("https://www.x.com"), "www.x.com");
  EXPECT_EQ(Host("https://www.x.com?q=1"), "www.x.com");
  EXPECT_EQ(Host("https://www.x.com#f"), "www.x.com");
  EXPECT_EQ(Host("HTTP://WWW.X.COM/"), "WWW.X.COM");  // Not lowercased.
}

TEST(PageMatcher, HostOfDropsUserinfo) {
  EXPECT_EQ(Host("https://user@www.x.com/a"), "www.x.com");
  EXPECT_EQ(Host("https://user:secret@www.x.com/a"), "www.x.com");
}

TEST(PageMatcher, HostOfDropsPort) {
  EXPECT_EQ(Host("https://www.x.com:8443/a"), "www.x.com");
  EXPECT_EQ(Host("https://user:pw@www.x.com:8443/a"), "www.x.com");
}

TEST(PageMatcher, HostOfUrlWithoutSchemeIsEmpty) {
  EXPECT_EQ(Host("www.x.com/a"), "");
  EXPECT_EQ(Host("/a/b"), "");
  EXPECT_EQ(Host(""), "");
  EXPECT_EQ(Host("/"), "");
}

TEST(PageMatcher, HostOfProtocolRelativeUrl) {
  EXPECT_EQ(Host("//host.example/x"), "host.example");
  EXPECT_EQ(Host("//host.example"), "host.example");
  EXPECT_EQ(Host("//host.example:81/x"), "host.example");
}

TEST(PageMatcher, HostOfRelativeUrlIgnoresSchemeInQuery) {
  // A relative URL has no host, even when its query holds an absolute URL.
  // NormalizePath already guards against this case; HostOf must too.
  EXPECT_EQ(Host("/out?to=https://www.google.com/"), "");
  EXPECT_EQ(Host("shop.example/r?u=https://www.google.com/"), "");
}

// --- GlobMatch ---------------------------------------------------------------

TEST(PageMatcher, GlobLiteralMatchesExactly) {
  EXPECT_TRUE(GlobMatch("/help", "/help"));
  EXPECT_FALSE(GlobMatch("/help", "/hel"));
  EXPECT_FALSE(GlobMatch("/help", "/helpx"));
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "/"));
}

TEST(PageMatcher, GlobSlashOnlyMatchesSlash) {
  EXPECT_TRUE(GlobMatch("/", "/"));
  EXPECT_FALSE(GlobMatch("/", "/a"));
  EXPECT_FALSE(GlobMatch("/", ""));
  EXPECT_FALSE(GlobMatch("/", "//"));
}

TEST(PageMatcher, GlobStarStaysWithinOneSegment) {
  EXPECT_TRUE(GlobMatch("/p/*", "/p/123"));
  EXPECT_TRUE(GlobMatch("/p/*", "/p/"));  // A star may match nothing.
  EXPECT_FALSE(GlobMatch("/p/*", "/p/1/2"));
  EXPECT_FALSE(GlobMatch("/*", "/a/b"));
  EXPECT_FALSE(GlobMatch("*", "/"));
  EXPECT_TRUE(GlobMatch("/*/reviews", "/p/reviews"));
  EXPECT_FALSE(GlobMatch("/*/reviews", "/p/1/reviews"));
  EXPECT_TRUE(GlobMatch("/a*c", "/abbbc"));
  EXPECT_FALSE(GlobMatch("/a*c", "/ab/c"));
}

TEST(PageMatcher, GlobDoubleStarCrossesSegments) {
  EXPECT_TRUE(GlobMatch("/p/**", "/p/1/2/3"));
  EXPECT_TRUE(GlobMatch("/**", "/a/b"));
  EXPECT_TRUE(GlobMatch("**", "/"));
  EXPECT_TRUE(GlobMatch("/**/reviews", "/p/1/reviews"));
  EXPECT_FALSE(GlobMatch("/**/reviews", "/p/1/reviews/2"));
  EXPECT_TRUE(GlobMatch("/shop/**/checkout", "/shop/de/eu/checkout"));
}

TEST(PageMatcher, GlobDoubleStarThenSingleStarBacktracks) {
  // "**" must be able to take more segments when a later "*" cannot cross a
  // '/': "/**/*" is "any path with at least one segment after the root".
  EXPECT_TRUE(GlobMatch("/**/*", "/a/b"));
  EXPECT_TRUE(GlobMatch("/**/*", "/a/b/c"));
  EXPECT_TRUE(GlobMatch("/**/b*", "/x/b1/b2"));
  EXPECT_TRUE(GlobMatch("/help/**/*.html", "/help/a/b/c.html"));
}

TEST(PageMatcher, GlobTrailingStarsMatchEmpty) {
  EXPECT_TRUE(GlobMatch("/help*", "/help"));
  EXPECT_TRUE(GlobMatch("/help**", "/help"));
  EXPECT_TRUE(GlobMatch("/help***", "/help"));
  EXPECT_TRUE(GlobMatch("/help/**", "/help/"));
  EXPECT_FALSE(GlobMatch("/help/*", "/help"));
  EXPECT_TRUE(GlobMatch("/help*", "/helpdesk"));
  EXPECT_FALSE(GlobMatch("/help*", "/help/desk"));
  EXPECT_TRUE(GlobMatch("/help**", "/help/desk"));
}

// --- PageMatcher with the default policy -------------------------------------

class PageMatcherDefault : public testing::Test {
 protected:
  const proto::Policy& policy_ = DefaultMessage();
  PageMatcher matcher_{policy_};
  std::string GroupOf(std::string_view url) const {
    return beckon::internal::GroupOf(matcher_, policy_, url);
  }
};

TEST_F(PageMatcherDefault, RootIsItsOwnGroup) {
  EXPECT_EQ(GroupOf("/"), "/");
  EXPECT_EQ(GroupOf(""), "/");
  EXPECT_EQ(GroupOf("https://shop.example/?utm_source=x"), "/");
  EXPECT_EQ(GroupOf("https://shop.example"), "/");
}

TEST_F(PageMatcherDefault, HelpPrefixRuleComesBeforeReturnsRule) {
  // "/help/returns" matches the "/help" prefix rule, which comes first.
  EXPECT_EQ(GroupOf("/help/returns?x=1"), "/help/*");
  EXPECT_EQ(GroupOf("/HELP/Returns/"), "/help/*");
  EXPECT_EQ(GroupOf("/faq"), "/help/*");
  EXPECT_EQ(GroupOf("/support/ticket/123"), "/help/*");
}

TEST_F(PageMatcherDefault, ReturnsAndShippingHaveTheirOwnHelpGroups) {
  EXPECT_EQ(GroupOf("/returns"), "/help/returns");
  EXPECT_EQ(GroupOf("/returns/form?id=7"), "/help/returns");
  EXPECT_EQ(GroupOf("/shipping"), "/help/shipping");
  EXPECT_EQ(GroupOf("/delivery/times"), "/help/shipping");
}

TEST_F(PageMatcherDefault, ProductPagesAreOneGroup) {
  EXPECT_EQ(GroupOf("/p/4711"), "/p/*");
  EXPECT_EQ(GroupOf("https://shop.example/p/4711?color=red#reviews"), "/p/*");
  EXPECT_EQ(GroupOf("/product/blue-shoe"), "/p/*");
  EXPECT_EQ(GroupOf("/c/shoes"), "/c/*");
  EXPECT_EQ(GroupOf("/category/shoes"), "/c/*");
}

TEST_F(PageMatcherDefault, ShopPagesByRule) {
  EXPECT_EQ(GroupOf("/search?q=boots"), "/search");
  EXPECT_EQ(GroupOf("/cart"), "/cart");
  EXPECT_EQ(GroupOf("/basket"), "/cart");
  EXPECT_EQ(GroupOf("/checkout/payment"), "/checkout/*");
  EXPECT_EQ(GroupOf("/account/orders"), "/account/*");
  EXPECT_EQ(GroupOf("/login"), "/account/*");
  EXPECT_EQ(GroupOf("/contact"), "/contact");
}

TEST_F(PageMatcherDefault, UnknownPathIsUnlisted) {
  EXPECT_EQ(matcher_.Classify("/about-us").group, kUnlistedGroup);
  EXPECT_EQ(matcher_.Classify("/blog/2023/hello").group, kUnlistedGroup);
  EXPECT_EQ(matcher_.Classify("/p").group, kUnlistedGroup);  // Not "/p/".
}

TEST_F(PageMatcherDefault, GroupByPatternFindsGroups) {
  for (int i = 0; i < policy_.groups_size(); ++i) {
    EXPECT_EQ(matcher_.GroupByPattern(policy_.groups(i).pattern()), i)
        << policy_.groups(i).pattern();
  }
  EXPECT_EQ(matcher_.GroupByPattern("/nope"), kUnlistedGroup);
  EXPECT_EQ(matcher_.GroupByPattern(""), kUnlistedGroup);
  EXPECT_EQ(matcher_.GroupByPattern("/P/*"), kUnlistedGroup);  // Exact.
}

TEST_F(PageMatcherDefault, PageHashIdentifiesTheNormalizedPath) {
  EXPECT_EQ(matcher_.Classify("/a?x=1").page_hash,
            matcher_.Classify("/A").page_hash);
  EXPECT_EQ(matcher_.Classify("https://shop.example/a/").page_hash,
            matcher_.Classify("/a#top").page_hash);
  EXPECT_NE(matcher_.Classify("/a").page_hash,
            matcher_.Classify("/b").page_hash);
  // Two pages of one group are still different pages.
  EXPECT_NE(matcher_.Classify("/p/1").page_hash,
            matcher_.Classify("/p/2").page_hash);
}

TEST_F(PageMatcherDefault, PageHashIsPinnedBecauseSnapshotsStoreIt) {
  // Snapshots keep recent page hashes; a changed hash would make restored
  // sessions miss their loops. Changing it needs a snapshot version bump.
  EXPECT_EQ(matcher_.Classify("/p/1").page_hash, 197219364u);
}

TEST(SipHash, MatchesTheReferenceVector) {
  // SipHash-2-4, key 00..0f, message 00..0e: the reference implementation's
  // test vector 15. Visitor keys and the holdout draw rest on it.
  std::string message;
  for (int i = 0; i < 15; ++i) message.push_back(static_cast<char>(i));
  EXPECT_EQ(beckon::internal::SipHash24(0x0706050403020100ULL,
                                        0x0f0e0d0c0b0a0908ULL, message),
            0xa129ca6149be45e5ULL);
}

TEST_F(PageMatcherDefault, SearchEngineReferrers) {
  EXPECT_TRUE(matcher_.IsSearchEngine("https://www.google.com/search?q=x"));
  EXPECT_TRUE(matcher_.IsSearchEngine("https://www.google.co.uk/"));
  EXPECT_TRUE(matcher_.IsSearchEngine("https://google.de"));
  EXPECT_TRUE(matcher_.IsSearchEngine("https://WWW.GOOGLE.COM/"));
  EXPECT_TRUE(matcher_.IsSearchEngine("https://www.bing.com/search?q=x"));
  EXPECT_TRUE(matcher_.IsSearchEngine("https://duckduckgo.com/"));
  EXPECT_TRUE(matcher_.IsSearchEngine("https://search.yahoo.co.jp/x"));
  EXPECT_TRUE(matcher_.IsSearchEngine("//www.ecosia.org/search"));
  EXPECT_TRUE(matcher_.IsSearchEngine("https://u:p@www.google.com:443/"));
}

TEST_F(PageMatcherDefault, SearchEngineEntryStartsAtALabelBoundary) {
  EXPECT_FALSE(matcher_.IsSearchEngine("https://notgoogle.com/"));
  EXPECT_FALSE(matcher_.IsSearchEngine("https://mybing.com/"));
  EXPECT_FALSE(matcher_.IsSearchEngine("https://www.notgoogle.com/"));
  // "google." names a label, so any domain whose label is "google" counts.
  EXPECT_TRUE(matcher_.IsSearchEngine("https://google.example.com/"));
}

TEST_F(PageMatcherDefault, SearchEngineSuffixEntryEndsAtTheHostsEnd) {
  // "bing.com" is a host suffix: it must not match inside a longer label.
  EXPECT_FALSE(matcher_.IsSearchEngine("https://bing.company.example/"));
  EXPECT_FALSE(matcher_.IsSearchEngine("https://www.baidu.commerce.example/"));
}

TEST_F(PageMatcherDefault, NonSearchEngineReferrers) {
  EXPECT_FALSE(matcher_.IsSearchEngine(""));
  EXPECT_FALSE(matcher_.IsSearchEngine("https://shop.example/p/1"));
  EXPECT_FALSE(matcher_.IsSearchEngine("/search?q=google."));  // No host.
  EXPECT_FALSE(matcher_.IsSearchEngine("https://shop.example/?r=google.com"));
  EXPECT_FALSE(matcher_.IsSearchEngine("not a url"));
}

TEST(PageMatcher, NoSearchEnginesMeansNoSearchEngineReferrer) {
  proto::Policy p = DefaultMessage();
  p.mutable_session()->clear_search_engine_hosts();
  const PageMatcher matcher(Validated(p));
  EXPECT_FALSE(matcher.IsSearchEngine("https://www.google.com/"));
}

TEST(PageMatcher, SearchEngineHostsAreCaseInsensitive) {
  proto::Policy p = DefaultMessage();
  p.mutable_session()->clear_search_engine_hosts();
  p.mutable_session()->add_search_engine_hosts("Search.Example");
  const PageMatcher matcher(Validated(p));
  EXPECT_TRUE(matcher.IsSearchEngine("https://www.SEARCH.example/q"));
  EXPECT_FALSE(matcher.IsSearchEngine("https://www.google.com/"));
}

TEST(PageMatcher, VeryLongReferrerHostDoesNotCrash) {
  const PageMatcher matcher(DefaultMessage());
  const std::string host(5000, 'a');
  EXPECT_FALSE(matcher.IsSearchEngine("https://" + host + ".example/"));
  EXPECT_FALSE(matcher.IsSearchEngine("https://" + host + ".google.com/"));
}

// --- PageMatcher with custom rules ---------------------------------------------

TEST(PageMatcher, FirstMatchingRuleWins) {
  proto::Policy p = DefaultMessage();
  p.clear_url_rules();
  AddRule(p, proto::UrlRule::PREFIX, "/help/returns", "/help/returns");
  AddRule(p, proto::UrlRule::PREFIX, "/help", "/help/*");
  const PageMatcher matcher(Validated(p));
  EXPECT_EQ(GroupOf(matcher, p, "/help/returns/form"), "/help/returns");
  EXPECT_EQ(GroupOf(matcher, p, "/help/other"), "/help/*");

  // The same rules, the other way round: the broad rule shadows the narrow.
  proto::Policy q = DefaultMessage();
  q.clear_url_rules();
  AddRule(q, proto::UrlRule::PREFIX, "/help", "/help/*");
  AddRule(q, proto::UrlRule::PREFIX, "/help/returns", "/help/returns");
  const PageMatcher reversed(Validated(q));
  EXPECT_EQ(GroupOf(reversed, q, "/help/returns/form"), "/help/*");
  EXPECT_EQ(GroupOf(reversed, q, "/help/other"), "/help/*");
}

TEST(PageMatcher, RuleBeatsAutomaticTemplate) {
  proto::Policy p = DefaultMessage();
  p.clear_url_rules();
  AddGroup(p, "/blog/*");
  AddGroup(p, "/news");
  AddRule(p, proto::UrlRule::GLOB, "/blog/*", "/news");
  const PageMatcher matcher(Validated(p));
  EXPECT_EQ(GroupOf(matcher, p, "/blog/2023"), "/news");
}

TEST(PageMatcher, GroupNamedByTemplateIsFoundWithoutARule) {
  proto::Policy p = DefaultMessage();
  AddGroup(p, "/blog/*");
  AddGroup(p, "/blog/*/comments");
  const PageMatcher matcher(Validated(p));
  ASSERT_GE(IndexOf(p, "/blog/*"), 0);
  EXPECT_EQ(matcher.Classify("/blog/2023").group, IndexOf(p, "/blog/*"));
  EXPECT_EQ(matcher.Classify("https://shop.example/Blog/2023?x#y").group,
            IndexOf(p, "/blog/*"));
  EXPECT_EQ(matcher.Classify("/blog/2023/comments").group,
            IndexOf(p, "/blog/*/comments"));
  // A word segment is not templated, so it does not fall in "/blog/*".
  EXPECT_EQ(matcher.Classify("/blog/hello").group, kUnlistedGroup);
}

TEST(PageMatcher, GlobRuleMatchesNormalizedPath) {
  proto::Policy p = DefaultMessage();
  p.clear_url_rules();
  AddGroup(p, "/reviews");
  AddRule(p, proto::UrlRule::GLOB, "/p/*/reviews", "/reviews");
  AddRule(p, proto::UrlRule::GLOB, "/shop/**", "/c/*");
  const PageMatcher matcher(Validated(p));
  EXPECT_EQ(GroupOf(matcher, p, "/P/12/Reviews/?page=2"), "/reviews");
  EXPECT_EQ(GroupOf(matcher, p, "/p/12/x/reviews"), "<unlisted>");
  EXPECT_EQ(GroupOf(matcher, p, "/shop/a/b/c"), "/c/*");
  // No rule matches "/p/12": the template "/p/*" names a group.
  EXPECT_EQ(GroupOf(matcher, p, "/p/12"), "/p/*");
}

TEST(PageMatcher, RuleMatchIsCaseInsensitive) {
  proto::Policy p = DefaultMessage();
  p.clear_url_rules();
  AddRule(p, proto::UrlRule::PREFIX, "/SALE", "/c/*");
  const PageMatcher matcher(Validated(p));
  EXPECT_EQ(GroupOf(matcher, p, "/sale/summer"), "/c/*");
  EXPECT_EQ(GroupOf(matcher, p, "/Sale"), "/c/*");
}

TEST(PageMatcher, PrefixRuleComparesWholePrefix) {
  proto::Policy p = DefaultMessage();
  p.clear_url_rules();
  AddRule(p, proto::UrlRule::PREFIX, "/help/", "/help/*");
  const PageMatcher matcher(Validated(p));
  EXPECT_EQ(GroupOf(matcher, p, "/help/x"), "/help/*");
  // "/help" normalizes without a trailing slash, so "/help/" does not match.
  EXPECT_EQ(GroupOf(matcher, p, "/help"), "<unlisted>");
  EXPECT_EQ(GroupOf(matcher, p, "/hel"), "<unlisted>");
}

TEST(PageMatcher, PolicyWithNoGroupsClassifiesEverythingUnlisted) {
  proto::Policy p = DefaultMessage();
  p.clear_url_rules();
  p.clear_groups();
  p.clear_path_rules();
  const PageMatcher matcher(Validated(p));
  EXPECT_EQ(matcher.Classify("/").group, kUnlistedGroup);
  EXPECT_EQ(matcher.Classify("/p/1").group, kUnlistedGroup);
  EXPECT_EQ(matcher.GroupByPattern("/"), kUnlistedGroup);
}

// --- Equivalence with the reference ------------------------------------------
//
// The compiled matcher against the reference on the default policy and on
// random rule sets (prefixes, globs and templates in random order, some of
// them odd: uppercase, without a leading slash, with a trailing slash, over
// 256 bytes, naming no group), over URLs built from the rules' own pieces
// plus noise. Group and page hash must be identical for every URL.

std::string Esc(std::string_view s) {
  return absl::CEscape(absl::string_view(s.data(), s.size()));
}

class UrlGen {
 public:
  explicit UrlGen(uint64_t seed) : rng_(seed) {}

  size_t Below(size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }
  bool OneIn(size_t n) { return Below(n) == 0; }

  std::string Segment() {
    static const char* const kWords[] = {
        "help", "returns", "p", "c", "cart", "checkout", "account", "search",
        "faq", "blog", "product", "products", "category", "x", "a", "ab",
        "abc", "b1", "b2", "2fa", "mp3", "a1b2", "sts-69", "123", "4711", "0",
        "99", "sku-12345", "deadbeefcafe0a1b", "deadbeefcafebabe",
        "550e8400-e29b-41d4-a716-446655440000", "model-x100", "reviews",
        "comments", "index.html", "c.html", "Help", "CART", "\xc3\x84pfel",
        "%2f", "a%20b", "shop", "de", "eu", "login", "contact", "shipping",
        "p1", "c2", "12", "2023", "05", "hello-world", "a.b", "-", "~u"};
    switch (Below(8)) {
      case 0:
        return std::to_string(Below(1000000));
      case 1: {
        std::string s;
        for (size_t n = 1 + Below(6); n > 0; --n) {
          s.push_back("abcdef0123456789-xyz"[Below(20)]);
        }
        return s;
      }
      default:
        return kWords[Below(sizeof(kWords) / sizeof(kWords[0]))];
    }
  }

  std::string Path(size_t max_segments) {
    std::string s;
    for (size_t n = Below(max_segments + 1); n > 0; --n) {
      s += "/" + Segment();
    }
    return s.empty() ? "/" : s;
  }

  // A random URL rule's match.
  std::string PrefixMatch() {
    if (OneIn(30)) return "/";
    std::string m = Path(3);
    if (OneIn(3)) m = m.substr(0, 1 + Below(m.size()));  // A string prefix.
    if (OneIn(8)) m += "/";
    if (OneIn(10)) m = Upper(m);
    if (OneIn(20)) m = m.substr(1);  // No leading slash: never matches.
    if (OneIn(40)) m += "?x";        // Never matches either.
    if (OneIn(60)) m = "/" + std::string(300, 'a');  // Over 256 bytes.
    return m;
  }

  std::string GlobPattern() {
    switch (Below(24)) {
      case 0: return "/";
      case 1: return "**";
      case 2: return "/**";
      case 3: return "/*";
      case 4: return "*";
      case 5: return "/**/*";
      case 6: return Path(2);  // No star: an exact path.
      default: break;
    }
    std::string m;
    for (size_t n = 1 + Below(4); n > 0; --n) {
      m += "/";
      switch (Below(10)) {
        case 0: case 1: case 2: m += "*"; break;
        case 3: m += "**"; break;
        case 4: m += OneIn(2) ? "***" : "**" + Segment(); break;
        case 5: m += Segment() + "*"; break;
        case 6: m += "*" + Segment(); break;
        case 7: {
          const std::string seg = Segment();
          const size_t cut = Below(seg.size() + 1);
          m += seg.substr(0, cut) + "*" + seg.substr(cut);
          break;
        }
        default: m += Segment(); break;
      }
    }
    if (OneIn(10)) m += "/";
    if (OneIn(10)) m = Upper(m);
    if (OneIn(30)) m = m.substr(1);
    if (OneIn(60)) m = "/" + std::string(270, 'b') + "*";
    return m;
  }

  // A group pattern shaped like an automatic template ("/blog/*/comments").
  std::string TemplatePattern() {
    std::string m;
    for (size_t n = Below(4); n > 0; --n) {
      m += "/";
      m += OneIn(3) ? "*" : Lower(Segment());
    }
    return m.empty() ? "/" : m;
  }

  // A URL built from `pieces` (rule matches and group patterns) plus noise.
  std::string Url(const std::vector<std::string>& pieces) {
    if (OneIn(200)) return "";
    std::string path;
    switch (Below(4)) {
      case 0: path = Path(4); break;
      default: path = Fill(pieces[Below(pieces.size())]); break;
    }
    if (OneIn(3)) path += Path(2);  // Deeper.
    if (OneIn(5) && !path.empty()) path.resize(Below(path.size() + 1));
    if (OneIn(6)) path = Upper(path);
    if (OneIn(8)) path = Insert(path, "/");
    if (OneIn(8)) path += "/";
    if (OneIn(10)) path = Insert(path, "//");
    if (OneIn(15)) path = Insert(path, std::string(1, OddByte()));
    if (OneIn(30)) path = Insert(path, "://");
    if (OneIn(40)) {
      const std::string seg = "/" + Segment();
      while (path.size() < 300 + Below(3000)) path += seg;
    }
    std::string url;
    switch (Below(12)) {
      case 0: url = "https://shop.example.com"; break;
      case 1: url = "HTTP://Shop.Example:8080"; break;
      case 2: url = "http://user:pw@shop.example"; break;
      case 3: url = "//cdn.example"; break;
      case 4: url = "shop.example"; break;
      case 5: url = "https://shop.example/?a=b"; break;
      case 6: url = "a:b"; break;
      default: break;
    }
    if (OneIn(10) && !path.empty() && path[0] == '/') path = path.substr(1);
    url += path;
    if (OneIn(4)) url += "?q=" + Segment();
    if (OneIn(10)) url += "?to=https://evil.example/x/y";
    if (OneIn(8)) url += "#" + Segment();
    if (OneIn(30)) url += "#frag?x=/a";
    if (OneIn(50)) url = std::string(1, "?#/:"[Below(4)]) + url;
    return url;
  }

 private:
  static std::string Upper(std::string s) {
    for (char& c : s) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return s;
  }
  static std::string Lower(std::string s) { return absl::AsciiStrToLower(s); }

  char OddByte() {
    static const char kOdd[] = {'\0', '\x7f', '\x80', '\xff', '%', ':',
                                ' ',  '\t',   '\\',   '*',    '.', '@'};
    return kOdd[Below(sizeof(kOdd))];
  }

  std::string Insert(const std::string& s, const std::string& what) {
    const size_t at = Below(s.size() + 1);
    return s.substr(0, at) + what + s.substr(at);
  }

  // Replaces the stars of a pattern with segments (or nothing).
  std::string Fill(const std::string& pattern) {
    std::string out;
    for (size_t i = 0; i < pattern.size();) {
      if (pattern[i] != '*') {
        out.push_back(pattern[i++]);
        continue;
      }
      size_t run = 0;
      while (i < pattern.size() && pattern[i] == '*') ++i, ++run;
      if (OneIn(6)) continue;  // Nothing.
      out += Segment();
      if (run >= 2) {
        for (size_t n = Below(3); n > 0; --n) out += "/" + Segment();
      }
    }
    return out;
  }

  std::mt19937_64 rng_;
};

// A policy message with random rules and groups (not necessarily valid: the
// matcher is compiled from any message).
proto::Policy RandomRules(UrlGen& gen, size_t n_rules) {
  proto::Policy p;
  std::vector<std::string> groups;
  for (size_t n = 3 + gen.Below(20); n > 0; --n) {
    groups.push_back(gen.TemplatePattern());
  }
  for (size_t i = 0; i < n_rules; ++i) {
    const bool glob = gen.OneIn(3);
    std::string group;
    if (gen.OneIn(25)) {
      group = "/no/such/group";
    } else if (gen.OneIn(2) && !groups.empty()) {
      group = groups[gen.Below(groups.size())];
    } else {
      group = "/rule-group/" + std::to_string(i);
      groups.push_back(group);
    }
    AddRule(p, glob ? proto::UrlRule::GLOB : proto::UrlRule::PREFIX,
            glob ? gen.GlobPattern() : gen.PrefixMatch(), group);
  }
  std::shuffle(groups.begin(), groups.end(), std::mt19937(gen.Below(1000)));
  for (const std::string& g : groups) AddGroup(p, g);  // Duplicates too.
  return p;
}

// URL pieces: the rules' matches and the groups' patterns.
std::vector<std::string> Pieces(const proto::Policy& p) {
  std::vector<std::string> pieces;
  for (const auto& r : p.url_rules()) pieces.push_back(r.match());
  for (const auto& g : p.groups()) pieces.push_back(g.pattern());
  if (pieces.empty()) pieces.push_back("/");
  return pieces;
}

// How many URLs each way of classifying decided (so that the equivalence
// tests are known to exercise all of them).
struct Coverage {
  size_t via[4] = {0, 0, 0, 0};
};

// Checks `n_urls` generated URLs; returns the number checked.
size_t ExpectSameAsReference(const proto::Policy& policy, UrlGen& gen,
                             size_t n_urls, const std::string& what,
                             Coverage& coverage) {
  const PageMatcher matcher(policy);
  const ref::Matcher reference(policy);
  const std::vector<std::string> pieces = Pieces(policy);
  size_t failures = 0, checked = 0;
  auto check = [&](const std::string& url) {
    ++checked;
    ++coverage.via[static_cast<int>(reference.ViaOf(url))];
    const PageMatcher::Match got = matcher.Classify(url);
    const PageMatcher::Match want = reference.Classify(url);
    PathBuffer got_path, want_path;
    NormalizePath(url, got_path);
    ref::NormalizePath(url, want_path);
    PathBuffer got_tmpl, want_tmpl;
    TemplatePath(want_path.view(), got_tmpl);
    ref::TemplatePath(want_path.view(), want_tmpl);
    if (got.group != want.group || got.page_hash != want.page_hash ||
        got_path.view() != want_path.view() ||
        got_tmpl.view() != want_tmpl.view()) {
      if (++failures <= 10) {
        ADD_FAILURE() << what << ": url \"" << Esc(url)
                      << "\": group " << got.group << " vs " << want.group
                      << ", hash " << got.page_hash << " vs "
                      << want.page_hash << ", path \""
                      << Esc(got_path.view()) << "\" vs \""
                      << Esc(want_path.view()) << "\"";
      }
    }
  };
  for (const std::string& piece : pieces) check(piece);
  for (size_t i = 0; i < n_urls; ++i) check(gen.Url(pieces));
  EXPECT_EQ(failures, 0u) << what;
  return checked;
}

TEST(PageMatcherEquivalence, DefaultPolicy) {
  UrlGen gen(11);
  Coverage c;
  size_t checked = ExpectSameAsReference(DefaultMessage(), gen, 100000,
                                         "default policy", c);
  // The default policy's rules claim every page its groups' templates
  // would; with groups a trainer adds, templates decide too.
  proto::Policy trained = DefaultMessage();
  for (const char* g : {"/blog/*", "/blog/*/comments", "/*", "/*/*",
                        "/x/*", "/about-us", "/order/*", "/de/c/*"}) {
    AddGroup(trained, g);
  }
  checked += ExpectSameAsReference(Validated(trained), gen, 50000,
                                   "default policy with template groups", c);
  EXPECT_GE(checked, 150000u);
  // Every way a URL finds its group, many times.
  EXPECT_GE(c.via[0], checked / 10);    // Prefix rules.
  EXPECT_GE(c.via[1], checked / 1000);  // The root glob.
  EXPECT_GE(c.via[2], checked / 200);   // Templates.
  EXPECT_GE(c.via[3], checked / 10);    // Unlisted.
  std::printf("prefix rule %zu, glob rule %zu, template %zu, unlisted %zu\n",
              c.via[0], c.via[1], c.via[2], c.via[3]);
}

TEST(PageMatcherEquivalence, RandomRuleSets) {
  UrlGen gen(20261202);
  size_t checked = 0;
  Coverage c;
  for (int set = 0; set < 24; ++set) {
    const size_t n_rules = set < 4 ? set : 1 + gen.Below(set < 20 ? 40 : 300);
    const proto::Policy p = RandomRules(gen, n_rules);
    checked += ExpectSameAsReference(p, gen, 10000,
                                     "rule set " + std::to_string(set), c);
  }
  EXPECT_GE(checked, 240000u);
  EXPECT_GE(c.via[0], checked / 10);
  EXPECT_GE(c.via[1], checked / 20);
  EXPECT_GE(c.via[2], checked / 100);
  EXPECT_GE(c.via[3], checked / 10);
  std::printf("prefix rule %zu, glob rule %zu, template %zu, unlisted %zu\n",
              c.via[0], c.via[1], c.via[2], c.via[3]);
}

TEST(PageMatcherEquivalence, ClassifyComputesTheReferenceTemplate) {
  // With one group per template the reference computes (and no rules), a
  // URL's group names its template exactly: Classify's own template code
  // must produce the same bytes for every URL.
  UrlGen gen(99);
  std::vector<std::string> urls;
  for (int i = 0; i < 100; ++i) urls.push_back(gen.Path(6));
  const std::vector<std::string> pieces = Pieces(DefaultMessage());
  while (urls.size() < 60000) urls.push_back(gen.Url(pieces));
  proto::Policy p;
  absl::flat_hash_map<std::string, int> index;
  std::vector<std::string> templates;
  for (const std::string& url : urls) {
    PathBuffer path, tmpl;
    ref::NormalizePath(url, path);
    ref::TemplatePath(path.view(), tmpl);
    templates.emplace_back(tmpl.view());
    if (index.emplace(templates.back(), p.groups_size()).second) {
      AddGroup(p, templates.back());
    }
  }
  ASSERT_GT(p.groups_size(), 1000);
  const PageMatcher matcher(p);
  size_t failures = 0;
  for (size_t i = 0; i < urls.size(); ++i) {
    const int want = index.at(templates[i]);
    const uint16_t got = matcher.Classify(urls[i]).group;
    if (got != want && ++failures <= 10) {
      ADD_FAILURE() << "\"" << Esc(urls[i]) << "\": template \""
                    << Esc(templates[i]) << "\", got group " << got;
    }
  }
  EXPECT_EQ(failures, 0u);
}

TEST(PageMatcherEquivalence, GlobsAgainstReference) {
  // The glob matcher alone, on patterns and texts built from the same
  // pieces (texts not normalized: any bytes, any length).
  UrlGen gen(7);
  size_t failures = 0;
  for (int i = 0; i < 50000; ++i) {
    const std::string pattern = gen.GlobPattern();
    const std::string text = gen.OneIn(2) ? gen.Url({pattern}) : gen.Path(4);
    if (GlobMatch(pattern, text) != ref::GlobMatch(pattern, text) &&
        ++failures <= 10) {
      ADD_FAILURE() << "\"" << Esc(pattern) << "\" on \""
                    << Esc(text) << "\"";
    }
  }
  EXPECT_EQ(failures, 0u);
}

}  // namespace
}  // namespace beckon::internal
