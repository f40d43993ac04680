// The C ABI (include/beckon/beckon.h) over the C++ API.
//
// Every exported function runs its body inside Guard(), which turns an
// absl::Status into a status code and a malloc()ed message, and catches every
// exception (std::bad_alloc included) so that none crosses into a C host.
// Messages are built with snprintf into malloc()ed memory, so reporting an
// error cannot throw either.
//
// Handles carry a tag in their first four bytes. It lets a call reject a
// handle of another kind (FFI hosts see every handle as the same pointer
// type) with a message instead of misusing it.
#include <algorithm>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "beckon/beckon.h"
#include "beckon/beckon.hpp"
#include "lib/engine_internal.h"

namespace {

constexpr uint32_t kPolicyTag = 0x706f6c31;    // "pol1"
constexpr uint32_t kOptionsTag = 0x6f707431;   // "opt1"
constexpr uint32_t kEngineTag = 0x656e6731;    // "eng1"
constexpr uint32_t kDecisionTag = 0x64656331;  // "dec1"

}  // namespace

struct beckon_policy_t {
  uint32_t tag = kPolicyTag;
  beckon::Policy policy;
  explicit beckon_policy_t(beckon::Policy p) : policy(std::move(p)) {}
};

struct beckon_engine_options_t {
  uint32_t tag = kOptionsTag;
  beckon::Engine::Options options;
};

struct beckon_engine_t {
  uint32_t tag = kEngineTag;
  std::unique_ptr<beckon::Engine> engine;
};

struct beckon_decision_t {
  uint32_t tag = kDecisionTag;
  beckon::Decision decision;
  // What the decision's reasons are made from, held so that they can be read
  // after the engine is gone.
  std::shared_ptr<const void> explainer;
  // The reasons and contributions, made on the first get_reason /
  // get_contribution after a decide (deciding makes no text).
  mutable bool texts_made = false;
  mutable std::vector<std::string> reasons;
  mutable std::vector<beckon::Contribution> contributions;

  void MakeTexts() const {
    if (texts_made) return;
    reasons = decision.reasons();
    contributions = decision.contributions();
    texts_made = true;
  }
};

namespace {

// The C enums mirror the C++ ones number for number.
static_assert(BECKON_ACTION_COUNT == beckon::kActionCount, "actions");
static_assert(BECKON_REASON_COUNT == beckon::kReasonCount, "reasons");
static_assert(BECKON_ACTION_COUNT <= BECKON_STATS_MAX_ACTIONS, "stats");
static_assert(BECKON_REASON_COUNT <= BECKON_STATS_MAX_REASONS, "stats");
static_assert(static_cast<int>(beckon::Action::kOffer) == BECKON_ACTION_OFFER &&
                  static_cast<int>(beckon::Action::kWait) ==
                      BECKON_ACTION_WAIT &&
                  static_cast<int>(beckon::Action::kSuppress) ==
                      BECKON_ACTION_SUPPRESS,
              "beckon_action");
static_assert(
    static_cast<int>(beckon::Reason::kScore) == BECKON_REASON_SCORE &&
        static_cast<int>(beckon::Reason::kDwell) == BECKON_REASON_DWELL &&
        static_cast<int>(beckon::Reason::kDeclined) == BECKON_REASON_DECLINED &&
        static_cast<int>(beckon::Reason::kHoldout) == BECKON_REASON_HOLDOUT &&
        static_cast<int>(beckon::Reason::kRateCap) == BECKON_REASON_RATE_CAP &&
        static_cast<int>(beckon::Reason::kStoreUnavailable) ==
            BECKON_REASON_STORE_UNAVAILABLE &&
        static_cast<int>(beckon::Reason::kOfferRateCap) ==
            BECKON_REASON_OFFER_RATE_CAP &&
        BECKON_REASON_OFFER_RATE_CAP == BECKON_REASON_COUNT - 1,
    "beckon_reason");
static_assert(static_cast<int>(beckon::Channel::kChat) == BECKON_CHANNEL_CHAT &&
                  static_cast<int>(beckon::Channel::kForm) ==
                      BECKON_CHANNEL_FORM,
              "beckon_channel");
static_assert(static_cast<int>(absl::StatusCode::kInvalidArgument) ==
                      BECKON_INVALID_ARGUMENT &&
                  static_cast<int>(absl::StatusCode::kDataLoss) ==
                      BECKON_DATA_LOSS &&
                  static_cast<int>(absl::StatusCode::kUnauthenticated) ==
                      BECKON_UNAUTHENTICATED,
              "beckon_status_code");

// The sizes of the first version of each growable struct: a caller's
// struct_size must be at least this. Fields are only ever appended.
constexpr size_t kDecisionInfoV1Size =
    offsetof(beckon_decision_info_t, contribution_count) + sizeof(uint32_t);
// The second (offer_probability to has_uplift): a struct_size between the
// two gets the first version's fields only.
constexpr size_t kDecisionInfoV2Size = sizeof(beckon_decision_info_t);
static_assert(offsetof(beckon_decision_info_t, offer_probability) ==
                  kDecisionInfoV1Size,
              "info fields after the first version");
constexpr size_t kStatsV1Size = offsetof(beckon_stats_t, decisions_by_reason) +
                                BECKON_STATS_MAX_REASONS * sizeof(uint64_t);
static_assert(kDecisionInfoV1Size <= sizeof(beckon_decision_info_t), "info");
static_assert(kStatsV1Size <= sizeof(beckon_stats_t), "stats");
// Fields appended to beckon_stats_t after its first version are uint64_t,
// so a struct_size between versions is cut down to whole fields.
static_assert(kStatsV1Size == offsetof(beckon_stats_t, store_errors) &&
                  kStatsV1Size % sizeof(uint64_t) == 0 &&
                  sizeof(beckon_stats_t) ==
                      offsetof(beckon_stats_t, declines_evicted) +
                          sizeof(uint64_t),
              "stats fields after the first version");

// An error to report: a code and a message. Building one never throws.
struct Failure {
  int code;
  char* message;  // malloc()ed, or NULL when memory ran out.
};

char* CopyMessage(const char* text, size_t size) noexcept {
  char* out = static_cast<char*>(std::malloc(size + 1));
  if (out == nullptr) return nullptr;
  if (size > 0) std::memcpy(out, text, size);
  out[size] = '\0';
  return out;
}

// printf-style message in malloc()ed memory.
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2)))
#endif
char* FormatMessage(const char* format, ...) noexcept {
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  char* out = nullptr;
  if (n >= 0) {
    out = static_cast<char*>(std::malloc(static_cast<size_t>(n) + 1));
    if (out != nullptr) {
      std::vsnprintf(out, static_cast<size_t>(n) + 1, format, again);
    }
  }
  va_end(again);
  return out;
}

// Thrown inside Guard() only, for argument errors found by this layer.
struct ArgumentError {
  int code;
  char* message;
};

[[noreturn]] void Reject(int code, char* message) {
  throw ArgumentError{code, message};
}

// Returns the status code of `status` and stores its message.
int Report(const absl::Status& status, char** errptr) noexcept {
  if (status.ok()) {
    if (errptr != nullptr) *errptr = nullptr;
    return BECKON_OK;
  }
  if (errptr != nullptr) {
    const absl::string_view m = status.message();
    *errptr = CopyMessage(m.data(), m.size());
  }
  return static_cast<int>(status.code());
}

int ReportFailure(const Failure& f, char** errptr) noexcept {
  if (errptr != nullptr) {
    *errptr = f.message;
  } else {
    std::free(f.message);
  }
  return f.code;
}

// Runs `body` (returning absl::Status) and converts whatever happens into a
// status code and message. Bodies store their outputs only once nothing can
// fail any more, so a failure leaves the outputs as the caller cleared them.
template <typename Body>
int Guard(const char* fn, char** errptr, Body body) noexcept {
  Failure failure{BECKON_OK, nullptr};
  try {
    return Report(body(), errptr);
  } catch (const ArgumentError& e) {
    failure = {e.code, e.message};
  } catch (const std::bad_alloc&) {
    failure = {BECKON_RESOURCE_EXHAUSTED,
               FormatMessage("%s: out of memory", fn)};
  } catch (const std::exception& e) {
    failure = {BECKON_INTERNAL,
               FormatMessage("%s: internal error: %s", fn, e.what())};
  } catch (...) {
    failure = {BECKON_INTERNAL,
               FormatMessage("%s: internal error (unknown exception)", fn)};
  }
  return ReportFailure(failure, errptr);
}

// Argument checks: each throws ArgumentError (caught by Guard) naming the
// function and the parameter.
void RequireNotNull(const void* p, const char* fn, const char* name) {
  if (p == nullptr) {
    Reject(BECKON_INVALID_ARGUMENT, FormatMessage("%s: %s is NULL", fn, name));
  }
}

uint32_t TagOf(const void* p) {
  uint32_t tag;
  std::memcpy(&tag, p, sizeof(tag));
  return tag;
}

template <typename Handle>
Handle* RequireHandle(Handle* h, uint32_t tag, const char* fn, const char* name,
                      const char* type) {
  RequireNotNull(h, fn, name);
  if (TagOf(h) != tag) {
    Reject(BECKON_INVALID_ARGUMENT,
           FormatMessage("%s: %s is not a live %s (destroyed, or a handle "
                         "of another kind)",
                         fn, name, type));
  }
  return h;
}

const beckon::Policy& PolicyOf(const beckon_policy_t* p, const char* fn) {
  return RequireHandle(p, kPolicyTag, fn, "policy", "beckon_policy_t")->policy;
}

beckon::Engine& EngineOf(const beckon_engine_t* e, const char* fn) {
  return *RequireHandle(e, kEngineTag, fn, "engine", "beckon_engine_t")->engine;
}

// NULL options mean the defaults.
beckon::Engine::Options OptionsOf(const beckon_engine_options_t* o,
                                  const char* fn) {
  if (o == nullptr) return beckon::Engine::Options();
  return RequireHandle(o, kOptionsTag, fn, "options", "beckon_engine_options_t")
      ->options;
}

beckon_engine_options_t* MutableOptions(beckon_engine_options_t* o,
                                        const char* fn) {
  return RequireHandle(o, kOptionsTag, fn, "options",
                       "beckon_engine_options_t");
}

const beckon::Decision& DecisionOf(const beckon_decision_t* d, const char* fn) {
  return RequireHandle(d, kDecisionTag, fn, "decision", "beckon_decision_t")
      ->decision;
}

// Policies and snapshots are protobuf messages, which cannot exceed 2 GiB;
// a larger size is a caller's mistake (say, a negative length cast to
// size_t), rejected before anything reads or copies that many bytes.
constexpr size_t kMaxBytes = std::numeric_limits<int32_t>::max();

// Bytes given as pointer + size: NULL is allowed only for size 0.
std::string_view Bytes(const char* data, size_t size, const char* fn,
                       const char* name) {
  if (data == nullptr) {
    if (size == 0) return std::string_view();
    Reject(BECKON_INVALID_ARGUMENT,
           FormatMessage("%s: %s is NULL but its size is %zu", fn, name, size));
  }
  if (size > kMaxBytes) {
    Reject(BECKON_INVALID_ARGUMENT,
           FormatMessage("%s: the size of %s is %zu bytes; at most %zu", fn,
                         name, size, kMaxBytes));
  }
  return std::string_view(data, size);
}

std::string_view Text(const char* s, const char* fn, const char* name) {
  RequireNotNull(s, fn, name);
  return std::string_view(s);
}

beckon::Channel ChannelOf(int32_t channel, const char* fn) {
  if (channel < BECKON_CHANNEL_UNSPECIFIED || channel > BECKON_CHANNEL_FORM) {
    Reject(BECKON_INVALID_ARGUMENT,
           FormatMessage("%s: unknown channel %d (a beckon_channel is 0 to "
                         "%d)",
                         fn, static_cast<int>(channel), BECKON_CHANNEL_FORM));
  }
  return static_cast<beckon::Channel>(channel);
}

void RequireStructSize(uint32_t struct_size, size_t minimum, const char* fn,
                       const char* name, const char* type) {
  if (struct_size < minimum) {
    Reject(BECKON_INVALID_ARGUMENT,
           FormatMessage("%s: %s->struct_size is %u; it must be "
                         "sizeof(%s), at least %zu",
                         fn, name, static_cast<unsigned>(struct_size), type,
                         minimum));
  }
}

// Copies `bytes` into a malloc()ed, NUL-terminated buffer.
void HandOut(const std::string& bytes, char** data, size_t* size) {
  char* out = CopyMessage(bytes.data(), bytes.size());
  if (out == nullptr) throw std::bad_alloc();
  *data = out;
  *size = bytes.size();
}

// Stores a new handle in *out, or throws.
template <typename Handle, typename... Args>
void MakeHandle(Handle** out, Args&&... args) {
  *out = new Handle(std::forward<Args>(args)...);
}

template <typename Handle>
void DestroyHandle(Handle* h, uint32_t tag) noexcept {
  if (h == nullptr || TagOf(h) != tag) return;
  h->tag = 0;
  delete h;
}

absl::Status CreateEngine(const beckon::Policy& policy,
                          const beckon::Engine::Options& options,
                          beckon_engine_t** out) {
  absl::StatusOr<std::unique_ptr<beckon::Engine>> engine =
      beckon::Engine::Create(policy, options);
  if (!engine.ok()) return engine.status();
  auto handle = std::make_unique<beckon_engine_t>();
  handle->engine = *std::move(engine);
  *out = handle.release();
  return absl::OkStatus();
}

// Runs Observe on a fully built event, after the engine check.
absl::Status Observe(beckon_engine_t* engine, const beckon::Event& event,
                     const char* fn) {
  return EngineOf(engine, fn).Observe(event);
}

}  // namespace

// --- Library -----------------------------------------------------------------

extern "C" {

const char* beckon_version(void) { return beckon::Version(); }

int32_t beckon_abi_version(void) { return BECKON_ABI_VERSION; }

const char* beckon_status_name(int32_t status) {
  static const char* const kNames[] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if (status < 0 || status >= static_cast<int32_t>(std::size(kNames))) {
    return nullptr;
  }
  return kNames[status];
}

// ActionName and ReasonName return views of string literals, so their data
// is NUL-terminated and static.
const char* beckon_action_name(int32_t action) {
  if (action < 0 || action >= beckon::kActionCount) return nullptr;
  return beckon::ActionName(static_cast<beckon::Action>(action)).data();
}

const char* beckon_reason_name(int32_t reason) {
  if (reason < 0 || reason >= beckon::kReasonCount) return nullptr;
  return beckon::ReasonName(static_cast<beckon::Reason>(reason)).data();
}

void beckon_free(void* ptr) { std::free(ptr); }

// --- Policy
// --------------------------------------------------------------------

int beckon_policy_default(beckon_policy_t** policy, char** errptr) {
  const char* fn = "beckon_policy_default";
  if (policy != nullptr) *policy = nullptr;
  return Guard(fn, errptr, [&] {
    RequireNotNull(policy, fn, "policy");
    MakeHandle(policy, beckon::Policy::Default());
    return absl::OkStatus();
  });
}

namespace {

int PolicyFrom(const char* fn,
               absl::StatusOr<beckon::Policy> (*load)(std::string_view),
               const char* data, size_t size, const char* name,
               beckon_policy_t** policy, char** errptr) {
  if (policy != nullptr) *policy = nullptr;
  return Guard(fn, errptr, [&] {
    RequireNotNull(policy, fn, "policy");
    const std::string_view bytes = Bytes(data, size, fn, name);
    absl::StatusOr<beckon::Policy> p = load(bytes);
    if (!p.ok()) return p.status();
    MakeHandle(policy, *std::move(p));
    return absl::OkStatus();
  });
}

}  // namespace

int beckon_policy_from_bytes(const char* data, size_t size,
                             beckon_policy_t** policy, char** errptr) {
  return PolicyFrom("beckon_policy_from_bytes", &beckon::Policy::FromBytes,
                    data, size, "data", policy, errptr);
}

int beckon_policy_from_text(const char* text, size_t size,
                            beckon_policy_t** policy, char** errptr) {
  return PolicyFrom("beckon_policy_from_text", &beckon::Policy::FromText, text,
                    size, "text", policy, errptr);
}

int beckon_policy_from_file(const char* path, beckon_policy_t** policy,
                            char** errptr) {
  const char* fn = "beckon_policy_from_file";
  if (policy != nullptr) *policy = nullptr;
  return Guard(fn, errptr, [&] {
    RequireNotNull(policy, fn, "policy");
    absl::StatusOr<beckon::Policy> p =
        beckon::Policy::FromFile(std::string(Text(path, fn, "path")));
    if (!p.ok()) return p.status();
    MakeHandle(policy, *std::move(p));
    return absl::OkStatus();
  });
}

void beckon_policy_destroy(beckon_policy_t* policy) {
  DestroyHandle(policy, kPolicyTag);
}

namespace {

int PolicySerialize(const char* fn, bool text, const beckon_policy_t* policy,
                    char** data, size_t* size, char** errptr) {
  if (data != nullptr) *data = nullptr;
  if (size != nullptr) *size = 0;
  return Guard(fn, errptr, [&] {
    const beckon::Policy& p = PolicyOf(policy, fn);
    RequireNotNull(data, fn, text ? "text" : "data");
    RequireNotNull(size, fn, "size");
    HandOut(text ? p.ToText() : p.ToBytes(), data, size);
    return absl::OkStatus();
  });
}

}  // namespace

int beckon_policy_to_bytes(const beckon_policy_t* policy, char** data,
                           size_t* size, char** errptr) {
  return PolicySerialize("beckon_policy_to_bytes", false, policy, data, size,
                         errptr);
}

int beckon_policy_to_text(const beckon_policy_t* policy, char** text,
                          size_t* size, char** errptr) {
  return PolicySerialize("beckon_policy_to_text", true, policy, text, size,
                         errptr);
}

int beckon_policy_to_file(const beckon_policy_t* policy, const char* path,
                          char** errptr) {
  const char* fn = "beckon_policy_to_file";
  return Guard(fn, errptr, [&] {
    const beckon::Policy& p = PolicyOf(policy, fn);
    return p.ToFile(std::string(Text(path, fn, "path")));
  });
}

int beckon_policy_name(const beckon_policy_t* policy, const char** name,
                       char** errptr) {
  const char* fn = "beckon_policy_name";
  if (name != nullptr) *name = nullptr;
  return Guard(fn, errptr, [&] {
    const beckon::Policy& p = PolicyOf(policy, fn);
    RequireNotNull(name, fn, "name");
    *name = p.name().c_str();
    return absl::OkStatus();
  });
}

// --- Engine options
// --------------------------------------------------------------

int beckon_engine_options_create(beckon_engine_options_t** options,
                                 char** errptr) {
  const char* fn = "beckon_engine_options_create";
  if (options != nullptr) *options = nullptr;
  return Guard(fn, errptr, [&] {
    RequireNotNull(options, fn, "options");
    MakeHandle(options);
    return absl::OkStatus();
  });
}

void beckon_engine_options_destroy(beckon_engine_options_t* options) {
  DestroyHandle(options, kOptionsTag);
}

int beckon_engine_options_set_max_sessions(beckon_engine_options_t* options,
                                           uint64_t max_sessions,
                                           char** errptr) {
  const char* fn = "beckon_engine_options_set_max_sessions";
  return Guard(fn, errptr, [&] {
    MutableOptions(options, fn)->options.max_sessions = max_sessions;
    return absl::OkStatus();
  });
}

int beckon_engine_options_set_max_memory_records(
    beckon_engine_options_t* options, uint64_t max_memory_records,
    char** errptr) {
  const char* fn = "beckon_engine_options_set_max_memory_records";
  return Guard(fn, errptr, [&] {
    MutableOptions(options, fn)->options.max_memory_records =
        max_memory_records;
    return absl::OkStatus();
  });
}

int beckon_engine_options_set_shards(beckon_engine_options_t* options,
                                     uint32_t shards, char** errptr) {
  const char* fn = "beckon_engine_options_set_shards";
  return Guard(fn, errptr, [&] {
    MutableOptions(options, fn)->options.shards = shards;
    return absl::OkStatus();
  });
}

int beckon_engine_options_set_visitor_key(beckon_engine_options_t* options,
                                          uint64_t key0, uint64_t key1,
                                          char** errptr) {
  const char* fn = "beckon_engine_options_set_visitor_key";
  return Guard(fn, errptr, [&] {
    MutableOptions(options, fn)->options.visitor_key = {key0, key1};
    return absl::OkStatus();
  });
}

int beckon_engine_options_set_visitor_key_file(
    beckon_engine_options_t* options, const char* path, char** errptr) {
  const char* fn = "beckon_engine_options_set_visitor_key_file";
  return Guard(fn, errptr, [&] {
    beckon::Engine::Options& o = MutableOptions(options, fn)->options;
    o.visitor_key_file = std::string(Text(path, fn, "path"));
    return absl::OkStatus();
  });
}

int beckon_engine_options_set_decision_log(beckon_engine_options_t* options,
                                           const char* path, char** errptr) {
  const char* fn = "beckon_engine_options_set_decision_log";
  return Guard(fn, errptr, [&] {
    beckon::Engine::Options& o = MutableOptions(options, fn)->options;
    o.decision_log_path = std::string(Text(path, fn, "path"));
    return absl::OkStatus();
  });
}

int beckon_engine_options_set_event_log(beckon_engine_options_t* options,
                                        const char* path, char** errptr) {
  const char* fn = "beckon_engine_options_set_event_log";
  return Guard(fn, errptr, [&] {
    beckon::Engine::Options& o = MutableOptions(options, fn)->options;
    o.event_log_path = std::string(Text(path, fn, "path"));
    return absl::OkStatus();
  });
}

int beckon_engine_options_set_max_url_bytes(beckon_engine_options_t* options,
                                            uint32_t max_url_bytes,
                                            char** errptr) {
  const char* fn = "beckon_engine_options_set_max_url_bytes";
  return Guard(fn, errptr, [&] {
    MutableOptions(options, fn)->options.max_url_bytes = max_url_bytes;
    return absl::OkStatus();
  });
}

int beckon_engine_options_set_max_referrer_bytes(
    beckon_engine_options_t* options, uint32_t max_referrer_bytes,
    char** errptr) {
  const char* fn = "beckon_engine_options_set_max_referrer_bytes";
  return Guard(fn, errptr, [&] {
    MutableOptions(options, fn)->options.max_referrer_bytes =
        max_referrer_bytes;
    return absl::OkStatus();
  });
}

int beckon_engine_options_set_redis_url(beckon_engine_options_t* options,
                                        const char* url, char** errptr) {
  const char* fn = "beckon_engine_options_set_redis_url";
  return Guard(fn, errptr, [&] {
    beckon::Engine::Options& o = MutableOptions(options, fn)->options;
    if (url == nullptr || *url == '\0') {
      o.store = beckon::StoreKind::kMemory;
      o.redis = beckon::RedisOptions();
      return absl::OkStatus();
    }
    // Parsed before anything is stored: a bad URL leaves the options as
    // they were.
    absl::StatusOr<beckon::RedisOptions> redis =
        beckon::RedisOptions::FromUrl(url);
    if (!redis.ok()) return redis.status();
    o.redis = *std::move(redis);
    o.store = beckon::StoreKind::kRedis;
    return absl::OkStatus();
  });
}

// --- Engine
// ------------------------------------------------------------------------

int beckon_engine_create(const beckon_policy_t* policy,
                         const beckon_engine_options_t* options,
                         beckon_engine_t** engine, char** errptr) {
  const char* fn = "beckon_engine_create";
  if (engine != nullptr) *engine = nullptr;
  return Guard(fn, errptr, [&] {
    const beckon::Policy& p = PolicyOf(policy, fn);
    const beckon::Engine::Options o = OptionsOf(options, fn);
    RequireNotNull(engine, fn, "engine");
    return CreateEngine(p, o, engine);
  });
}

int beckon_engine_create_default(const beckon_engine_options_t* options,
                                 beckon_engine_t** engine, char** errptr) {
  const char* fn = "beckon_engine_create_default";
  if (engine != nullptr) *engine = nullptr;
  return Guard(fn, errptr, [&] {
    const beckon::Engine::Options o = OptionsOf(options, fn);
    RequireNotNull(engine, fn, "engine");
    return CreateEngine(beckon::Policy::Default(), o, engine);
  });
}

int beckon_engine_create_from_policy_bytes(
    const char* data, size_t size, const beckon_engine_options_t* options,
    beckon_engine_t** engine, char** errptr) {
  const char* fn = "beckon_engine_create_from_policy_bytes";
  if (engine != nullptr) *engine = nullptr;
  return Guard(fn, errptr, [&] {
    const std::string_view bytes = Bytes(data, size, fn, "data");
    const beckon::Engine::Options o = OptionsOf(options, fn);
    RequireNotNull(engine, fn, "engine");
    absl::StatusOr<beckon::Policy> p = beckon::Policy::FromBytes(bytes);
    if (!p.ok()) return p.status();
    return CreateEngine(*p, o, engine);
  });
}

int beckon_engine_create_from_policy_file(
    const char* path, const beckon_engine_options_t* options,
    beckon_engine_t** engine, char** errptr) {
  const char* fn = "beckon_engine_create_from_policy_file";
  if (engine != nullptr) *engine = nullptr;
  return Guard(fn, errptr, [&] {
    const std::string file(Text(path, fn, "path"));
    const beckon::Engine::Options o = OptionsOf(options, fn);
    RequireNotNull(engine, fn, "engine");
    absl::StatusOr<beckon::Policy> p = beckon::Policy::FromFile(file);
    if (!p.ok()) return p.status();
    return CreateEngine(*p, o, engine);
  });
}

void beckon_engine_destroy(beckon_engine_t* engine) {
  DestroyHandle(engine, kEngineTag);
}

int beckon_engine_policy(const beckon_engine_t* engine,
                         beckon_policy_t** policy, char** errptr) {
  const char* fn = "beckon_engine_policy";
  if (policy != nullptr) *policy = nullptr;
  return Guard(fn, errptr, [&] {
    const beckon::Engine& e = EngineOf(engine, fn);
    RequireNotNull(policy, fn, "policy");
    MakeHandle(policy, e.policy());
    return absl::OkStatus();
  });
}

int beckon_engine_observe_page_view(beckon_engine_t* engine, int64_t ts_ms,
                                    const char* visitor, const char* page,
                                    const char* referrer, char** errptr) {
  const char* fn = "beckon_engine_observe_page_view";
  return Guard(fn, errptr, [&] {
    return Observe(engine,
                   beckon::Event::PageView(ts_ms, Text(visitor, fn, "visitor"),
                                           Text(page, fn, "page"),
                                           referrer == nullptr
                                               ? std::string_view()
                                               : std::string_view(referrer)),
                   fn);
  });
}

int beckon_engine_observe_search(beckon_engine_t* engine, int64_t ts_ms,
                                 const char* visitor, const char* page,
                                 int64_t results, char** errptr) {
  const char* fn = "beckon_engine_observe_search";
  return Guard(fn, errptr, [&] {
    return Observe(engine,
                   beckon::Event::Search(ts_ms, Text(visitor, fn, "visitor"),
                                         Text(page, fn, "page"), results),
                   fn);
  });
}

int beckon_engine_observe_cart(beckon_engine_t* engine, int64_t ts_ms,
                               const char* visitor, const char* page,
                               double cart_value, char** errptr) {
  const char* fn = "beckon_engine_observe_cart";
  return Guard(fn, errptr, [&] {
    return Observe(engine,
                   beckon::Event::Cart(ts_ms, Text(visitor, fn, "visitor"),
                                       Text(page, fn, "page"), cart_value),
                   fn);
  });
}

namespace {

// The five channel events share a signature.
using ChannelFactory = beckon::Event (*)(int64_t, std::string_view,
                                         std::string_view, beckon::Channel);

int ObserveChannelEvent(const char* fn, ChannelFactory make,
                        beckon_engine_t* engine, int64_t ts_ms,
                        const char* visitor, const char* page, int32_t channel,
                        char** errptr) {
  return Guard(fn, errptr, [&] {
    return Observe(engine,
                   make(ts_ms, Text(visitor, fn, "visitor"),
                        Text(page, fn, "page"), ChannelOf(channel, fn)),
                   fn);
  });
}

}  // namespace

int beckon_engine_observe_help_contact(beckon_engine_t* engine, int64_t ts_ms,
                                       const char* visitor, const char* page,
                                       int32_t channel, char** errptr) {
  return ObserveChannelEvent("beckon_engine_observe_help_contact",
                             &beckon::Event::HelpContact, engine, ts_ms,
                             visitor, page, channel, errptr);
}

int beckon_engine_observe_offer_shown(beckon_engine_t* engine, int64_t ts_ms,
                                      const char* visitor, const char* page,
                                      int32_t channel, char** errptr) {
  return ObserveChannelEvent("beckon_engine_observe_offer_shown",
                             &beckon::Event::OfferShown, engine, ts_ms, visitor,
                             page, channel, errptr);
}

int beckon_engine_observe_offer_accepted(beckon_engine_t* engine, int64_t ts_ms,
                                         const char* visitor, const char* page,
                                         int32_t channel, char** errptr) {
  return ObserveChannelEvent("beckon_engine_observe_offer_accepted",
                             &beckon::Event::OfferAccepted, engine, ts_ms,
                             visitor, page, channel, errptr);
}

int beckon_engine_observe_offer_declined(beckon_engine_t* engine, int64_t ts_ms,
                                         const char* visitor, const char* page,
                                         int32_t channel, char** errptr) {
  return ObserveChannelEvent("beckon_engine_observe_offer_declined",
                             &beckon::Event::OfferDeclined, engine, ts_ms,
                             visitor, page, channel, errptr);
}

int beckon_engine_observe_offer_ignored(beckon_engine_t* engine, int64_t ts_ms,
                                        const char* visitor, const char* page,
                                        int32_t channel, char** errptr) {
  return ObserveChannelEvent("beckon_engine_observe_offer_ignored",
                             &beckon::Event::OfferIgnored, engine, ts_ms,
                             visitor, page, channel, errptr);
}

int beckon_engine_observe_purchase(beckon_engine_t* engine, int64_t ts_ms,
                                   const char* visitor, const char* page,
                                   double order_value, char** errptr) {
  const char* fn = "beckon_engine_observe_purchase";
  return Guard(fn, errptr, [&] {
    return Observe(engine,
                   beckon::Event::Purchase(ts_ms, Text(visitor, fn, "visitor"),
                                           Text(page, fn, "page"), order_value),
                   fn);
  });
}

int beckon_engine_observe_agents(beckon_engine_t* engine, int64_t ts_ms,
                                 int64_t free_agents, char** errptr) {
  const char* fn = "beckon_engine_observe_agents";
  return Guard(fn, errptr, [&] {
    return Observe(engine, beckon::Event::Agents(ts_ms, free_agents), fn);
  });
}

namespace {

// Copies `d` into `info` (struct_size checked by the caller), as far as the
// caller's version of the struct reaches.
void FillInfo(const beckon::Decision& d, beckon_decision_info_t* info) {
  beckon_decision_info_t out;
  std::memset(&out, 0, sizeof(out));
  out.struct_size = info->struct_size;
  out.action = static_cast<int32_t>(d.action);
  out.reason = static_cast<int32_t>(d.reason);
  out.would_offer = d.would_offer ? 1 : 0;
  out.has_recheck_at = d.recheck_at_ms.has_value() ? 1 : 0;
  out.probability = d.probability;
  out.threshold = d.threshold;
  out.recheck_at_ms = d.recheck_at_ms.value_or(0);
  out.reason_count = static_cast<uint32_t>(d.reason_count());
  out.contribution_count = static_cast<uint32_t>(
      d.detail.has_session ? beckon::kDecisionFeatureCount : 0);
  out.offer_probability = d.offer_probability;
  out.uplift = d.detail.has_uplift ? d.detail.uplift : 0.0;
  out.explored = d.detail.explored ? 1 : 0;
  out.has_uplift = d.detail.has_uplift ? 1 : 0;
  // Whole versions only: the caller's struct as far as its version goes.
  const size_t n = info->struct_size >= kDecisionInfoV2Size
                       ? kDecisionInfoV2Size
                       : kDecisionInfoV1Size;
  std::memcpy(info, &out, n);
}

// Stores a decision of `e` in a handle, with what its reasons are made of.
void Keep(const beckon::Engine& e, beckon::Decision d,
          beckon_decision_t* decision) {
  decision->decision = std::move(d);
  decision->texts_made = false;
  decision->reasons.clear();
  decision->contributions.clear();
  // The same engine's decisions share one explainer: taken once.
  using beckon::internal::EngineInternal;
  if (decision->explainer.get() !=
      EngineInternal::ExplainerOf(decision->decision)) {
    decision->explainer = EngineInternal::ExplainerOf(e, decision->decision);
  }
}

}  // namespace

int beckon_engine_decide(beckon_engine_t* engine, const char* visitor,
                         int64_t now_ms, beckon_decision_t* decision,
                         char** errptr) {
  const char* fn = "beckon_engine_decide";
  return Guard(fn, errptr, [&] {
    beckon::Engine& e = EngineOf(engine, fn);
    const std::string_view id = Text(visitor, fn, "visitor");
    RequireHandle(decision, kDecisionTag, fn, "decision", "beckon_decision_t");
    absl::StatusOr<beckon::Decision> d = e.Decide(id, now_ms);
    if (!d.ok()) return d.status();
    Keep(e, *std::move(d), decision);
    return absl::OkStatus();
  });
}

int beckon_engine_decide_info(beckon_engine_t* engine, const char* visitor,
                              int64_t now_ms, beckon_decision_t* decision,
                              beckon_decision_info_t* info, char** errptr) {
  const char* fn = "beckon_engine_decide_info";
  return Guard(fn, errptr, [&] {
    beckon::Engine& e = EngineOf(engine, fn);
    const std::string_view id = Text(visitor, fn, "visitor");
    if (decision != nullptr) {
      RequireHandle(decision, kDecisionTag, fn, "decision",
                    "beckon_decision_t");
    }
    RequireNotNull(info, fn, "info");
    RequireStructSize(info->struct_size, kDecisionInfoV1Size, fn, "info",
                      "beckon_decision_info_t");
    absl::StatusOr<beckon::Decision> d = e.Decide(id, now_ms);
    if (!d.ok()) return d.status();
    FillInfo(*d, info);
    if (decision != nullptr) Keep(e, *std::move(d), decision);
    return absl::OkStatus();
  });
}

int beckon_engine_expire(beckon_engine_t* engine, int64_t now_ms,
                         char** errptr) {
  const char* fn = "beckon_engine_expire";
  return Guard(fn, errptr, [&] { return EngineOf(engine, fn).Expire(now_ms); });
}

int beckon_engine_snapshot(const beckon_engine_t* engine, char** data,
                           size_t* size, char** errptr) {
  const char* fn = "beckon_engine_snapshot";
  if (data != nullptr) *data = nullptr;
  if (size != nullptr) *size = 0;
  return Guard(fn, errptr, [&] {
    const beckon::Engine& e = EngineOf(engine, fn);
    RequireNotNull(data, fn, "data");
    RequireNotNull(size, fn, "size");
    // SnapshotOrError: a store that cannot be read is an error, not an
    // empty snapshot that a restore would turn into an empty store.
    absl::StatusOr<std::string> snapshot = e.SnapshotOrError();
    if (!snapshot.ok()) return snapshot.status();
    HandOut(*snapshot, data, size);
    return absl::OkStatus();
  });
}

int beckon_engine_set_policy(beckon_engine_t* engine,
                             const beckon_policy_t* policy, char** errptr) {
  const char* fn = "beckon_engine_set_policy";
  return Guard(fn, errptr, [&] {
    beckon::Engine& e = EngineOf(engine, fn);
    const beckon::Policy& p = PolicyOf(policy, fn);
    return e.SetPolicy(p);
  });
}

int beckon_engine_metrics_text(const beckon_engine_t* engine, char** text,
                               size_t* size, char** errptr) {
  const char* fn = "beckon_engine_metrics_text";
  if (text != nullptr) *text = nullptr;
  if (size != nullptr) *size = 0;
  return Guard(fn, errptr, [&] {
    const beckon::Engine& e = EngineOf(engine, fn);
    RequireNotNull(text, fn, "text");
    RequireNotNull(size, fn, "size");
    HandOut(e.MetricsText(), text, size);
    return absl::OkStatus();
  });
}

int beckon_engine_snapshot_to_file(const beckon_engine_t* engine,
                                   const char* path, char** errptr) {
  const char* fn = "beckon_engine_snapshot_to_file";
  return Guard(fn, errptr, [&] {
    const beckon::Engine& e = EngineOf(engine, fn);
    return e.SnapshotToFile(std::string(Text(path, fn, "path")));
  });
}

int beckon_engine_restore(beckon_engine_t* engine, const char* data,
                          size_t size, char** errptr) {
  const char* fn = "beckon_engine_restore";
  return Guard(fn, errptr, [&] {
    beckon::Engine& e = EngineOf(engine, fn);
    return e.Restore(Bytes(data, size, fn, "data"));
  });
}

int beckon_engine_restore_from_file(beckon_engine_t* engine, const char* path,
                                    char** errptr) {
  const char* fn = "beckon_engine_restore_from_file";
  return Guard(fn, errptr, [&] {
    beckon::Engine& e = EngineOf(engine, fn);
    return e.RestoreFromFile(std::string(Text(path, fn, "path")));
  });
}

int beckon_engine_stats(const beckon_engine_t* engine, beckon_stats_t* stats,
                        char** errptr) {
  const char* fn = "beckon_engine_stats";
  return Guard(fn, errptr, [&] {
    const beckon::Engine& e = EngineOf(engine, fn);
    RequireNotNull(stats, fn, "stats");
    RequireStructSize(stats->struct_size, kStatsV1Size, fn, "stats",
                      "beckon_stats_t");
    const beckon::EngineStats s = e.Stats();
    // Fill a whole struct of this version, then copy the fields the caller's
    // struct has room for: a host built against the first version (no
    // store counters) gets that version's fields and nothing past them.
    beckon_stats_t out;
    std::memset(&out, 0, sizeof(out));
    out.struct_size = stats->struct_size;
    out.action_count = beckon::kActionCount;
    out.reason_count = beckon::kReasonCount;
    out.live_sessions = s.live_sessions;
    out.memory_records = s.memory_records;
    out.sessions_started = s.sessions_started;
    out.sessions_expired = s.sessions_expired;
    out.sessions_evicted = s.sessions_evicted;
    out.memory_evicted = s.memory_evicted;
    out.events_observed = s.events_observed;
    out.events_rejected = s.events_rejected;
    for (int i = 0; i < beckon::kActionCount; ++i) {
      out.decisions_by_action[i] = s.decisions_by_action[i];
    }
    for (int i = 0; i < beckon::kReasonCount; ++i) {
      out.decisions_by_reason[i] = s.decisions_by_reason[i];
    }
    out.store_errors = s.store_errors;
    out.store_conflicts = s.store_conflicts;
    out.store_round_trips = s.store_round_trips;
    out.declines_evicted = s.declines_evicted;
    const size_t room = std::min<size_t>(stats->struct_size, sizeof(out));
    const size_t whole =
        kStatsV1Size +
        (room - kStatsV1Size) / sizeof(uint64_t) * sizeof(uint64_t);
    std::memcpy(stats, &out, whole);
    return absl::OkStatus();
  });
}

// --- Decision
// ------------------------------------------------------------------------

int beckon_decision_create(beckon_decision_t** decision, char** errptr) {
  const char* fn = "beckon_decision_create";
  if (decision != nullptr) *decision = nullptr;
  return Guard(fn, errptr, [&] {
    RequireNotNull(decision, fn, "decision");
    MakeHandle(decision);
    return absl::OkStatus();
  });
}

void beckon_decision_destroy(beckon_decision_t* decision) {
  DestroyHandle(decision, kDecisionTag);
}

int beckon_decision_get_info(const beckon_decision_t* decision,
                             beckon_decision_info_t* info, char** errptr) {
  const char* fn = "beckon_decision_get_info";
  return Guard(fn, errptr, [&] {
    const beckon::Decision& d = DecisionOf(decision, fn);
    RequireNotNull(info, fn, "info");
    RequireStructSize(info->struct_size, kDecisionInfoV1Size, fn, "info",
                      "beckon_decision_info_t");
    FillInfo(d, info);
    return absl::OkStatus();
  });
}

namespace {

void RequireIndex(uint32_t index, size_t count, const char* fn,
                  const char* what) {
  if (index >= count) {
    Reject(BECKON_OUT_OF_RANGE,
           FormatMessage("%s: index %u is past the end (the decision has %zu "
                         "%s)",
                         fn, static_cast<unsigned>(index), count, what));
  }
}

}  // namespace

int beckon_decision_get_reason(const beckon_decision_t* decision,
                               uint32_t index, const char** text,
                               char** errptr) {
  const char* fn = "beckon_decision_get_reason";
  if (text != nullptr) *text = nullptr;
  return Guard(fn, errptr, [&] {
    DecisionOf(decision, fn);
    RequireNotNull(text, fn, "text");
    decision->MakeTexts();
    RequireIndex(index, decision->reasons.size(), fn, "reasons");
    *text = decision->reasons[index].c_str();
    return absl::OkStatus();
  });
}

int beckon_decision_get_contribution(const beckon_decision_t* decision,
                                     uint32_t index, const char** feature,
                                     double* value, double* contribution,
                                     char** errptr) {
  const char* fn = "beckon_decision_get_contribution";
  if (feature != nullptr) *feature = nullptr;
  return Guard(fn, errptr, [&] {
    DecisionOf(decision, fn);
    RequireNotNull(feature, fn, "feature");
    RequireNotNull(value, fn, "value");
    RequireNotNull(contribution, fn, "contribution");
    decision->MakeTexts();
    RequireIndex(index, decision->contributions.size(), fn, "contributions");
    const beckon::Contribution& c = decision->contributions[index];
    *feature = c.feature.c_str();
    *value = c.value;
    *contribution = c.contribution;
    return absl::OkStatus();
  });
}

int beckon_decision_get_policy(const beckon_decision_t* decision,
                               const char** name, const char** version,
                               char** errptr) {
  const char* fn = "beckon_decision_get_policy";
  if (name != nullptr) *name = nullptr;
  if (version != nullptr) *version = nullptr;
  return Guard(fn, errptr, [&] {
    const beckon::Decision& d = DecisionOf(decision, fn);
    RequireNotNull(name, fn, "name");
    RequireNotNull(version, fn, "version");
    // Views into the explainer the handle holds: NUL-terminated strings.
    *name = d.policy_name().empty() ? "" : d.policy_name().data();
    *version = d.policy_version().empty() ? "" : d.policy_version().data();
    return absl::OkStatus();
  });
}

}  // extern "C"
