// NewRedisStore for a build without hiredis (BECKON_WITH_REDIS off).
#include "state_store.h"
#include "visitor_key.h"

namespace beckon::internal {

absl::StatusOr<std::unique_ptr<VisitorStore>> NewRedisStore(
    const RedisOptions&, int64_t, int64_t) {
  return absl::UnimplementedError(
      "this beckon was built without Redis support (needs hiredis: "
      "libhiredis-dev; configure with -DBECKON_WITH_REDIS=ON)");
}

absl::StatusOr<VisitorKey> RedisFleetKey(const RedisOptions&,
                                         const VisitorKey&) {
  return absl::UnimplementedError(
      "this beckon was built without Redis support");
}

}  // namespace beckon::internal
