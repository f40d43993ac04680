#define FFI_SCOPE "beckon"
#define FFI_LIB "libbeckon_c.so.0"
/* The declarations of the C ABI (include/beckon/beckon.h) that the PHP
 * examples use, in the form PHP's FFI reads: no preprocessor lines but the
 * two above, which ffi.preload and FFI::load() understand (they must open
 * the file). beckon.php passes the rest to FFI::cdef(); the ABI rules (only
 * appended, never changed) keep it valid for newer libraries.
 *
 * PHP-FPM: load the library once, when PHP starts, instead of on every
 * request. In php.ini, with FFI_LIB above naming the library as the dynamic
 * loader finds it (an installed libbeckon_c.so.0) or by its absolute path:
 *
 *   ffi.preload = /path/to/examples/php/beckon_ffi.h
 *   ffi.enable = 1        ; or "preload", with beckon.php in opcache.preload
 *                         ; (FFI is then usable from preloaded code only)
 *
 * Beckon::preloaded() then takes the functions from the scope "beckon". */
typedef struct beckon_policy_t beckon_policy_t;
typedef struct beckon_engine_options_t beckon_engine_options_t;
typedef struct beckon_engine_t beckon_engine_t;
typedef struct beckon_decision_t beckon_decision_t;
typedef struct beckon_decision_info_t {
  uint32_t struct_size;
  int32_t action;
  int32_t reason;
  uint8_t would_offer;
  uint8_t has_recheck_at;
  double probability;
  double threshold;
  int64_t recheck_at_ms;
  uint32_t reason_count;
  uint32_t contribution_count;
} beckon_decision_info_t;
typedef struct beckon_stats_t {
  uint32_t struct_size;
  uint32_t action_count;
  uint32_t reason_count;
  uint64_t live_sessions;
  uint64_t memory_records;
  uint64_t sessions_started;
  uint64_t sessions_expired;
  uint64_t sessions_evicted;
  uint64_t memory_evicted;
  uint64_t events_observed;
  uint64_t events_rejected;
  uint64_t decisions_by_action[8];
  uint64_t decisions_by_reason[32];
  uint64_t store_errors;
  uint64_t store_conflicts;
  uint64_t store_round_trips;
} beckon_stats_t;
const char* beckon_version(void);
int32_t beckon_abi_version(void);
const char* beckon_status_name(int32_t status);
const char* beckon_action_name(int32_t action);
const char* beckon_reason_name(int32_t reason);
void beckon_free(void* ptr);
void beckon_policy_destroy(beckon_policy_t* policy);
int beckon_policy_to_bytes(const beckon_policy_t* policy, char** data,
                           size_t* size, char** errptr);
int beckon_policy_name(const beckon_policy_t* policy, const char** name,
                       char** errptr);
int beckon_engine_options_create(beckon_engine_options_t** options,
                                 char** errptr);
void beckon_engine_options_destroy(beckon_engine_options_t* options);
int beckon_engine_options_set_redis_url(beckon_engine_options_t* options,
                                        const char* url, char** errptr);
int beckon_engine_create_default(const beckon_engine_options_t* options,
                                 beckon_engine_t** engine, char** errptr);
int beckon_engine_create_from_policy_bytes(
    const char* data, size_t size, const beckon_engine_options_t* options,
    beckon_engine_t** engine, char** errptr);
int beckon_engine_create_from_policy_file(
    const char* path, const beckon_engine_options_t* options,
    beckon_engine_t** engine, char** errptr);
void beckon_engine_destroy(beckon_engine_t* engine);
int beckon_engine_policy(const beckon_engine_t* engine,
                         beckon_policy_t** policy, char** errptr);
int beckon_engine_observe_page_view(beckon_engine_t* engine, int64_t ts_ms,
                                    const char* visitor, const char* page,
                                    const char* referrer, char** errptr);
int beckon_engine_observe_search(beckon_engine_t* engine, int64_t ts_ms,
                                 const char* visitor, const char* page,
                                 int64_t results, char** errptr);
int beckon_engine_observe_cart(beckon_engine_t* engine, int64_t ts_ms,
                               const char* visitor, const char* page,
                               double cart_value, char** errptr);
int beckon_engine_observe_help_contact(beckon_engine_t* engine,
                                       int64_t ts_ms, const char* visitor,
                                       const char* page, int32_t channel,
                                       char** errptr);
int beckon_engine_observe_offer_shown(beckon_engine_t* engine,
                                      int64_t ts_ms, const char* visitor,
                                      const char* page, int32_t channel,
                                      char** errptr);
int beckon_engine_observe_offer_accepted(beckon_engine_t* engine,
                                         int64_t ts_ms,
                                         const char* visitor,
                                         const char* page,
                                         int32_t channel, char** errptr);
int beckon_engine_observe_offer_declined(beckon_engine_t* engine,
                                         int64_t ts_ms,
                                         const char* visitor,
                                         const char* page,
                                         int32_t channel, char** errptr);
int beckon_engine_observe_offer_ignored(beckon_engine_t* engine,
                                        int64_t ts_ms,
                                        const char* visitor,
                                        const char* page,
                                        int32_t channel, char** errptr);
int beckon_engine_observe_purchase(beckon_engine_t* engine, int64_t ts_ms,
                                   const char* visitor, const char* page,
                                   double order_value, char** errptr);
int beckon_engine_observe_agents(beckon_engine_t* engine, int64_t ts_ms,
                                 int64_t free_agents, char** errptr);
int beckon_engine_decide(beckon_engine_t* engine, const char* visitor,
                         int64_t now_ms, beckon_decision_t* decision,
                         char** errptr);
int beckon_engine_expire(beckon_engine_t* engine, int64_t now_ms,
                         char** errptr);
int beckon_engine_snapshot(const beckon_engine_t* engine, char** data,
                           size_t* size, char** errptr);
int beckon_engine_restore(beckon_engine_t* engine, const char* data,
                          size_t size, char** errptr);
int beckon_engine_stats(const beckon_engine_t* engine,
                        beckon_stats_t* stats, char** errptr);
int beckon_decision_create(beckon_decision_t** decision, char** errptr);
void beckon_decision_destroy(beckon_decision_t* decision);
int beckon_decision_get_info(const beckon_decision_t* decision,
                             beckon_decision_info_t* info, char** errptr);
int beckon_decision_get_reason(const beckon_decision_t* decision,
                               uint32_t index, const char** text,
                               char** errptr);
