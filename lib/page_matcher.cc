#include "page_matcher.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/strings/ascii.h"
#include "string_views.h"

namespace beckon::internal {
namespace {

std::atomic<ClassifyHookForTest> classify_hook{nullptr};

void CallClassifyHook(std::string_view url) {
  if (ClassifyHookForTest hook = classify_hook.load(std::memory_order_acquire)) {
    hook(url);
  }
}

// Pages are identified by a 32-bit hash of their normalized path.
constexpr uint64_t kPageKey0 = 0x706167652d6b6579ULL;
constexpr uint64_t kPageKey1 = 0x6265636b6f6e2d70ULL;

// Byte classes for NormalizePath: 0 an ordinary byte, 1 '/', 2 '?' or '#'
// (the path ends); ASCII lowercasing; and for templates, bit 0 for a digit
// and bit 1 for a hex digit (lowercase) or '-'.
struct ByteTables {
  unsigned char cls[256];
  unsigned char lower[256];
  unsigned char id[256];
  constexpr ByteTables() : cls(), lower(), id() {
    for (int c = 0; c < 256; ++c) {
      cls[c] = c == '/' ? 1 : (c == '?' || c == '#') ? 2 : 0;
      lower[c] = static_cast<unsigned char>(
          c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      const bool digit = c >= '0' && c <= '9';
      const bool hexish = digit || (c >= 'a' && c <= 'f') || c == '-';
      id[c] = static_cast<unsigned char>((digit ? 1 : 0) | (hexish ? 2 : 0));
    }
  }
};
constexpr ByteTables kBytes;

#if defined(__SSE2__)
// 16 bytes at a time where SSE2 is (every x86-64), one at a time elsewhere.
#define BECKON_PAGE_MATCHER_SSE2 1
#else
#define BECKON_PAGE_MATCHER_SSE2 0
#endif

#if BECKON_PAGE_MATCHER_SSE2
inline __m128i Load16(const unsigned char* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
inline unsigned Equal(__m128i w, char c) {
  return static_cast<unsigned>(
      _mm_movemask_epi8(_mm_cmpeq_epi8(w, _mm_set1_epi8(c))));
}
inline unsigned Ctz(unsigned m) {
  return static_cast<unsigned>(__builtin_ctz(m));
}
#endif

// The first index in [i, n) of a '/', '?' or '#' in `s`, or n.
size_t SkipToSpecial(const unsigned char* s, size_t i, size_t n) {
#if BECKON_PAGE_MATCHER_SSE2
  for (; i + 16 <= n; i += 16) {
    const __m128i w = Load16(s + i);
    const unsigned m = Equal(w, '/') | Equal(w, '?') | Equal(w, '#');
    if (m != 0) return i + Ctz(m);
  }
#endif
  while (i < n && kBytes.cls[s[i]] == 0) ++i;
  return i;
}

// Writes the normalized path of `url` to out[0, kMaxPathBytes) and returns
// its length. The original did this in four scans (for "://", for the
// first of "/?#" twice, and to copy); this is one, with the same result:
// a URL is absolute when its first '/', '?' or '#' is a '/' that follows
// ':' and precedes '/' (that is "://" with nothing from "/?#" before it).
size_t NormalizeInto(std::string_view url, char* out) {
  const auto* s = reinterpret_cast<const unsigned char*>(url.data());
  const size_t n = url.size();
  size_t i = SkipToSpecial(s, 0, n);
  if (i > 0 && i + 1 < n && s[i] == '/' && s[i - 1] == ':' &&
      s[i + 1] == '/') {
    i = SkipToSpecial(s, i + 2, n);  // The host; the path starts at i.
  } else {
    i = 0;
  }
  size_t k = 0;
  out[k++] = '/';
  unsigned after_slash = 1;  // out[k - 1] == '/'
  if (i < n && s[i] == '/') ++i;  // Dropped anyway: a '/' after a '/'.
  bool ended = false;        // At a '?' or '#'.
  // One byte: written always, and kept (the next one written after it)
  // unless it is a '/' after a '/'; no branch but for the end.
  auto byte = [&](unsigned char c) {
    const unsigned slash = c == '/';
    out[k] = static_cast<char>(kBytes.lower[c]);
    k += 1 - (slash & after_slash);
    after_slash = slash;
  };
#if BECKON_PAGE_MATCHER_SSE2
  // The last bytes (fewer than 16) are copied to a zeroed block first, so
  // that no load reads past the URL.
  alignas(16) unsigned char last[16];
  while (i < n && k + 16 <= kMaxPathBytes) {
    const size_t len = n - i < 16 ? n - i : 16;
    const unsigned char* src = s + i;
    if (len < 16) {
      _mm_store_si128(reinterpret_cast<__m128i*>(last), _mm_setzero_si128());
      std::memcpy(last, src, len);
      src = last;
    }
    const __m128i w = Load16(src);
    const unsigned slashes = Equal(w, '/');
    const unsigned ends = Equal(w, '?') | Equal(w, '#') | (1u << len);
    const unsigned keep = Ctz(ends);  // Bytes of the path.
    // A '/' after a '/' (the one before these bytes included) is dropped:
    // rare, so then these bytes go one at a time.
    const unsigned doubled =
        slashes & ((slashes << 1) | after_slash) & ((1u << keep) - 1);
    if (doubled != 0) {
      for (const size_t stop = i + keep; i < stop; ++i) byte(s[i]);
      if (keep < 16) {
        ended = true;
        break;
      }
      continue;
    }
    // 'A'..'Z' get 0x20: (c - 'A') < 26 unsigned, as a signed comparison.
    const __m128i shifted = _mm_sub_epi8(w, _mm_set1_epi8('A' + 128 - 256));
    const __m128i upper =
        _mm_cmplt_epi8(shifted, _mm_set1_epi8(static_cast<char>(-128 + 26)));
    const __m128i lower =
        _mm_or_si128(w, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k), lower);
    k += keep;
    if (keep < 16) {
      ended = true;
      break;
    }
    i += 16;
    after_slash = slashes >> 15;
  }
#endif
  for (; !ended && i < n && k < kMaxPathBytes; ++i) {
    const unsigned char c = s[i];
    if (kBytes.cls[c] == 2) break;
    byte(c);
  }
  if (k > 1 && out[k - 1] == '/') --k;
  return k;
}

// Writes the automatic template of `path` (n bytes) to `out` and returns
// its length (at most n, or 1 for an empty path). Each segment (after a
// '/', or after whatever byte starts it) is copied, or replaced by '*' if
// it is an id: all digits, a run of 3+ digits, or 16+ hex digits and
// dashes with a digit among them.
size_t TemplateBytewise(const char* path, size_t n, char* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(path);
  size_t k = 0, i = 0;
  while (i < n) {
    out[k++] = '/';
    ++i;
    const size_t start = k, begin = i;
    unsigned digits = 0, hexish = 0, run = 0, run3 = 0;
    for (; i < n && p[i] != '/'; ++i) {
      const unsigned c = p[i];
      const unsigned id = kBytes.id[c];
      const unsigned digit = id & 1;
      digits += digit;
      hexish += id >> 1;
      run = (run + 1) & (0u - digit);  // Digits in a row.
      run3 |= run >= 3;
      out[k++] = static_cast<char>(c);
    }
    const size_t len = i - begin;
    if (digits != 0 &&
        (digits == len || run3 != 0 || (len >= 16 && hexish == len))) {
      k = start;
      out[k++] = '*';
    }
  }
  if (k == 0) out[k++] = '/';
  return k;
}

#if BECKON_PAGE_MATCHER_SSE2
// The same with bit masks of the path's bytes (digits, hex digits and
// dashes, slashes), so that each segment is judged by a few mask tests
// instead of byte by byte. `path` has n <= kMaxPathBytes bytes and then 16
// zero bytes; `out` has room for n + 16 bytes.
constexpr size_t kMaskWords = kMaxPathBytes / 64 + 2;  // Two more, zero.

// Whether the bits [a, b) of `m` are all set (`all`) or any is set.
inline bool AllBits(const uint64_t* m, size_t a, size_t b) {
  for (; a < b;) {
    const size_t off = a & 63, take = std::min<size_t>(64 - off, b - a);
    const uint64_t want = take == 64 ? ~uint64_t{0} : ((uint64_t{1} << take) - 1);
    if (((m[a >> 6] >> off) & want) != want) return false;
    a += take;
  }
  return true;
}
inline bool AnyBit(const uint64_t* m, size_t a, size_t b) {
  for (; a < b;) {
    const size_t off = a & 63, take = std::min<size_t>(64 - off, b - a);
    const uint64_t want = take == 64 ? ~uint64_t{0} : ((uint64_t{1} << take) - 1);
    if (((m[a >> 6] >> off) & want) != 0) return true;
    a += take;
  }
  return false;
}

size_t TemplateMasked(const char* path, size_t n, char* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(path);
  uint64_t digit[kMaskWords] = {}, hexish[kMaskWords] = {},
           slash[kMaskWords] = {}, run3[kMaskWords] = {};
  for (size_t c = 0; c * 16 < n; ++c) {
    const __m128i w = Load16(p + c * 16);
    // (x - lo) < width, unsigned, as a signed comparison.
    auto in = [w](char lo, char width) {
      const __m128i shifted =
          _mm_sub_epi8(w, _mm_set1_epi8(static_cast<char>(lo ^ 0x80)));
      return _mm_cmplt_epi8(shifted,
                            _mm_set1_epi8(static_cast<char>(-128 + width)));
    };
    const __m128i d = in('0', 10);
    const __m128i h = _mm_or_si128(
        _mm_or_si128(d, in('a', 6)), _mm_cmpeq_epi8(w, _mm_set1_epi8('-')));
    const unsigned shift = 16 * (c & 3);
    digit[c >> 2] |= uint64_t{static_cast<uint16_t>(_mm_movemask_epi8(d))}
                     << shift;
    hexish[c >> 2] |= uint64_t{static_cast<uint16_t>(_mm_movemask_epi8(h))}
                      << shift;
    slash[c >> 2] |= uint64_t{Equal(w, '/')} << shift;
  }
  // run3 bit j: bytes j, j+1 and j+2 are digits (a run cannot cross a '/',
  // and the zeros after the path are no digits).
  const size_t words = n / 64 + 1;  // Those that hold the path's bits.
  for (size_t i = 0; i < words; ++i) {
    const uint64_t d1 = (digit[i] >> 1) | (digit[i + 1] << 63);
    const uint64_t d2 = (digit[i] >> 2) | (digit[i + 1] << 62);
    run3[i] = digit[i] & d1 & d2;
  }
  size_t k = 0, i = 0;
  while (i < n) {
    out[k++] = '/';
    const size_t a = i + 1;
    // The segment is [a, b): up to the next '/' or the end.
    size_t b = n;
    if (a < n) {
      size_t word = a >> 6;
      uint64_t bits = slash[word] & (~uint64_t{0} << (a & 63));
      while (bits == 0 && ++word < words) bits = slash[word];
      if (bits != 0) {
        b = std::min(n, word * 64 + static_cast<size_t>(__builtin_ctzll(bits)));
      }
    } else {
      b = a;
    }
    const size_t len = b - a;
    if (AnyBit(digit, a, b) &&
        (AllBits(digit, a, b) || AnyBit(run3, a, b) ||
         (len >= 16 && AllBits(hexish, a, b)))) {
      out[k++] = '*';
    } else {
      for (size_t off = 0; off < len; off += 16) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k + off),
                         Load16(p + a + off));
      }
      k += len;
    }
    i = b;
  }
  if (k == 0) out[k++] = '/';
  return k;
}
#endif

// A hash of the bytes at `p` (n of them, then zeros to the next multiple
// of 8) for the template table; not stored anywhere.
inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint64_t TemplateHash(const char* p, size_t n) {
  uint64_t h = (n + 1) * 0x9E3779B97F4A7C15ULL;
  for (size_t i = 0; i < n; i += 8) {
    h = (h ^ Load64(p + i)) * 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 31;
  }
  return h ^ (h >> 29);
}

// SipHash-2-4 (as lib/siphash.cc, which must give the same value: snapshots
// and the Redis store keep page hashes) with the page key, specialized for
// a normalized path that is followed by at least 8 zero bytes, so that the
// last block is one load.
inline uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

inline uint64_t Load64Le(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#elif !defined(__BYTE_ORDER__)
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
#endif
  return v;
}

uint32_t PageHash(const char* p, size_t n) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ kPageKey0;
  uint64_t v1 = 0x646f72616e646f6dULL ^ kPageKey1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ kPageKey0;
  uint64_t v3 = 0x7465646279746573ULL ^ kPageKey1;
  auto round = [&] {
    v0 += v1; v1 = Rotl(v1, 13); v1 ^= v0; v0 = Rotl(v0, 32);
    v2 += v3; v3 = Rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = Rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = Rotl(v1, 17); v1 ^= v2; v2 = Rotl(v2, 32);
  };
  const size_t full = n & ~size_t{7};
  for (size_t i = 0; i < full; i += 8) {
    const uint64_t m = Load64Le(p + i);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  // The tail's bytes, then zeros (the caller's padding), then the length.
  const uint64_t b = (static_cast<uint64_t>(n) << 56) | Load64Le(p + full);
  v3 ^= b;
  round();
  round();
  v0 ^= b;
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return static_cast<uint32_t>(v0 ^ v1 ^ v2 ^ v3);
}

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
  out.size = NormalizeInto(url, out.data);
}

void TemplatePath(std::string_view path, PathBuffer& out) {
  // Byte by byte (Classify uses TemplateMasked on its padded buffer).
  out.size = TemplateBytewise(path.data(), path.size(), out.data);
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
  // The template table: by_pattern_'s patterns that a template can equal
  // (non-empty, at most kMaxPathBytes); open addressing, at most half full.
  size_t slots = 2;
  while (slots < 2 * by_pattern_.size()) slots *= 2;
  templates_.assign(slots, TemplateSlot{});
  for (const auto& [pattern, group] : by_pattern_) {
    if (pattern.empty() || pattern.size() > kMaxPathBytes) continue;
    const uint32_t key = static_cast<uint32_t>(template_keys_.size());
    template_keys_.append(pattern.data(), pattern.size());
    template_keys_.append(8 - pattern.size() % 8, '\0');  // Zero padding.
    const uint64_t h =
        TemplateHash(template_keys_.data() + key, pattern.size());
    size_t at = h & (slots - 1);
    while (templates_[at].len != 0) at = (at + 1) & (slots - 1);
    templates_[at] = TemplateSlot{static_cast<uint32_t>(h), group,
                                  static_cast<uint16_t>(pattern.size()), key};
  }
  for (const auto& h : policy.session().search_engine_hosts()) {
    search_hosts_.push_back(absl::AsciiStrToLower(h));
  }

  // An uncompressed byte trie of the rules' literal starts first.
  struct BuildNode {
    std::map<unsigned char, uint32_t> kids;
    uint32_t prefix_rule = kNoRule;
    uint32_t exact_rule = kNoRule;
    std::vector<uint32_t> globs;  // Into `build_globs`, by rule order.
  };
  std::vector<BuildNode> trie(1);
  auto insert = [&trie](std::string_view key) {
    uint32_t at = 0;
    for (const char ch : key) {
      const unsigned char c = static_cast<unsigned char>(ch);
      const auto it = trie[at].kids.find(c);
      if (it != trie[at].kids.end()) {
        at = it->second;
      } else {
        const uint32_t kid = static_cast<uint32_t>(trie.size());
        trie.emplace_back();
        trie[at].kids.emplace(c, kid);
        at = kid;
      }
    }
    return at;
  };
  struct BuildGlob {
    uint32_t rule;
    Glob::Kind kind;
    std::string suffix, middle;
  };
  std::vector<BuildGlob> build_globs;

  const uint32_t n_rules = static_cast<uint32_t>(policy.url_rules_size());
  rule_groups_.reserve(n_rules);
  for (uint32_t i = 0; i < n_rules; ++i) {
    const proto::UrlRule& r = policy.url_rules(static_cast<int>(i));
    rule_groups_.push_back(GroupByPattern(r.group()));
    const std::string m = absl::AsciiStrToLower(r.match());
    // A normalized path has at most kMaxPathBytes bytes, so a rule that
    // needs more can never match and is left out.
    const size_t star = r.kind() == proto::UrlRule::GLOB
                            ? m.find('*')
                            : std::string::npos;
    if (star == std::string::npos) {
      if (m.size() > kMaxPathBytes) continue;
      BuildNode& node = trie[insert(m)];
      uint32_t& slot = r.kind() == proto::UrlRule::GLOB ? node.exact_rule
                                                        : node.prefix_rule;
      slot = std::min(slot, i);
      continue;
    }
    // A glob with stars: literal start, middle (first to last star), and
    // literal end, which a path must end with.
    const size_t last = m.rfind('*');
    const std::string_view literal(m.data(), star);
    std::string middle = m.substr(star, last + 1 - star);
    std::string suffix = m.substr(last + 1);
    if (literal.size() + suffix.size() > kMaxPathBytes) continue;
    const bool all_stars =
        middle.find_first_not_of('*') == std::string::npos;
    const uint32_t at = insert(literal);
    if (all_stars && middle.size() >= 2 && suffix.empty()) {
      // "start**" matches every path that begins with "start".
      trie[at].prefix_rule = std::min(trie[at].prefix_rule, i);
      continue;
    }
    const Glob::Kind kind = !all_stars          ? Glob::kGeneral
                            : middle.size() == 1 ? Glob::kOneSegment
                                                 : Glob::kAnyPath;
    trie[at].globs.push_back(static_cast<uint32_t>(build_globs.size()));
    build_globs.push_back(
        BuildGlob{i, kind, std::move(suffix), std::move(middle)});
  }

  // Then the radix tree, breadth first so that siblings are adjacent: a
  // trie node is kept if it is the root, ends a rule's literal start, or
  // does not have exactly one child; chains between kept nodes become
  // labels.
  auto kept = [&trie](uint32_t t) {
    return t == 0 || trie[t].kids.size() != 1 ||
           trie[t].prefix_rule != kNoRule || trie[t].exact_rule != kNoRule ||
           !trie[t].globs.empty();
  };
  std::vector<uint32_t> trie_of;  // The trie node of each radix node.
  auto add_node = [&](uint32_t t, std::string_view label, size_t depth) {
    Node node{};
    node.label = static_cast<uint32_t>(arena_.size());
    node.label_len = static_cast<uint16_t>(label.size());
    node.depth = static_cast<uint16_t>(depth);
    node.prefix_rule = trie[t].prefix_rule;
    node.exact_rule = trie[t].exact_rule;
    arena_.append(label.data(), label.size());
    node.globs = static_cast<uint32_t>(globs_.size());
    for (const uint32_t g : trie[t].globs) {
      const BuildGlob& bg = build_globs[g];
      Glob glob{};
      glob.rule = bg.rule;
      glob.kind = bg.kind;
      glob.suffix_len = static_cast<uint16_t>(bg.suffix.size());
      glob.suffix = static_cast<uint32_t>(arena_.size());
      arena_ += bg.suffix;
      glob.middle = static_cast<uint32_t>(arena_.size());
      glob.middle_len = static_cast<uint32_t>(bg.middle.size());
      arena_ += bg.middle;
      globs_.push_back(glob);
    }
    node.globs_end = static_cast<uint32_t>(globs_.size());
    nodes_.push_back(node);
    keys_.push_back(label.empty() ? 0 : static_cast<unsigned char>(label[0]));
    trie_of.push_back(t);
  };
  add_node(0, {}, 0);
  for (size_t q = 0; q < nodes_.size(); ++q) {
    const uint32_t t = trie_of[q];
    const uint32_t first = static_cast<uint32_t>(nodes_.size());
    const size_t depth = nodes_[q].depth;
    for (const auto& [c, kid] : trie[t].kids) {
      std::string label(1, static_cast<char>(c));
      uint32_t at = kid;
      while (!kept(at)) {
        const auto& [c2, next] = *trie[at].kids.begin();
        label.push_back(static_cast<char>(c2));
        at = next;
      }
      add_node(at, label, depth + label.size());
    }
    Node& node = nodes_[q];
    node.children = first;
    node.n_children = static_cast<uint16_t>(nodes_.size() - first);
    // A wide node gets a table from byte to child (at most 65,535 tables;
    // beyond that the children are searched).
    if (node.n_children > 4 && dense_.size() / 256 < 0xFFFF) {
      node.dense = static_cast<uint16_t>(dense_.size() / 256 + 1);
      dense_.resize(dense_.size() + 256, 0);
      uint16_t* table = &dense_[dense_.size() - 256];
      for (uint16_t k = 0; k < node.n_children; ++k) {
        table[keys_[first + k]] = static_cast<uint16_t>(k + 1);
      }
    }
  }
  // Children come after their parents, so one backward pass finds the
  // lowest rule of every subtree.
  for (size_t q = nodes_.size(); q-- > 0;) {
    Node& node = nodes_[q];
    uint32_t low = std::min(node.prefix_rule, node.exact_rule);
    if (node.globs != node.globs_end) low = std::min(low, globs_[node.globs].rule);
    for (uint32_t k = 0; k < node.n_children; ++k) {
      low = std::min(low, nodes_[node.children + k].subtree_min);
    }
    node.subtree_min = low;
  }
}

uint16_t PageMatcher::GroupByPattern(std::string_view pattern) const {
  const auto it = by_pattern_.find(AbslView(pattern));
  return it == by_pattern_.end() ? kUnlistedGroup : it->second;
}

bool PageMatcher::GlobRestMatches(const Glob& g, const char* p, size_t n,
                                  size_t literal) const {
  // p[0, literal) is the glob's literal start; the path must end with its
  // literal end, and the stars must match what lies between.
  if (n < literal + g.suffix_len) return false;
  if (std::memcmp(p + n - g.suffix_len, arena_.data() + g.suffix,
                  g.suffix_len) != 0) {
    return false;
  }
  const size_t len = n - literal - g.suffix_len;
  switch (g.kind) {
    case Glob::kOneSegment:
      return std::memchr(p + literal, '/', len) == nullptr;
    case Glob::kAnyPath:
      return true;
    case Glob::kGeneral:
      break;
  }
  return GlobMatch(std::string_view(arena_.data() + g.middle, g.middle_len),
                   std::string_view(p + literal, len));
}

uint32_t PageMatcher::FindRule(const char* p, size_t n) const {
  // Walks down while the path goes on, keeping the lowest rule that
  // matches; a subtree whose lowest rule is not below it is not entered.
  uint32_t best = kNoRule;
  const char* const arena = arena_.data();
  for (uint32_t at = 0;;) {
    const Node& node = nodes_[at];
    if (node.subtree_min >= best) break;
    best = std::min(best, node.prefix_rule);
    if (node.depth == n) best = std::min(best, node.exact_rule);
    for (uint32_t g = node.globs; g < node.globs_end; ++g) {
      const Glob& glob = globs_[g];
      if (glob.rule >= best) break;
      if (GlobRestMatches(glob, p, n, node.depth)) {
        best = glob.rule;
        break;
      }
    }
    if (node.depth >= n) break;
    const unsigned char c = static_cast<unsigned char>(p[node.depth]);
    uint32_t child;
    if (node.dense != 0) {
      const uint16_t k = dense_[(size_t{node.dense} - 1) * 256 + c];
      if (k == 0) break;
      child = node.children + k - 1;
    } else {
      const unsigned char* keys = keys_.data() + node.children;
      uint32_t k = 0;
      while (k < node.n_children && keys[k] != c) ++k;
      if (k == node.n_children) break;
      child = node.children + k;
    }
    // The child's label (its first byte is c) must follow in the path.
    const Node& next = nodes_[child];
    if (next.depth > n) break;
    const char* label = arena + next.label;
    size_t j = node.depth + 1;
    while (j < next.depth && p[j] == *++label) ++j;
    if (j < next.depth) break;
    at = child;
  }
  return best;
}

uint16_t PageMatcher::TemplateGroup(const char* t, size_t n) const {
  const uint64_t h = TemplateHash(t, n);
  const size_t mask = templates_.size() - 1;
  for (size_t at = h & mask;; at = (at + 1) & mask) {
    const TemplateSlot& slot = templates_[at];
    if (slot.len == 0) return kUnlistedGroup;
    if (slot.hash != static_cast<uint32_t>(h) || slot.len != n) continue;
    // Both are zero-padded to a multiple of 8 bytes: compare words.
    const char* key = template_keys_.data() + slot.key;
    size_t i = 0;
    while (i < n && Load64(t + i) == Load64(key + i)) i += 8;
    if (i >= n) return slot.group;
  }
}

PageMatcher::Match PageMatcher::Classify(std::string_view url) const {
  CallClassifyHook(url);
  // The path, then zero bytes for PageHash's last load (8) and the
  // template's (16).
  char path[kMaxPathBytes + 16];
  const size_t n = NormalizeInto(url, path);
  std::memset(path + n, 0, 16);
  const uint32_t hash = PageHash(path, n);
  const uint32_t rule = FindRule(path, n);
  if (rule != kNoRule) return Match{rule_groups_[rule], hash};
  // The template, zero-padded for TemplateGroup.
  char tmpl[kMaxPathBytes + 16];
#if BECKON_PAGE_MATCHER_SSE2
  const size_t tn = TemplateMasked(path, n, tmpl);
#else
  const size_t tn = TemplateBytewise(path, n, tmpl);
#endif
  std::memset(tmpl + tn, 0, 8);
  return Match{TemplateGroup(tmpl, tn), hash};
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
