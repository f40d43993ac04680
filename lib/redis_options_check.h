// Checks of RedisOptions, shared by FromUrl and Engine::Create.
#ifndef BECKON_LIB_REDIS_OPTIONS_CHECK_H_
#define BECKON_LIB_REDIS_OPTIONS_CHECK_H_

#include "absl/status/status.h"
#include "beckon/engine.h"

namespace beckon::internal {

// InvalidArgument naming the first bad field, else OK.
absl::Status CheckRedisOptions(const RedisOptions& options);

}  // namespace beckon::internal

#endif  // BECKON_LIB_REDIS_OPTIONS_CHECK_H_
