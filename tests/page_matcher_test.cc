// Tests for lib/page_matcher: URL normalization, automatic templates, hosts,
// globs, and classification of URLs into a policy's page groups.
#include "lib/page_matcher.h"
#include "lib/siphash.h"

#include <string>
#include <string_view>

#include "beckon/policy.h"
#include "beckon/policy.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

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
  return kPolicy->message();
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
  absl::StatusOr<Policy> p = Policy::FromProto(message);
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

}  // namespace
}  // namespace beckon::internal
