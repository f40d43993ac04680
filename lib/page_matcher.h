// Maps URLs to page groups, compiled once per policy.
//
// A URL is reduced to its normalized path (scheme, host, query and fragment
// dropped; ASCII lowercased; empty segments and a trailing slash removed;
// at most kMaxPathBytes). The policy's URL rules are tried in order (first
// match wins); if none matches, the path's automatic template (segments that
// look like ids or numbers become "*") is looked up among the groups.
//
// The work is proportional to the URL's length (the scheme and query are
// searched for before the path is cut to kMaxPathBytes), so the engine
// classifies an event's URL and referrer before it locks the visitor's
// shard, never under the lock, and caps their length first
// (Engine::Options::max_url_bytes, max_referrer_bytes).
//
// Thread safety: immutable after construction; Classify and IsSearchEngine
// may run concurrently.
#ifndef BECKON_LIB_PAGE_MATCHER_H_
#define BECKON_LIB_PAGE_MATCHER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "beckon/policy.pb.h"

namespace beckon::internal {

inline constexpr uint16_t kUnlistedGroup = 0xFFFF;
inline constexpr size_t kMaxPathBytes = 256;

// A normalized path in a fixed buffer: no allocation.
struct PathBuffer {
  char data[kMaxPathBytes];
  size_t size = 0;
  std::string_view view() const { return std::string_view(data, size); }
};

// Writes the normalized path of `url` into `out`.
void NormalizePath(std::string_view url, PathBuffer& out);

// Writes the automatic template of a normalized path into `out`.
void TemplatePath(std::string_view path, PathBuffer& out);

// Returns the automatic template of `url` ("/p/123?x" -> "/p/*").
std::string TemplateOf(std::string_view url);

// Returns the host of an absolute URL ("https://www.x.com/a" ->
// "www.x.com"), lowercased by the caller if needed; "" if none.
std::string_view HostOf(std::string_view url);

// Returns true if a `*` matches within one segment and `**` across
// segments of `text`.
bool GlobMatch(std::string_view pattern, std::string_view text);

// Tests only: if set, called with the URL (or referrer) at the start of
// every PageMatcher::Classify and IsSearchEngine, on the calling thread, so
// a test can tell where classification runs (outside the shard lock). Not
// for production use; nullptr unsets it.
using ClassifyHookForTest = void (*)(std::string_view url);
void SetClassifyHookForTest(ClassifyHookForTest hook);

class PageMatcher {
 public:
  explicit PageMatcher(const proto::Policy& policy);

  struct Match {
    uint16_t group;      // Index into policy.groups, or kUnlistedGroup.
    uint32_t page_hash;  // Identity of the normalized path (for loops).
  };

  // Returns the group of `url` and the identity of its page.
  Match Classify(std::string_view url) const;

  // Returns the group whose pattern is `pattern`, or kUnlistedGroup.
  uint16_t GroupByPattern(std::string_view pattern) const;

  // Returns true if `referrer`'s host is one of the policy's search engines.
  bool IsSearchEngine(std::string_view referrer) const;

 private:
  struct Rule {
    bool glob;
    std::string match;  // Lowercased.
    uint16_t group;
  };
  std::vector<Rule> rules_;
  absl::flat_hash_map<std::string, uint16_t> by_pattern_;
  std::vector<std::string> search_hosts_;
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_PAGE_MATCHER_H_
