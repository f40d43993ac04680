// Maps URLs to page groups, compiled once per policy.
//
// A URL is reduced to its normalized path (scheme, host, query and fragment
// dropped; ASCII lowercased; empty segments and a trailing slash removed;
// at most kMaxPathBytes). The policy's URL rules are tried in order (first
// match wins); if none matches, the path's automatic template (segments that
// look like ids or numbers become "*") is looked up among the groups.
//
// The rules are compiled at construction (see Node below), so Classify
// reads the path once for the rules, whatever their number, and allocates
// nothing; the page hash is SipHash-2-4 of the normalized path, the value
// snapshots and the Redis store keep (tests pin it).
//
// The work is proportional to the URL's length (the scheme and host are
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
  // The URL rules, compiled into a radix tree of the bytes a path must start
  // with: a PREFIX rule's match, a star-free GLOB's whole pattern, or the
  // literal part before a GLOB's first star. Classify walks the normalized
  // path down the tree once; the rule that applies is the lowest-numbered
  // one among those found on the way (PREFIX rules match where they end,
  // star-free GLOBs where the path ends, other GLOBs when the rest of the
  // path matches their stars), which is the first rule in policy order that
  // matches: the same answer as trying the rules in turn.
  static constexpr uint32_t kNoRule = 0xFFFFFFFF;
  struct Node {
    uint32_t label;        // Offset in arena_ of the bytes this node adds.
    uint16_t label_len;    // Their number (0 only at the root).
    uint16_t depth;        // Bytes from the root to the end of this node.
    uint32_t prefix_rule;  // Lowest PREFIX rule ending here, or kNoRule.
    uint32_t exact_rule;   // Lowest star-free GLOB ending here, or kNoRule.
    uint32_t subtree_min;  // Lowest rule here or below, or kNoRule.
    uint32_t globs;        // globs_[globs, globs_end): GLOBs with stars
    uint32_t globs_end;    // whose literal start ends here, by rule order.
    uint32_t children;     // nodes_[children, +n_children): the children,
    uint16_t n_children;   // by first byte (keys_ holds those bytes).
    uint16_t dense;        // 1 + a 256-entry child table in dense_, or 0.
  };
  struct Glob {
    enum Kind : uint8_t { kOneSegment, kAnyPath, kGeneral };
    uint32_t rule;
    Kind kind;            // The stars: "*", "**" (or more), or anything.
    uint16_t suffix_len;  // The literal end after the last star.
    uint32_t suffix;      // Offset in arena_.
    uint32_t middle;      // Offset in arena_ of the part from the first
    uint32_t middle_len;  // star to the last one, both included.
  };

  // Returns the first rule in policy order that matches the normalized
  // path `p` (n bytes), or kNoRule.
  uint32_t FindRule(const char* p, size_t n) const;
  bool GlobRestMatches(const Glob& g, const char* p, size_t n,
                       size_t literal) const;
  // Returns the group whose pattern is the template `t` (n bytes, then 8
  // zero bytes), or kUnlistedGroup: GroupByPattern, without std::string.
  uint16_t TemplateGroup(const char* t, size_t n) const;

  std::vector<Node> nodes_;            // nodes_[0] is the root.
  std::vector<unsigned char> keys_;    // keys_[i]: first label byte of node i.
  std::vector<uint16_t> dense_;        // Child tables for wide nodes.
  std::vector<Glob> globs_;
  std::string arena_;                  // Labels, glob suffixes and middles.
  std::vector<uint16_t> rule_groups_;  // The group of each rule.
  struct TemplateSlot {
    uint32_t hash;   // Low bits of the pattern's TemplateHash.
    uint16_t group;
    uint16_t len;    // 0 for an empty slot.
    uint32_t key;    // Offset of the pattern in template_keys_.
  };
  std::vector<TemplateSlot> templates_;  // A power of two of slots.
  std::string template_keys_;  // Patterns, each zero-padded to 8n bytes.
  absl::flat_hash_map<std::string, uint16_t> by_pattern_;
  std::vector<std::string> search_hosts_;
};

}  // namespace beckon::internal

#endif  // BECKON_LIB_PAGE_MATCHER_H_
