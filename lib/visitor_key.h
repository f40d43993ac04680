// Where an engine's visitor key comes from (Engine::Options::visitor_key).
//
// The key of the SipHash that replaces visitor ids must be secret: with it,
// anyone holding a snapshot can test candidate ids, and can pick ids that
// all land in one shard. So unless a key is given, none is public:
//   1. Options::visitor_key, if not all zero;
//   2. else Options::visitor_key_file: read, or created with a random key
//      (mode 0600) if it does not exist;
//   3. else with the Redis store: the fleet's key, kept in Redis beside the
//      state it protects (created at random by the first engine);
//   4. else the process's key: random, drawn once per process from the OS.
#ifndef BECKON_LIB_VISITOR_KEY_H_
#define BECKON_LIB_VISITOR_KEY_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "beckon/engine.h"

namespace beckon::internal {

using VisitorKey = std::array<uint64_t, 2>;

// A random key from the OS (getrandom), never all zero.
VisitorKey RandomVisitorKey();

// The process's key (4. above): drawn on first use, the same for every
// engine of the process afterwards; a forked child draws its own (engines
// created before the fork keep the key they were created with).
VisitorKey ProcessVisitorKey();

// "0123456789abcdef0123456789abcdef\n": key[0] then key[1], 16 hex digits
// each, lower case.
std::string FormatVisitorKey(const VisitorKey& key);
// Parses FormatVisitorKey's text (trailing whitespace allowed). Errors name
// `where`.
absl::StatusOr<VisitorKey> ParseVisitorKey(std::string_view text,
                                           std::string_view where);

// Reads the key file at `path`; if there is none, creates it with a random
// key, mode 0600, atomically (the file appears whole; when several processes
// race, all end up with the one that was linked first). Refuses a file that
// other users may read or write (PERMISSION_DENIED: chmod 600 it), that is
// not a regular file, or whose content is not a key (INVALID_ARGUMENT).
absl::StatusOr<VisitorKey> LoadOrCreateKeyFile(const std::string& path);

// The key an engine with these options uses (steps 1, 2 and 4 above; step 3
// is the Redis store's, see RedisFleetKey). INVALID_ARGUMENT if both a key
// and a key file are given.
absl::StatusOr<VisitorKey> ResolveLocalVisitorKey(
    const Engine::Options& options);

// Step 3: the key stored under "<prefix>{site}:key" in Redis, set to
// `candidate` if absent (SET NX), then read back. UNAVAILABLE if Redis cannot
// be reached; DATA_LOSS if the stored value is not a key.
absl::StatusOr<VisitorKey> RedisFleetKey(const RedisOptions& options,
                                         const VisitorKey& candidate);

}  // namespace beckon::internal

#endif  // BECKON_LIB_VISITOR_KEY_H_
