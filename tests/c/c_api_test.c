/* Tests of the C ABI (include/beckon/beckon.h), written in C99 and compiled
 * with -std=c99 -pedantic -Werror, so the header is checked as C too.
 *
 *   c_api_test            # every case
 *   c_api_test CASE...    # the named cases
 *
 * Every function is called on its success path and on each of its error
 * paths: NULL handles and pointers, handles of the wrong kind, bad sizes,
 * malformed bytes, invalid values. A rejected call must return the right
 * code and a message naming the problem, clear its outputs, and change no
 * state. The last case drives one engine from several threads.
 *
 * The Redis store: the URL option is tested without a server (a bad URL,
 * and a server that refuses connections); the cases that need a live Redis
 * read its URL from BECKON_TEST_REDIS_URL (tests/redis/with_redis.sh sets
 * it) and are skipped, saying so, when it is not set. BECKON_TEST_HAVE_REDIS
 * (1 or 0, from CMake) says whether the library was built with the Redis
 * store; without it, Redis engines must be BECKON_UNIMPLEMENTED. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beckon/beckon.h"

#ifndef BECKON_TEST_HAVE_REDIS
#define BECKON_TEST_HAVE_REDIS 0
#endif

/* ------------------------------------------------------------------------ */
/* A minimal harness.                                                        */

static int g_failures = 0;
static const char* g_skipped = NULL; /* Why the running case was skipped. */

static void Fail(const char* file, int line, const char* what) {
  fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
  ++g_failures;
}

#define CHECK(cond)                               \
  do {                                            \
    if (!(cond)) Fail(__FILE__, __LINE__, #cond); \
  } while (0)

static void ExpectOk(int status, char* err, const char* call, const char* file,
                     int line) {
  if (status != BECKON_OK) {
    fprintf(stderr, "%s:%d: FAILED: %s returned %s: %s\n", file, line, call,
            beckon_status_name(status), err != NULL ? err : "(no message)");
    ++g_failures;
  } else if (err != NULL) {
    fprintf(stderr, "%s:%d: FAILED: %s succeeded but left a message: %s\n",
            file, line, call, err);
    ++g_failures;
  }
  beckon_free(err);
}

static void ExpectError(int status, char* err, int want_status,
                        const char* want_text, const char* call,
                        const char* file, int line) {
  if (status != want_status) {
    fprintf(stderr, "%s:%d: FAILED: %s returned %s (%s), want %s\n", file, line,
            call, beckon_status_name(status), err != NULL ? err : "no message",
            beckon_status_name(want_status));
    ++g_failures;
  } else if (err == NULL) {
    fprintf(stderr, "%s:%d: FAILED: %s returned %s without a message\n", file,
            line, call, beckon_status_name(status));
    ++g_failures;
  } else if (strstr(err, want_text) == NULL) {
    fprintf(stderr, "%s:%d: FAILED: %s: message \"%s\" lacks \"%s\"\n", file,
            line, call, err, want_text);
    ++g_failures;
  }
  beckon_free(err);
}

/* Both expect a local `char* err` that `call` passes as its errptr. */
#define EXPECT_OK(call)                                \
  do {                                                 \
    int status_ = (call);                              \
    ExpectOk(status_, err, #call, __FILE__, __LINE__); \
    err = NULL;                                        \
  } while (0)

#define EXPECT_ERROR(call, want_status, want_text)                     \
  do {                                                                 \
    int status_ = (call);                                              \
    ExpectError(status_, err, want_status, want_text, #call, __FILE__, \
                __LINE__);                                             \
    err = NULL;                                                        \
  } while (0)

static const int64_t kT0 = INT64_C(1700000000000);
static const int64_t kSec = 1000;
static const int64_t kDay = INT64_C(86400000);

/* A file name in the working directory, unique to this process. */
static const char* TempPath(const char* suffix, char* buf, size_t size) {
  snprintf(buf, size, "c_api_test.%ld.%s", (long)getpid(), suffix);
  return buf;
}

static beckon_engine_t* MakeEngine(void) {
  beckon_engine_t* engine = NULL;
  char* err = NULL;
  EXPECT_OK(beckon_engine_create_default(NULL, &engine, &err));
  return engine;
}

static beckon_stats_t Stats(const beckon_engine_t* engine) {
  beckon_stats_t stats = BECKON_STATS_INIT;
  char* err = NULL;
  EXPECT_OK(beckon_engine_stats(engine, &stats, &err));
  return stats;
}

/* Returns the engine's snapshot (free it with beckon_free). */
static char* Snapshot(const beckon_engine_t* engine, size_t* size) {
  char* data = NULL;
  char* err = NULL;
  *size = 0;
  EXPECT_OK(beckon_engine_snapshot(engine, &data, size, &err));
  return data;
}

/* True if the engine's visitor state is byte for byte `data`. */
static int SameState(const beckon_engine_t* engine, const char* data,
                     size_t size) {
  size_t now_size = 0;
  char* now = Snapshot(engine, &now_size);
  const int same =
      now != NULL && now_size == size && memcmp(now, data, size) == 0;
  beckon_free(now);
  return same;
}

static beckon_decision_info_t Info(const beckon_decision_t* decision) {
  beckon_decision_info_t info = BECKON_DECISION_INFO_INIT;
  char* err = NULL;
  EXPECT_OK(beckon_decision_get_info(decision, &info, &err));
  return info;
}

static int SameInfo(const beckon_decision_info_t* a,
                    const beckon_decision_info_t* b) {
  return a->action == b->action && a->reason == b->reason &&
         a->probability == b->probability && a->threshold == b->threshold &&
         a->has_recheck_at == b->has_recheck_at &&
         a->recheck_at_ms == b->recheck_at_ms &&
         a->reason_count == b->reason_count &&
         a->contribution_count == b->contribution_count &&
         a->would_offer == b->would_offer;
}

/* The walk-through's stuck visitor: ends with an offer at the returned time
 * (after following the recheck time of a wait). */
static int64_t PlayStuckVisitor(beckon_engine_t* engine,
                                beckon_decision_t* decision,
                                const char* visitor) {
  char* err = NULL;
  beckon_decision_info_t info;
  int64_t now = kT0 + 110 * kSec;
  EXPECT_OK(beckon_engine_observe_page_view(
      engine, kT0, visitor, "/", "https://www.google.com/search?q=returns",
      &err));
  EXPECT_OK(beckon_engine_observe_page_view(engine, kT0 + 20 * kSec, visitor,
                                            "/p/4711", NULL, &err));
  EXPECT_OK(beckon_engine_observe_search(engine, kT0 + 70 * kSec, visitor,
                                         "/search?q=return+label", 0, &err));
  EXPECT_OK(beckon_engine_observe_search(engine, kT0 + 85 * kSec, visitor,
                                         "/search?q=returns", 0, &err));
  EXPECT_OK(beckon_engine_observe_page_view(engine, kT0 + 100 * kSec, visitor,
                                            "/help/returns", "", &err));
  EXPECT_OK(beckon_engine_decide(engine, visitor, now, decision, &err));
  info = Info(decision);
  CHECK(info.action == BECKON_ACTION_WAIT);
  CHECK(info.has_recheck_at == 1);
  CHECK(info.recheck_at_ms > now);
  now = info.recheck_at_ms;
  EXPECT_OK(beckon_engine_decide(engine, visitor, now, decision, &err));
  info = Info(decision);
  CHECK(info.action == BECKON_ACTION_OFFER);
  CHECK(info.reason == BECKON_REASON_SCORE);
  CHECK(info.probability >= info.threshold);
  return now;
}

/* ------------------------------------------------------------------------ */
/* Cases                                                                     */

static void TestVersionAndNames(void) {
  CHECK(strcmp(beckon_version(), BECKON_VERSION_STRING) == 0);
  CHECK(beckon_abi_version() == BECKON_ABI_VERSION);
  CHECK(strcmp(beckon_status_name(BECKON_OK), "OK") == 0);
  CHECK(strcmp(beckon_status_name(BECKON_INVALID_ARGUMENT),
               "INVALID_ARGUMENT") == 0);
  CHECK(strcmp(beckon_status_name(BECKON_DATA_LOSS), "DATA_LOSS") == 0);
  CHECK(strcmp(beckon_status_name(BECKON_UNAUTHENTICATED), "UNAUTHENTICATED") ==
        0);
  CHECK(beckon_status_name(17) == NULL);
  CHECK(beckon_status_name(-1) == NULL);
  CHECK(strcmp(beckon_action_name(BECKON_ACTION_OFFER), "offer") == 0);
  CHECK(strcmp(beckon_action_name(BECKON_ACTION_WAIT), "wait") == 0);
  CHECK(strcmp(beckon_action_name(BECKON_ACTION_SUPPRESS), "suppress") == 0);
  CHECK(beckon_action_name(BECKON_ACTION_COUNT) == NULL);
  CHECK(beckon_action_name(-1) == NULL);
  CHECK(strcmp(beckon_reason_name(BECKON_REASON_SCORE), "score") == 0);
  CHECK(strcmp(beckon_reason_name(BECKON_REASON_NO_SESSION), "no_session") ==
        0);
  CHECK(strcmp(beckon_reason_name(BECKON_REASON_SESSION_CAP), "session_cap") ==
        0);
  CHECK(strcmp(beckon_reason_name(BECKON_REASON_RATE_CAP), "rate_cap") == 0);
  CHECK(strcmp(beckon_reason_name(BECKON_REASON_STORE_UNAVAILABLE),
               "store_unavailable") == 0);
  CHECK(strcmp(beckon_reason_name(BECKON_REASON_OFFER_RATE_CAP),
               "offer_rate_cap") == 0);
  CHECK(BECKON_REASON_STORE_UNAVAILABLE == 12 &&
        BECKON_REASON_OFFER_RATE_CAP == 13 && BECKON_REASON_COUNT == 14);
  CHECK(beckon_reason_name(BECKON_REASON_COUNT - 1) != NULL);
  CHECK(beckon_reason_name(BECKON_REASON_COUNT) == NULL);
  CHECK(beckon_reason_name(-7) == NULL);
  beckon_free(NULL);
}

static void TestErrptrContract(void) {
  beckon_policy_t* policy = NULL;
  char sentinel = 'x';
  char* err = &sentinel; /* Never read, never freed: only overwritten. */
  /* Success stores NULL whatever *errptr held. */
  CHECK(beckon_policy_default(&policy, &err) == BECKON_OK);
  CHECK(err == NULL);
  beckon_policy_destroy(policy);
  /* Failure stores a fresh message whatever *errptr held. */
  err = &sentinel;
  CHECK(beckon_policy_default(NULL, &err) == BECKON_INVALID_ARGUMENT);
  CHECK(err != NULL && err != &sentinel);
  if (err != &sentinel) beckon_free(err);
  /* errptr may be NULL: the code alone reports the failure. */
  CHECK(beckon_policy_default(NULL, NULL) == BECKON_INVALID_ARGUMENT);
  policy = NULL;
  CHECK(beckon_policy_default(&policy, NULL) == BECKON_OK);
  CHECK(policy != NULL);
  beckon_policy_destroy(policy);
  /* Destroy functions accept NULL. */
  beckon_policy_destroy(NULL);
  beckon_engine_options_destroy(NULL);
  beckon_engine_destroy(NULL);
  beckon_decision_destroy(NULL);
}

static void TestPolicyRoundTrips(void) {
  beckon_policy_t* policy = NULL;
  beckon_policy_t* again = NULL;
  char* err = NULL;
  char* bytes = NULL;
  size_t bytes_size = 0;
  char* bytes2 = NULL;
  size_t bytes2_size = 0;
  char* text = NULL;
  size_t text_size = 0;
  const char* name = NULL;
  char path[128];

  EXPECT_OK(beckon_policy_default(&policy, &err));
  EXPECT_OK(beckon_policy_name(policy, &name, &err));
  CHECK(name != NULL && strcmp(name, "beckon-default") == 0);

  /* Bytes. */
  EXPECT_OK(beckon_policy_to_bytes(policy, &bytes, &bytes_size, &err));
  CHECK(bytes != NULL && bytes_size > 100);
  CHECK(bytes != NULL && bytes[bytes_size] == '\0');
  EXPECT_OK(beckon_policy_from_bytes(bytes, bytes_size, &again, &err));
  EXPECT_OK(beckon_policy_to_bytes(again, &bytes2, &bytes2_size, &err));
  CHECK(bytes2_size == bytes_size && memcmp(bytes, bytes2, bytes_size) == 0);
  beckon_free(bytes2);
  beckon_policy_destroy(again);
  again = NULL;

  /* Text: NUL-terminated, and parsed back to the same policy. */
  EXPECT_OK(beckon_policy_to_text(policy, &text, &text_size, &err));
  CHECK(text != NULL && strlen(text) == text_size);
  CHECK(text != NULL && strstr(text, "beckon-default") != NULL);
  EXPECT_OK(beckon_policy_from_text(text, text_size, &again, &err));
  EXPECT_OK(beckon_policy_to_bytes(again, &bytes2, &bytes2_size, &err));
  CHECK(bytes2_size == bytes_size && memcmp(bytes, bytes2, bytes_size) == 0);
  beckon_free(bytes2);
  beckon_policy_destroy(again);
  again = NULL;

  /* File. */
  TempPath("policy", path, sizeof(path));
  EXPECT_OK(beckon_policy_to_file(policy, path, &err));
  EXPECT_OK(beckon_policy_from_file(path, &again, &err));
  EXPECT_OK(beckon_policy_to_bytes(again, &bytes2, &bytes2_size, &err));
  CHECK(bytes2_size == bytes_size && memcmp(bytes, bytes2, bytes_size) == 0);
  beckon_free(bytes2);
  beckon_policy_destroy(again);
  remove(path);

  beckon_free(text);
  beckon_free(bytes);
  beckon_policy_destroy(policy);
}

static void TestPolicyErrors(void) {
  beckon_policy_t* policy = NULL;
  beckon_policy_t* out = NULL;
  beckon_engine_t* engine = NULL;
  beckon_decision_t* decision = NULL;
  char* err = NULL;
  char* text = NULL;
  size_t text_size = 0;
  char* data = NULL;
  size_t size = 0;
  const char* name = NULL;
  char* bad = NULL;
  char* field = NULL;
  char path[128];
  static const char kGarbage[] = "\xff\xff\xff\xff not a policy";

  EXPECT_OK(beckon_policy_default(&policy, &err));
  EXPECT_OK(beckon_decision_create(&decision, &err));

  EXPECT_ERROR(beckon_policy_default(NULL, &err), BECKON_INVALID_ARGUMENT,
               "beckon_policy_default: policy is NULL");

  /* Malformed and invalid bytes; outputs stay cleared. */
  out = (beckon_policy_t*)decision; /* Junk that must be overwritten. */
  EXPECT_ERROR(
      beckon_policy_from_bytes(kGarbage, sizeof(kGarbage) - 1, &out, &err),
      BECKON_INVALID_ARGUMENT, "policy");
  CHECK(out == NULL);
  EXPECT_ERROR(beckon_policy_from_bytes(NULL, 5, &out, &err),
               BECKON_INVALID_ARGUMENT, "data is NULL but its size is 5");
  CHECK(out == NULL);
  EXPECT_ERROR(beckon_policy_from_bytes(NULL, 0, &out, &err),
               BECKON_INVALID_ARGUMENT, "invalid policy");
  CHECK(out == NULL);
  EXPECT_ERROR(beckon_policy_from_bytes(kGarbage, 4, NULL, &err),
               BECKON_INVALID_ARGUMENT, "policy is NULL");
  /* A size no message can have (a negative length cast to size_t) is
   * rejected before anything reads that far. */
  EXPECT_ERROR(beckon_policy_from_bytes(kGarbage, (size_t)-1, &out, &err),
               BECKON_INVALID_ARGUMENT, "the size of data is");
  CHECK(out == NULL);
  EXPECT_ERROR(beckon_policy_from_text(kGarbage, (size_t)-1, &out, &err),
               BECKON_INVALID_ARGUMENT, "at most 2147483647");
  EXPECT_ERROR(beckon_engine_create_from_policy_bytes(kGarbage, (size_t)1 << 40,
                                                      NULL, &engine, &err),
               BECKON_INVALID_ARGUMENT, "the size of data is 1099511627776");
  CHECK(engine == NULL);

  /* Text: a syntax error, and a value out of range named by its field. */
  EXPECT_ERROR(beckon_policy_from_text("name: ", 6, &out, &err),
               BECKON_INVALID_ARGUMENT, "policy");
  CHECK(out == NULL);
  EXPECT_ERROR(beckon_policy_from_text(NULL, 1, &out, &err),
               BECKON_INVALID_ARGUMENT, "text is NULL but its size is 1");
  EXPECT_OK(beckon_policy_to_text(policy, &text, &text_size, &err));
  field = text != NULL ? strstr(text, "dwell_threshold_s: ") : NULL;
  CHECK(field != NULL);
  if (field != NULL) {
    /* Replace the first threshold's value with -1. */
    const size_t head = (size_t)(field - text) + strlen("dwell_threshold_s: ");
    const char* tail = strchr(text + head, '\n');
    bad = (char*)malloc(text_size + 8);
    memcpy(bad, text, head);
    strcpy(bad + head, "-1");
    strcat(bad, tail != NULL ? tail : "");
    EXPECT_ERROR(beckon_policy_from_text(bad, strlen(bad), &out, &err),
                 BECKON_INVALID_ARGUMENT, "dwell_threshold_s");
    CHECK(out == NULL);
    free(bad);
  }
  beckon_free(text);

  /* Files. */
  EXPECT_ERROR(
      beckon_policy_from_file("/nonexistent/beckon.policy", &out, &err),
      BECKON_NOT_FOUND, "/nonexistent/beckon.policy");
  CHECK(out == NULL);
  EXPECT_ERROR(beckon_policy_from_file(NULL, &out, &err),
               BECKON_INVALID_ARGUMENT, "path is NULL");
  EXPECT_ERROR(beckon_policy_from_file("/", &out, &err),
               BECKON_INVALID_ARGUMENT, "director");
  EXPECT_ERROR(beckon_policy_to_file(policy, "/nonexistent/dir/p.bin", &err),
               BECKON_PERMISSION_DENIED, "/nonexistent/dir/p.bin");
  EXPECT_ERROR(beckon_policy_to_file(policy, NULL, &err),
               BECKON_INVALID_ARGUMENT, "path is NULL");
  EXPECT_ERROR(beckon_policy_to_file(NULL, "x", &err), BECKON_INVALID_ARGUMENT,
               "policy is NULL");
  TempPath("garbage", path, sizeof(path));
  {
    FILE* f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f != NULL) {
      fwrite(kGarbage, 1, sizeof(kGarbage) - 1, f);
      fclose(f);
    }
  }
  EXPECT_ERROR(beckon_policy_from_file(path, &out, &err),
               BECKON_INVALID_ARGUMENT, "policy");
  CHECK(out == NULL);
  remove(path);

  /* Serializing: NULL handle, NULL outputs, a handle of another kind. */
  EXPECT_ERROR(beckon_policy_to_bytes(NULL, &data, &size, &err),
               BECKON_INVALID_ARGUMENT, "policy is NULL");
  CHECK(data == NULL && size == 0);
  EXPECT_ERROR(beckon_policy_to_bytes(policy, NULL, &size, &err),
               BECKON_INVALID_ARGUMENT, "data is NULL");
  EXPECT_ERROR(beckon_policy_to_bytes(policy, &data, NULL, &err),
               BECKON_INVALID_ARGUMENT, "size is NULL");
  CHECK(data == NULL);
  EXPECT_ERROR(beckon_policy_to_text(policy, NULL, &size, &err),
               BECKON_INVALID_ARGUMENT, "text is NULL");
  EXPECT_ERROR(beckon_policy_to_text(NULL, &data, &size, &err),
               BECKON_INVALID_ARGUMENT, "policy is NULL");
  EXPECT_ERROR(beckon_policy_to_bytes((const beckon_policy_t*)decision, &data,
                                      &size, &err),
               BECKON_INVALID_ARGUMENT, "policy is not a live beckon_policy_t");
  EXPECT_ERROR(beckon_policy_name(NULL, &name, &err), BECKON_INVALID_ARGUMENT,
               "policy is NULL");
  CHECK(name == NULL);
  EXPECT_ERROR(beckon_policy_name(policy, NULL, &err), BECKON_INVALID_ARGUMENT,
               "name is NULL");
  /* Destroying a handle of another kind is ignored, not a crash. */
  beckon_policy_destroy((beckon_policy_t*)decision);
  CHECK(Info(decision).reason == BECKON_REASON_NO_SESSION);

  beckon_decision_destroy(decision);
  beckon_policy_destroy(policy);
}

static void TestOptions(void) {
  beckon_engine_options_t* options = NULL;
  beckon_engine_options_t* keyed = NULL;
  beckon_engine_t* engine = NULL;
  beckon_engine_t* other = NULL;
  beckon_policy_t* policy = NULL;
  char* err = NULL;
  char* snap = NULL;
  size_t snap_size = 0;

  EXPECT_ERROR(beckon_engine_options_create(NULL, &err),
               BECKON_INVALID_ARGUMENT, "options is NULL");
  EXPECT_OK(beckon_engine_options_create(&options, &err));
  EXPECT_OK(beckon_policy_default(&policy, &err));

  /* Values are checked when an engine is created. */
  EXPECT_OK(beckon_engine_options_set_shards(options, 3, &err));
  EXPECT_ERROR(beckon_engine_create(policy, options, &engine, &err),
               BECKON_INVALID_ARGUMENT, "shards");
  CHECK(engine == NULL);
  EXPECT_OK(beckon_engine_options_set_shards(options, 4, &err));
  EXPECT_OK(beckon_engine_options_set_max_sessions(options, 0, &err));
  EXPECT_ERROR(beckon_engine_create_default(options, &engine, &err),
               BECKON_INVALID_ARGUMENT, "max_sessions");
  EXPECT_OK(beckon_engine_options_set_max_sessions(options, 2, &err));
  EXPECT_OK(beckon_engine_options_set_max_memory_records(options, 0, &err));
  EXPECT_ERROR(beckon_engine_create_default(options, &engine, &err),
               BECKON_INVALID_ARGUMENT, "max_memory_records");
  EXPECT_OK(beckon_engine_options_set_max_memory_records(options, 8, &err));

  /* max_sessions 2 over 4 shards: one session per shard, so ten visitors
   * leave at most four sessions and evict the rest. */
  EXPECT_OK(beckon_engine_create(policy, options, &engine, &err));
  {
    int i;
    char id[16];
    beckon_stats_t stats;
    for (i = 0; i < 10; ++i) {
      snprintf(id, sizeof(id), "v%d", i);
      EXPECT_OK(beckon_engine_observe_page_view(engine, kT0 + i, id, "/p/1",
                                                NULL, &err));
    }
    stats = Stats(engine);
    CHECK(stats.live_sessions <= 4);
    CHECK(stats.sessions_evicted >= 6);
    CHECK(stats.sessions_started == 10);
  }

  /* The visitor key: a snapshot restores only under the same key. */
  EXPECT_OK(beckon_engine_options_create(&keyed, &err));
  EXPECT_OK(beckon_engine_options_set_visitor_key(keyed, 1, 2, &err));
  beckon_engine_destroy(engine);
  EXPECT_OK(beckon_engine_create(policy, keyed, &engine, &err));
  EXPECT_OK(
      beckon_engine_observe_page_view(engine, kT0, "anna", "/", NULL, &err));
  snap = Snapshot(engine, &snap_size);
  EXPECT_OK(beckon_engine_create(policy, NULL, &other, &err));
  EXPECT_ERROR(beckon_engine_restore(other, snap, snap_size, &err),
               BECKON_FAILED_PRECONDITION, "key");
  beckon_engine_destroy(other);
  EXPECT_OK(beckon_engine_create(policy, keyed, &other, &err));
  EXPECT_OK(beckon_engine_restore(other, snap, snap_size, &err));
  CHECK(Stats(other).live_sessions == 1);
  beckon_free(snap);
  beckon_engine_destroy(other);

  /* A key file: created private, then read by the next engine. */
  {
    char key_path[] = "/tmp/beckon_c_api_keyXXXXXX";
    int fd = mkstemp(key_path);
    CHECK(fd >= 0);
    close(fd);
    unlink(key_path);
    beckon_engine_options_t* filed = NULL;
    EXPECT_OK(beckon_engine_options_create(&filed, &err));
    EXPECT_OK(beckon_engine_options_set_visitor_key_file(filed, key_path, &err));
    beckon_engine_destroy(engine);
    EXPECT_OK(beckon_engine_create(policy, filed, &engine, &err));
    EXPECT_OK(
        beckon_engine_observe_page_view(engine, kT0, "anna", "/", NULL, &err));
    snap = Snapshot(engine, &snap_size);
    EXPECT_OK(beckon_engine_create(policy, filed, &other, &err));
    EXPECT_OK(beckon_engine_restore(other, snap, snap_size, &err));
    beckon_free(snap);
    beckon_engine_destroy(other);
    struct stat st;
    CHECK(stat(key_path, &st) == 0 && (st.st_mode & 0777) == 0600);
    EXPECT_OK(beckon_engine_options_set_visitor_key(filed, 1, 2, &err));
    EXPECT_ERROR(beckon_engine_create(policy, filed, &other, &err),
                 BECKON_INVALID_ARGUMENT, "not both");
    EXPECT_ERROR(beckon_engine_options_set_visitor_key_file(filed, NULL, &err),
                 BECKON_INVALID_ARGUMENT, "path is NULL");
    beckon_engine_options_destroy(filed);
    unlink(key_path);
  }

  /* Setters reject NULL and handles of another kind. */
  EXPECT_ERROR(beckon_engine_options_set_max_sessions(NULL, 1, &err),
               BECKON_INVALID_ARGUMENT,
               "beckon_engine_options_set_max_sessions: options is NULL");
  EXPECT_ERROR(beckon_engine_options_set_max_memory_records(NULL, 1, &err),
               BECKON_INVALID_ARGUMENT, "options is NULL");
  EXPECT_ERROR(beckon_engine_options_set_shards(NULL, 1, &err),
               BECKON_INVALID_ARGUMENT, "options is NULL");
  EXPECT_ERROR(beckon_engine_options_set_visitor_key(NULL, 1, 2, &err),
               BECKON_INVALID_ARGUMENT, "options is NULL");
  EXPECT_ERROR(beckon_engine_options_set_shards(
                   (beckon_engine_options_t*)policy, 1, &err),
               BECKON_INVALID_ARGUMENT,
               "options is not a live beckon_engine_options_t");
  EXPECT_ERROR(
      beckon_engine_create(policy, (const beckon_engine_options_t*)policy,
                           &other, &err),
      BECKON_INVALID_ARGUMENT, "options is not a live");
  CHECK(other == NULL);

  beckon_engine_destroy(engine);
  beckon_engine_options_destroy(keyed);
  /* The decision log: one JSON line per decision, appended; a path that
   * cannot be opened fails Create. */
  {
    beckon_engine_options_t* logged = NULL;
    beckon_decision_t* decision = NULL;
    char log_path[128];
    char line[1024];
    int lines = 0;
    FILE* f;
    TempPath("decisions.jsonl", log_path, sizeof(log_path));
    remove(log_path);
    EXPECT_OK(beckon_engine_options_create(&logged, &err));
    EXPECT_OK(beckon_engine_options_set_decision_log(
        logged, "/nonexistent-dir/d.jsonl", &err));
    EXPECT_ERROR(beckon_engine_create(policy, logged, &engine, &err),
                 BECKON_INVALID_ARGUMENT, "decision_log_path");
    CHECK(engine == NULL);
    EXPECT_ERROR(beckon_engine_options_set_decision_log(logged, NULL, &err),
                 BECKON_INVALID_ARGUMENT, "path is NULL");
    EXPECT_OK(beckon_engine_options_set_decision_log(logged, log_path, &err));
    EXPECT_OK(beckon_engine_create(policy, logged, &engine, &err));
    EXPECT_OK(beckon_decision_create(&decision, &err));
    EXPECT_OK(beckon_engine_decide(engine, "a", kT0, decision, &err));
    EXPECT_OK(beckon_engine_decide(engine, "b", kT0, decision, &err));
    beckon_engine_destroy(engine);
    engine = NULL;
    f = fopen(log_path, "r");
    CHECK(f != NULL);
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
      CHECK(strstr(line, "\"reason\":\"no_session\"") != NULL);
      ++lines;
    }
    if (f != NULL) fclose(f);
    CHECK(lines == 2);
    remove(log_path);
    beckon_decision_destroy(decision);
    beckon_engine_options_destroy(logged);
  }

  beckon_engine_options_destroy(options);
  beckon_policy_destroy(policy);
}

/* Page URL and referrer caps: over-long ones are rejected before any lock,
 * changing nothing; events that do not read the page take any length. */
static void TestUrlCaps(void) {
  beckon_engine_options_t* options = NULL;
  beckon_engine_t* engine = NULL;
  beckon_stats_t stats;
  char* err = NULL;
  char page[64];
  char* huge = NULL;

  EXPECT_OK(beckon_engine_options_create(&options, &err));
  EXPECT_OK(beckon_engine_options_set_max_url_bytes(options, 0, &err));
  EXPECT_ERROR(beckon_engine_create_default(options, &engine, &err),
               BECKON_INVALID_ARGUMENT, "max_url_bytes must be >= 1");
  CHECK(engine == NULL);
  EXPECT_OK(beckon_engine_options_set_max_url_bytes(options, 16, &err));
  EXPECT_OK(beckon_engine_options_set_max_referrer_bytes(options, 0, &err));
  EXPECT_ERROR(beckon_engine_create_default(options, &engine, &err),
               BECKON_INVALID_ARGUMENT, "max_referrer_bytes must be >= 1");
  EXPECT_OK(beckon_engine_options_set_max_referrer_bytes(options, 21, &err));
  EXPECT_OK(beckon_engine_create_default(options, &engine, &err));

  memset(page, 'p', sizeof(page));
  page[0] = '/';
  page[16] = '\0'; /* 16 bytes: at the cap. */
  /* The referrer: 21 bytes, at its cap. */
  EXPECT_OK(beckon_engine_observe_page_view(engine, kT0, "v", page,
                                            "https://www.bing.com/", &err));
  page[16] = 'p';
  page[17] = '\0'; /* 17 bytes. */
  EXPECT_ERROR(
      beckon_engine_observe_page_view(engine, kT0 + 1, "v", page, NULL, &err),
      BECKON_INVALID_ARGUMENT, "page_view page is 17 bytes; at most 16");
  EXPECT_ERROR(
      beckon_engine_observe_search(engine, kT0 + 1, "v", page, 0, &err),
      BECKON_INVALID_ARGUMENT, "search page is 17 bytes; at most 16");
  EXPECT_ERROR(beckon_engine_observe_page_view(engine, kT0 + 1, "v", "/",
                                               "https://www.bing.com/?q=x",
                                               &err),
               BECKON_INVALID_ARGUMENT,
               "page_view referrer is 25 bytes; at most 21");
  stats = Stats(engine);
  CHECK(stats.events_observed == 1);
  CHECK(stats.events_rejected == 3);

  /* A decline with a 1 MB page is recorded. */
  huge = (char*)malloc(1u << 20);
  CHECK(huge != NULL);
  if (huge != NULL) {
    memset(huge, 'x', (1u << 20) - 1);
    huge[(1u << 20) - 1] = '\0';
    EXPECT_OK(beckon_engine_observe_offer_declined(engine, kT0 + 2, "v", huge,
                                                   BECKON_CHANNEL_CHAT, &err));
    free(huge);
  }
  CHECK(Stats(engine).memory_records == 1);

  EXPECT_ERROR(beckon_engine_options_set_max_url_bytes(NULL, 1, &err),
               BECKON_INVALID_ARGUMENT,
               "beckon_engine_options_set_max_url_bytes: options is NULL");
  EXPECT_ERROR(beckon_engine_options_set_max_referrer_bytes(NULL, 1, &err),
               BECKON_INVALID_ARGUMENT,
               "beckon_engine_options_set_max_referrer_bytes: options is "
               "NULL");
  beckon_engine_destroy(engine);
  beckon_engine_options_destroy(options);
}

static void TestEngineCreate(void) {
  beckon_policy_t* policy = NULL;
  beckon_policy_t* from_engine = NULL;
  beckon_engine_t* engine = NULL;
  char* err = NULL;
  char* bytes = NULL;
  size_t size = 0;
  const char* name = NULL;
  char path[128];

  EXPECT_OK(beckon_policy_default(&policy, &err));
  EXPECT_OK(beckon_policy_to_bytes(policy, &bytes, &size, &err));

  EXPECT_OK(beckon_engine_create(policy, NULL, &engine, &err));
  beckon_policy_destroy(policy); /* The engine keeps its own copy. */
  policy = NULL;
  EXPECT_OK(beckon_engine_policy(engine, &from_engine, &err));
  EXPECT_OK(beckon_policy_name(from_engine, &name, &err));
  CHECK(name != NULL && strcmp(name, "beckon-default") == 0);
  beckon_engine_destroy(engine);
  engine = NULL;

  EXPECT_OK(
      beckon_engine_create_from_policy_bytes(bytes, size, NULL, &engine, &err));
  CHECK(engine != NULL);
  beckon_engine_destroy(engine);
  engine = NULL;

  TempPath("engine_policy", path, sizeof(path));
  EXPECT_OK(beckon_policy_to_file(from_engine, path, &err));
  EXPECT_OK(beckon_engine_create_from_policy_file(path, NULL, &engine, &err));
  CHECK(engine != NULL);
  beckon_engine_destroy(engine);
  engine = NULL;
  remove(path);

  /* Errors leave *engine NULL. */
  EXPECT_ERROR(beckon_engine_create(NULL, NULL, &engine, &err),
               BECKON_INVALID_ARGUMENT, "beckon_engine_create: policy is NULL");
  CHECK(engine == NULL);
  EXPECT_ERROR(beckon_engine_create(from_engine, NULL, NULL, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(beckon_engine_create_default(NULL, NULL, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(
      beckon_engine_create_from_policy_bytes("junk", 4, NULL, &engine, &err),
      BECKON_INVALID_ARGUMENT, "policy");
  CHECK(engine == NULL);
  EXPECT_ERROR(
      beckon_engine_create_from_policy_bytes(NULL, 9, NULL, &engine, &err),
      BECKON_INVALID_ARGUMENT, "data is NULL but its size is 9");
  EXPECT_ERROR(
      beckon_engine_create_from_policy_bytes(bytes, size, NULL, NULL, &err),
      BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(beckon_engine_create_from_policy_file("/nonexistent/p", NULL,
                                                     &engine, &err),
               BECKON_NOT_FOUND, "/nonexistent/p");
  CHECK(engine == NULL);
  EXPECT_ERROR(beckon_engine_create_from_policy_file(NULL, NULL, &engine, &err),
               BECKON_INVALID_ARGUMENT, "path is NULL");
  EXPECT_ERROR(beckon_engine_policy(NULL, &policy, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  CHECK(policy == NULL);
  engine = MakeEngine();
  EXPECT_ERROR(beckon_engine_policy(engine, NULL, &err),
               BECKON_INVALID_ARGUMENT, "policy is NULL");
  EXPECT_ERROR(
      beckon_engine_policy((const beckon_engine_t*)from_engine, &policy, &err),
      BECKON_INVALID_ARGUMENT, "engine is not a live beckon_engine_t");

  beckon_engine_destroy(engine);
  beckon_policy_destroy(from_engine);
  beckon_free(bytes);
}

static void TestObserveEveryKind(void) {
  beckon_engine_t* engine = MakeEngine();
  beckon_decision_t* decision = NULL;
  char* err = NULL;
  beckon_stats_t stats;
  beckon_decision_info_t info;
  const char* v = "visitor-1";

  EXPECT_OK(beckon_decision_create(&decision, &err));
  EXPECT_OK(beckon_engine_observe_agents(engine, kT0, 2, &err));
  EXPECT_OK(
      beckon_engine_observe_page_view(engine, kT0, v, "/c/shoes", NULL, &err));
  EXPECT_OK(beckon_engine_observe_search(engine, kT0 + 1 * kSec, v,
                                         "/search?q=boots", 12, &err));
  EXPECT_OK(beckon_engine_observe_cart(engine, kT0 + 2 * kSec, v, "/p/1", 49.5,
                                       &err));
  EXPECT_OK(beckon_engine_observe_offer_shown(engine, kT0 + 3 * kSec, v, "/p/1",
                                              BECKON_CHANNEL_CHAT, &err));
  EXPECT_OK(beckon_engine_observe_offer_ignored(
      engine, kT0 + 4 * kSec, v, "/p/1", BECKON_CHANNEL_CHAT, &err));
  EXPECT_OK(beckon_engine_observe_offer_shown(engine, kT0 + 5 * kSec, v, "/p/1",
                                              BECKON_CHANNEL_CALL, &err));
  EXPECT_OK(beckon_engine_observe_offer_accepted(
      engine, kT0 + 6 * kSec, v, "/p/1", BECKON_CHANNEL_CALL, &err));
  EXPECT_OK(beckon_engine_observe_purchase(engine, kT0 + 7 * kSec, v,
                                           "/checkout/done", 49.5, &err));
  EXPECT_OK(beckon_engine_observe_help_contact(
      engine, kT0 + 8 * kSec, "w", "/help", BECKON_CHANNEL_EMAIL, &err));
  EXPECT_OK(beckon_engine_observe_offer_declined(
      engine, kT0 + 9 * kSec, "x", "/", BECKON_CHANNEL_FORM, &err));
  EXPECT_OK(beckon_engine_observe_offer_declined(
      engine, kT0 + 9 * kSec, "y", "", BECKON_CHANNEL_UNSPECIFIED, &err));

  stats = Stats(engine);
  CHECK(stats.events_observed == 11); /* Agents events are not counted. */
  CHECK(stats.events_rejected == 0);
  CHECK(stats.memory_records == 3); /* Ignored by v, declined by x, y. */

  /* Each event had its effect: v accepted (engaged), x declined. */
  EXPECT_OK(beckon_engine_decide(engine, v, kT0 + 60 * kSec, decision, &err));
  info = Info(decision);
  CHECK(info.action == BECKON_ACTION_SUPPRESS);
  CHECK(info.reason == BECKON_REASON_ENGAGED);
  CHECK(info.has_recheck_at == 0 && info.recheck_at_ms == 0);
  EXPECT_OK(beckon_engine_observe_page_view(engine, kT0 + 70 * kSec, "x",
                                            "/checkout", NULL, &err));
  EXPECT_OK(
      beckon_engine_decide(engine, "x", kT0 + 600 * kSec, decision, &err));
  info = Info(decision);
  CHECK(info.action == BECKON_ACTION_SUPPRESS);
  CHECK(info.reason == BECKON_REASON_DECLINED);
  CHECK(info.reason_count >= 1);

  beckon_decision_destroy(decision);
  beckon_engine_destroy(engine);
}

/* Every observe function's argument errors: each rejected, with a message
 * naming the problem, changing no visitor state. */
static void TestObserveErrors(void) {
  beckon_engine_t* engine = MakeEngine();
  beckon_policy_t* policy = NULL;
  beckon_engine_t* not_engine = NULL;
  char* err = NULL;
  char* before = NULL;
  size_t before_size = 0;
  beckon_stats_t stats;
  char long_id[200];
  const char* v = "anna";

  EXPECT_OK(beckon_policy_default(&policy, &err));
  not_engine = (beckon_engine_t*)policy;
  EXPECT_OK(beckon_engine_observe_agents(engine, kT0, 2, &err));
  EXPECT_OK(beckon_engine_observe_page_view(engine, kT0 + 10 * kSec, v, "/help",
                                            NULL, &err));
  EXPECT_OK(beckon_engine_observe_offer_declined(
      engine, kT0 + 20 * kSec, "z", "/", BECKON_CHANNEL_CHAT, &err));
  before = Snapshot(engine, &before_size);
  memset(long_id, 'a', sizeof(long_id) - 1);
  long_id[sizeof(long_id) - 1] = '\0';

  /* NULL engine, NULL and wrong-kind handles. */
  EXPECT_ERROR(beckon_engine_observe_page_view(NULL, kT0, v, "/", NULL, &err),
               BECKON_INVALID_ARGUMENT,
               "beckon_engine_observe_page_view: engine is NULL");
  EXPECT_ERROR(beckon_engine_observe_page_view(not_engine, kT0 + 30 * kSec, v,
                                               "/", NULL, &err),
               BECKON_INVALID_ARGUMENT, "engine is not a live beckon_engine_t");
  EXPECT_ERROR(beckon_engine_observe_search(NULL, kT0, v, "/", 0, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(beckon_engine_observe_cart(NULL, kT0, v, "/", 1, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(beckon_engine_observe_help_contact(NULL, kT0, v, "/", 1, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(beckon_engine_observe_offer_shown(NULL, kT0, v, "/", 1, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(beckon_engine_observe_offer_accepted(NULL, kT0, v, "/", 1, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(beckon_engine_observe_offer_declined(NULL, kT0, v, "/", 1, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(beckon_engine_observe_offer_ignored(NULL, kT0, v, "/", 1, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(beckon_engine_observe_purchase(NULL, kT0, v, "/", 1, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(beckon_engine_observe_agents(NULL, kT0, 1, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(beckon_engine_observe_agents(not_engine, kT0, 1, &err),
               BECKON_INVALID_ARGUMENT, "engine is not a live");

  /* NULL visitor and page, on every visitor event. */
  EXPECT_ERROR(beckon_engine_observe_page_view(engine, kT0 + 30 * kSec, NULL,
                                               "/", NULL, &err),
               BECKON_INVALID_ARGUMENT, "visitor is NULL");
  EXPECT_ERROR(beckon_engine_observe_page_view(engine, kT0 + 30 * kSec, v, NULL,
                                               NULL, &err),
               BECKON_INVALID_ARGUMENT, "page is NULL");
  EXPECT_ERROR(beckon_engine_observe_search(engine, kT0 + 30 * kSec, NULL, "/s",
                                            0, &err),
               BECKON_INVALID_ARGUMENT, "visitor is NULL");
  EXPECT_ERROR(
      beckon_engine_observe_search(engine, kT0 + 30 * kSec, v, NULL, 0, &err),
      BECKON_INVALID_ARGUMENT, "page is NULL");
  EXPECT_ERROR(
      beckon_engine_observe_cart(engine, kT0 + 30 * kSec, NULL, "/", 1, &err),
      BECKON_INVALID_ARGUMENT, "visitor is NULL");
  EXPECT_ERROR(
      beckon_engine_observe_cart(engine, kT0 + 30 * kSec, v, NULL, 1, &err),
      BECKON_INVALID_ARGUMENT, "page is NULL");
  EXPECT_ERROR(beckon_engine_observe_help_contact(engine, kT0 + 30 * kSec, NULL,
                                                  "/", 1, &err),
               BECKON_INVALID_ARGUMENT, "visitor is NULL");
  EXPECT_ERROR(beckon_engine_observe_help_contact(engine, kT0 + 30 * kSec, v,
                                                  NULL, 1, &err),
               BECKON_INVALID_ARGUMENT, "page is NULL");
  EXPECT_ERROR(beckon_engine_observe_offer_shown(engine, kT0 + 30 * kSec, NULL,
                                                 "/", 1, &err),
               BECKON_INVALID_ARGUMENT, "visitor is NULL");
  EXPECT_ERROR(beckon_engine_observe_offer_accepted(engine, kT0 + 30 * kSec, v,
                                                    NULL, 1, &err),
               BECKON_INVALID_ARGUMENT, "page is NULL");
  EXPECT_ERROR(beckon_engine_observe_offer_declined(engine, kT0 + 30 * kSec,
                                                    NULL, "/", 1, &err),
               BECKON_INVALID_ARGUMENT, "visitor is NULL");
  EXPECT_ERROR(beckon_engine_observe_offer_ignored(engine, kT0 + 30 * kSec, v,
                                                   NULL, 1, &err),
               BECKON_INVALID_ARGUMENT, "page is NULL");
  EXPECT_ERROR(beckon_engine_observe_purchase(engine, kT0 + 30 * kSec, NULL,
                                              "/", 1, &err),
               BECKON_INVALID_ARGUMENT, "visitor is NULL");
  EXPECT_ERROR(
      beckon_engine_observe_purchase(engine, kT0 + 30 * kSec, v, NULL, 1, &err),
      BECKON_INVALID_ARGUMENT, "page is NULL");

  /* Values the engine rejects. */
  EXPECT_ERROR(beckon_engine_observe_page_view(engine, kT0 + 30 * kSec, "", "/",
                                               NULL, &err),
               BECKON_INVALID_ARGUMENT, "visitor id is empty");
  EXPECT_ERROR(beckon_engine_observe_page_view(engine, kT0 + 30 * kSec, long_id,
                                               "/", NULL, &err),
               BECKON_INVALID_ARGUMENT, "visitor id is 199 bytes");
  EXPECT_ERROR(beckon_engine_observe_page_view(engine, -1, v, "/", NULL, &err),
               BECKON_INVALID_ARGUMENT, "out of range");
  EXPECT_ERROR(beckon_engine_observe_page_view(engine, kT0, v, "/", NULL, &err),
               BECKON_INVALID_ARGUMENT, "time went backwards");
  EXPECT_ERROR(
      beckon_engine_observe_search(engine, kT0 + 30 * kSec, v, "/s", -1, &err),
      BECKON_INVALID_ARGUMENT, "result");
  EXPECT_ERROR(
      beckon_engine_observe_cart(engine, kT0 + 30 * kSec, v, "/", -5.0, &err),
      BECKON_INVALID_ARGUMENT, "value");
  EXPECT_ERROR(
      beckon_engine_observe_cart(engine, kT0 + 30 * kSec, v, "/", NAN, &err),
      BECKON_INVALID_ARGUMENT, "value");
  EXPECT_ERROR(beckon_engine_observe_purchase(engine, kT0 + 30 * kSec, v, "/",
                                              INFINITY, &err),
               BECKON_INVALID_ARGUMENT, "value");
  EXPECT_ERROR(beckon_engine_observe_purchase(engine, kT0 + 30 * kSec, v, "/",
                                              1e15, &err),
               BECKON_INVALID_ARGUMENT, "value");
  EXPECT_ERROR(beckon_engine_observe_help_contact(engine, kT0 + 30 * kSec, v,
                                                  "/", 5, &err),
               BECKON_INVALID_ARGUMENT, "unknown channel 5");
  EXPECT_ERROR(beckon_engine_observe_offer_shown(engine, kT0 + 30 * kSec, v,
                                                 "/", -1, &err),
               BECKON_INVALID_ARGUMENT, "unknown channel -1");
  EXPECT_ERROR(beckon_engine_observe_offer_declined(engine, kT0 + 30 * kSec, v,
                                                    "/", 256, &err),
               BECKON_INVALID_ARGUMENT, "unknown channel 256");
  EXPECT_ERROR(beckon_engine_observe_offer_ignored(engine, kT0 + 30 * kSec, v,
                                                   "/", 1000000, &err),
               BECKON_INVALID_ARGUMENT, "unknown channel 1000000");
  EXPECT_ERROR(beckon_engine_observe_agents(engine, kT0 + 30 * kSec, -1, &err),
               BECKON_INVALID_ARGUMENT, "agents");
  EXPECT_ERROR(
      beckon_engine_observe_agents(engine, kT0 + 30 * kSec, 1000001, &err),
      BECKON_INVALID_ARGUMENT, "agents");
  EXPECT_ERROR(beckon_engine_observe_agents(engine, kT0 - 1, 1, &err),
               BECKON_INVALID_ARGUMENT, "time went backwards");

  /* Nothing changed; the engine-level rejections were counted. */
  CHECK(SameState(engine, before, before_size));
  stats = Stats(engine);
  CHECK(stats.events_observed == 2);
  CHECK(stats.events_rejected == 12);
  /* And the engine still works. */
  EXPECT_OK(beckon_engine_observe_page_view(engine, kT0 + 30 * kSec, v, "/",
                                            NULL, &err));
  CHECK(!SameState(engine, before, before_size));

  beckon_free(before);
  beckon_policy_destroy(policy);
  beckon_engine_destroy(engine);
}

static void TestDecide(void) {
  beckon_engine_t* engine = MakeEngine();
  beckon_decision_t* decision = NULL;
  beckon_decision_t* fresh = NULL;
  char* err = NULL;
  beckon_decision_info_t info;
  beckon_decision_info_t kept;
  const char* text = NULL;
  const char* feature = NULL;
  double value = -1;
  double contribution = -1;
  int64_t offered_at;
  uint32_t i;
  int named_features = 0;
  char* before = NULL;
  size_t before_size = 0;

  EXPECT_OK(beckon_decision_create(&fresh, &err));
  info = Info(fresh);
  CHECK(info.action == BECKON_ACTION_WAIT);
  CHECK(info.reason == BECKON_REASON_NO_SESSION);
  CHECK(info.reason_count == 0 && info.contribution_count == 0);
  EXPECT_ERROR(beckon_decision_create(NULL, &err), BECKON_INVALID_ARGUMENT,
               "decision is NULL");

  /* An unknown visitor: wait, no_session, one reason, no recheck. */
  EXPECT_OK(beckon_decision_create(&decision, &err));
  EXPECT_OK(beckon_engine_decide(engine, "nobody", kT0, decision, &err));
  info = Info(decision);
  CHECK(info.action == BECKON_ACTION_WAIT);
  CHECK(info.reason == BECKON_REASON_NO_SESSION);
  CHECK(info.has_recheck_at == 0);
  CHECK(info.probability == 0);
  CHECK(info.reason_count == 1);
  CHECK(info.contribution_count == 0);
  EXPECT_OK(beckon_decision_get_reason(decision, 0, &text, &err));
  CHECK(text != NULL && strcmp(text, "no live session for this visitor") == 0);

  /* A stuck visitor: a wait with a recheck time, then an offer with its
   * reasons and every feature's contribution. */
  offered_at = PlayStuckVisitor(engine, decision, "anna");
  info = Info(decision);
  CHECK(info.reason_count >= 2);
  CHECK(info.contribution_count == 12);
  EXPECT_OK(beckon_decision_get_reason(decision, 0, &text, &err));
  CHECK(text != NULL && strstr(text, "reached threshold") != NULL);
  for (i = 0; i < info.reason_count; ++i) {
    text = NULL;
    EXPECT_OK(beckon_decision_get_reason(decision, i, &text, &err));
    CHECK(text != NULL && text[0] != '\0');
  }
  for (i = 0; i < info.contribution_count; ++i) {
    feature = NULL;
    EXPECT_OK(beckon_decision_get_contribution(decision, i, &feature, &value,
                                               &contribution, &err));
    CHECK(feature != NULL && feature[0] != '\0');
    if (feature != NULL && strcmp(feature, "dwell_ratio") == 0) {
      CHECK(value > 0);
      ++named_features;
    }
  }
  CHECK(named_features == 1);

  /* Out-of-range indexes. */
  EXPECT_ERROR(
      beckon_decision_get_reason(decision, info.reason_count, &text, &err),
      BECKON_OUT_OF_RANGE, "past the end");
  CHECK(text == NULL);
  EXPECT_ERROR(beckon_decision_get_contribution(decision, 12, &feature, &value,
                                                &contribution, &err),
               BECKON_OUT_OF_RANGE, "has 12 contributions");
  CHECK(feature == NULL);
  EXPECT_ERROR(beckon_decision_get_reason(decision, 0xffffffffu, &text, &err),
               BECKON_OUT_OF_RANGE, "index 4294967295");

  /* Rejected decides keep the decision and the engine's state. */
  kept = Info(decision);
  before = Snapshot(engine, &before_size);
  EXPECT_ERROR(
      beckon_engine_decide(engine, "anna", offered_at - 1, decision, &err),
      BECKON_INVALID_ARGUMENT, "time went backwards");
  EXPECT_ERROR(beckon_engine_decide(engine, "", offered_at, decision, &err),
               BECKON_INVALID_ARGUMENT, "visitor id is empty");
  EXPECT_ERROR(beckon_engine_decide(engine, "anna", -5, decision, &err),
               BECKON_INVALID_ARGUMENT, "out of range");
  EXPECT_ERROR(beckon_engine_decide(engine, NULL, offered_at, decision, &err),
               BECKON_INVALID_ARGUMENT,
               "beckon_engine_decide: visitor is NULL");
  EXPECT_ERROR(beckon_engine_decide(NULL, "anna", offered_at, decision, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(beckon_engine_decide(engine, "anna", offered_at, NULL, &err),
               BECKON_INVALID_ARGUMENT, "decision is NULL");
  EXPECT_ERROR(beckon_engine_decide(engine, "anna", offered_at,
                                    (beckon_decision_t*)engine, &err),
               BECKON_INVALID_ARGUMENT,
               "decision is not a live beckon_decision_t");
  info = Info(decision);
  CHECK(SameInfo(&info, &kept));
  CHECK(SameState(engine, before, before_size));
  beckon_free(before);

  /* The getters' own errors. */
  EXPECT_ERROR(beckon_decision_get_info(NULL, &info, &err),
               BECKON_INVALID_ARGUMENT, "decision is NULL");
  EXPECT_ERROR(beckon_decision_get_info(decision, NULL, &err),
               BECKON_INVALID_ARGUMENT, "info is NULL");
  EXPECT_ERROR(
      beckon_decision_get_info((const beckon_decision_t*)engine, &info, &err),
      BECKON_INVALID_ARGUMENT, "decision is not a live");
  EXPECT_ERROR(beckon_decision_get_reason(NULL, 0, &text, &err),
               BECKON_INVALID_ARGUMENT, "decision is NULL");
  EXPECT_ERROR(beckon_decision_get_reason(decision, 0, NULL, &err),
               BECKON_INVALID_ARGUMENT, "text is NULL");
  EXPECT_ERROR(beckon_decision_get_contribution(NULL, 0, &feature, &value,
                                                &contribution, &err),
               BECKON_INVALID_ARGUMENT, "decision is NULL");
  EXPECT_ERROR(beckon_decision_get_contribution(decision, 0, NULL, &value,
                                                &contribution, &err),
               BECKON_INVALID_ARGUMENT, "feature is NULL");
  EXPECT_ERROR(beckon_decision_get_contribution(decision, 0, &feature, NULL,
                                                &contribution, &err),
               BECKON_INVALID_ARGUMENT, "value is NULL");
  EXPECT_ERROR(beckon_decision_get_contribution(decision, 0, &feature, &value,
                                                NULL, &err),
               BECKON_INVALID_ARGUMENT, "contribution is NULL");

  /* struct_size: too small is rejected (info untouched); larger works and
   * leaves the bytes past this version's struct alone. */
  memset(&info, 0x5a, sizeof(info));
  info.struct_size = 0;
  EXPECT_ERROR(beckon_decision_get_info(decision, &info, &err),
               BECKON_INVALID_ARGUMENT, "info->struct_size is 0");
  CHECK(info.action == 0x5a5a5a5a);
  info.struct_size =
      (uint32_t)offsetof(beckon_decision_info_t, contribution_count);
  EXPECT_ERROR(beckon_decision_get_info(decision, &info, &err),
               BECKON_INVALID_ARGUMENT, "sizeof(beckon_decision_info_t)");
  {
    /* A caller of the first version (up to contribution_count), or of a
     * size between versions, gets the first version's fields only. */
    struct {
      beckon_decision_info_t info;
      unsigned char later[16];
    } first;
    const size_t v1 = offsetof(beckon_decision_info_t, offer_probability);
    const unsigned char* bytes = (const unsigned char*)&first;
    size_t size, k;
    for (size = v1; size < sizeof(beckon_decision_info_t); size += 4) {
      memset(&first, 0xab, sizeof(first));
      first.info.struct_size = (uint32_t)size;
      EXPECT_OK(beckon_decision_get_info(decision, &first.info, &err));
      CHECK(first.info.action == BECKON_ACTION_OFFER);
      CHECK(first.info.contribution_count == 12);
      for (k = v1; k < sizeof(first); ++k) CHECK(bytes[k] == 0xab);
    }
  }
  {
    struct {
      beckon_decision_info_t info;
      unsigned char later[16];
    } bigger;
    size_t k;
    memset(&bigger, 0xab, sizeof(bigger));
    bigger.info.struct_size = (uint32_t)sizeof(bigger);
    EXPECT_OK(beckon_decision_get_info(decision, &bigger.info, &err));
    CHECK(bigger.info.action == BECKON_ACTION_OFFER);
    CHECK(bigger.info.contribution_count == 12);
    /* The default policy holds 5% of visitors out and does not explore:
     * this offer had the chance 0.95, and no uplift stage scored it. */
    CHECK(fabs(bigger.info.offer_probability - 0.95) < 1e-12);
    CHECK(bigger.info.explored == 0 && bigger.info.has_uplift == 0 &&
          bigger.info.uplift == 0.0);
    for (k = 0; k < sizeof(bigger.later); ++k) CHECK(bigger.later[k] == 0xab);
  }

  /* The offer was recorded: asking again at once is a suppress by a gate. */
  EXPECT_OK(beckon_engine_decide(engine, "anna", offered_at, decision, &err));
  info = Info(decision);
  CHECK(info.action == BECKON_ACTION_SUPPRESS);

  /* decide_info: the decision and its info in one call, with or without a
   * handle; the same answer as decide + get_info. */
  {
    beckon_decision_info_t one = BECKON_DECISION_INFO_INIT;
    beckon_decision_info_t two;
    EXPECT_OK(beckon_engine_decide_info(engine, "nobody", kT0, NULL, &one,
                                        &err));
    CHECK(one.action == BECKON_ACTION_WAIT &&
          one.reason == BECKON_REASON_NO_SESSION && one.reason_count == 1);
    EXPECT_OK(beckon_engine_decide_info(engine, "anna", offered_at, decision,
                                        &one, &err));
    two = Info(decision);
    CHECK(SameInfo(&one, &two));
    EXPECT_ERROR(beckon_engine_decide_info(engine, "anna", offered_at, NULL,
                                           NULL, &err),
                 BECKON_INVALID_ARGUMENT, "info is NULL");
    EXPECT_ERROR(beckon_engine_decide_info(engine, "anna", offered_at - 1,
                                           NULL, &one, &err),
                 BECKON_INVALID_ARGUMENT, "time went backwards");
    CHECK(SameInfo(&one, &two));
  }

  /* A decision outlives its engine: its reasons (made only now, on the
   * first getter) and contributions can still be read. */
  {
    beckon_engine_t* other = MakeEngine();
    beckon_decision_t* late = NULL;
    EXPECT_OK(beckon_decision_create(&late, &err));
    PlayStuckVisitor(other, late, "bea");
    beckon_engine_destroy(other);
    info = Info(late);
    CHECK(info.action == BECKON_ACTION_OFFER);
    CHECK(info.reason_count >= 2);
    text = NULL;
    EXPECT_OK(beckon_decision_get_reason(late, 0, &text, &err));
    CHECK(text != NULL && strstr(text, "reached threshold") != NULL);
    feature = NULL;
    EXPECT_OK(beckon_decision_get_contribution(late, 0, &feature, &value,
                                               &contribution, &err));
    CHECK(feature != NULL && strcmp(feature, "dwell_ratio") == 0);
    beckon_decision_destroy(late);
  }

  beckon_decision_destroy(fresh);
  beckon_decision_destroy(decision);
  beckon_engine_destroy(engine);
}

static void TestExpire(void) {
  beckon_engine_t* engine = MakeEngine();
  char* err = NULL;
  beckon_stats_t stats;
  /* Two sessions (any visitor event starts one); b's decline is also kept
   * in b's memory record. */
  EXPECT_OK(beckon_engine_observe_page_view(engine, kT0, "a", "/", NULL, &err));
  EXPECT_OK(beckon_engine_observe_offer_declined(engine, kT0, "b", "/",
                                                 BECKON_CHANNEL_CHAT, &err));
  EXPECT_ERROR(beckon_engine_expire(engine, -1, &err), BECKON_INVALID_ARGUMENT,
               "out of range");
  EXPECT_ERROR(beckon_engine_expire(engine, INT64_MAX, &err),
               BECKON_INVALID_ARGUMENT, "out of range");
  EXPECT_ERROR(beckon_engine_expire(NULL, kT0, &err), BECKON_INVALID_ARGUMENT,
               "beckon_engine_expire: engine is NULL");
  stats = Stats(engine);
  CHECK(stats.live_sessions == 2);
  CHECK(stats.memory_records == 1);
  EXPECT_OK(beckon_engine_expire(engine, kT0 + 60 * kSec, &err));
  CHECK(Stats(engine).live_sessions == 2);
  /* An hour later both sessions are idle past the timeout; the decline is
   * kept for its cooldown, and dropped once that has passed. */
  EXPECT_OK(beckon_engine_expire(engine, kT0 + 3600 * kSec, &err));
  stats = Stats(engine);
  CHECK(stats.live_sessions == 0);
  CHECK(stats.sessions_expired == 2);
  CHECK(stats.memory_records == 1);
  EXPECT_OK(beckon_engine_expire(engine, kT0 + 400 * kDay, &err));
  CHECK(Stats(engine).memory_records == 0);
  beckon_engine_destroy(engine);
}

static void TestSnapshotRestore(void) {
  beckon_engine_t* engine = MakeEngine();
  beckon_engine_t* restored = NULL;
  beckon_decision_t* decision = NULL;
  char* err = NULL;
  char* snap = NULL;
  size_t snap_size = 0;
  char* state = NULL;
  size_t state_size = 0;
  char* data = NULL;
  size_t size = 0;
  beckon_decision_info_t info;
  char path[128];
  static const char kGarbage[] = "\x08\x01\x12\xff\xff\xff garbage";

  EXPECT_OK(beckon_decision_create(&decision, &err));
  EXPECT_OK(beckon_engine_observe_page_view(engine, kT0, "anna", "/help", NULL,
                                            &err));
  EXPECT_OK(beckon_engine_observe_offer_declined(
      engine, kT0 + kSec, "anna", "/help", BECKON_CHANNEL_CHAT, &err));
  snap = Snapshot(engine, &snap_size);
  CHECK(snap != NULL && snap_size > 0);

  /* Bytes: the decline survives a restart. */
  restored = MakeEngine();
  EXPECT_OK(beckon_engine_restore(restored, snap, snap_size, &err));
  EXPECT_OK(beckon_engine_observe_page_view(restored, kT0 + 3 * kDay, "anna",
                                            "/checkout/payment", NULL, &err));
  EXPECT_OK(beckon_engine_decide(restored, "anna", kT0 + 3 * kDay + 600 * kSec,
                                 decision, &err));
  info = Info(decision);
  CHECK(info.action == BECKON_ACTION_SUPPRESS);
  CHECK(info.reason == BECKON_REASON_DECLINED);

  /* Malformed snapshots change nothing. */
  state = Snapshot(restored, &state_size);
  EXPECT_ERROR(
      beckon_engine_restore(restored, kGarbage, sizeof(kGarbage) - 1, &err),
      BECKON_DATA_LOSS, "snapshot");
  EXPECT_ERROR(beckon_engine_restore(restored, "\x08\x07", 2, &err),
               BECKON_FAILED_PRECONDITION, "format_version 7");
  EXPECT_ERROR(beckon_engine_restore(restored, NULL, 3, &err),
               BECKON_INVALID_ARGUMENT, "data is NULL but its size is 3");
  EXPECT_ERROR(beckon_engine_restore(restored, snap, (size_t)-1, &err),
               BECKON_INVALID_ARGUMENT, "the size of data is");
  EXPECT_ERROR(beckon_engine_restore(NULL, snap, snap_size, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  CHECK(SameState(restored, state, state_size));
  beckon_free(state);

  /* Files. */
  TempPath("snapshot", path, sizeof(path));
  EXPECT_OK(beckon_engine_snapshot_to_file(engine, path, &err));
  beckon_engine_destroy(restored);
  restored = MakeEngine();
  EXPECT_OK(beckon_engine_restore_from_file(restored, path, &err));
  CHECK(SameState(restored, snap, snap_size));
  remove(path);
  EXPECT_ERROR(beckon_engine_restore_from_file(restored, path, &err),
               BECKON_NOT_FOUND, path);
  EXPECT_ERROR(beckon_engine_restore_from_file(restored, NULL, &err),
               BECKON_INVALID_ARGUMENT, "path is NULL");
  EXPECT_ERROR(beckon_engine_restore_from_file(NULL, path, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  EXPECT_ERROR(
      beckon_engine_snapshot_to_file(engine, "/nonexistent/dir/s", &err),
      BECKON_PERMISSION_DENIED, "/nonexistent/dir/s");
  EXPECT_ERROR(beckon_engine_snapshot_to_file(engine, NULL, &err),
               BECKON_INVALID_ARGUMENT, "path is NULL");
  EXPECT_ERROR(beckon_engine_snapshot_to_file(NULL, path, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  CHECK(SameState(restored, snap, snap_size));

  /* Snapshot's own errors clear the outputs. */
  data = (char*)path;
  size = 7;
  EXPECT_ERROR(beckon_engine_snapshot(NULL, &data, &size, &err),
               BECKON_INVALID_ARGUMENT, "engine is NULL");
  CHECK(data == NULL && size == 0);
  EXPECT_ERROR(beckon_engine_snapshot(engine, NULL, &size, &err),
               BECKON_INVALID_ARGUMENT, "data is NULL");
  EXPECT_ERROR(beckon_engine_snapshot(engine, &data, NULL, &err),
               BECKON_INVALID_ARGUMENT, "size is NULL");
  CHECK(data == NULL);

  beckon_free(snap);
  beckon_decision_destroy(decision);
  beckon_engine_destroy(restored);
  beckon_engine_destroy(engine);
}

static void TestStats(void) {
  beckon_engine_t* engine = MakeEngine();
  beckon_decision_t* decision = NULL;
  char* err = NULL;
  beckon_stats_t stats = BECKON_STATS_INIT;
  uint32_t i;
  uint64_t by_reason = 0;

  EXPECT_OK(beckon_decision_create(&decision, &err));
  PlayStuckVisitor(engine, decision, "anna");
  EXPECT_OK(beckon_engine_decide(engine, "nobody", kT0, decision, &err));
  stats = Stats(engine);
  CHECK(stats.struct_size == sizeof(beckon_stats_t));
  CHECK(stats.action_count == BECKON_ACTION_COUNT);
  CHECK(stats.reason_count == BECKON_REASON_COUNT);
  CHECK(stats.sessions_started == 1);
  CHECK(stats.live_sessions == 1);
  CHECK(stats.events_observed == 5);
  CHECK(stats.decisions_by_action[BECKON_ACTION_OFFER] == 1);
  CHECK(stats.decisions_by_action[BECKON_ACTION_WAIT] == 2);
  CHECK(stats.decisions_by_action[BECKON_ACTION_SUPPRESS] == 0);
  CHECK(stats.decisions_by_reason[BECKON_REASON_SCORE] == 1);
  CHECK(stats.decisions_by_reason[BECKON_REASON_NO_SESSION] == 1);
  /* The in-memory store has no store counters. */
  CHECK(stats.store_errors == 0);
  CHECK(stats.store_conflicts == 0);
  CHECK(stats.store_round_trips == 0);
  CHECK(stats.declines_evicted == 0);
  for (i = 0; i < BECKON_STATS_MAX_REASONS; ++i) {
    by_reason += stats.decisions_by_reason[i];
  }
  CHECK(by_reason == 3);
  for (i = BECKON_ACTION_COUNT; i < BECKON_STATS_MAX_ACTIONS; ++i) {
    CHECK(stats.decisions_by_action[i] == 0);
  }

  EXPECT_ERROR(beckon_engine_stats(NULL, &stats, &err), BECKON_INVALID_ARGUMENT,
               "engine is NULL");
  EXPECT_ERROR(beckon_engine_stats(engine, NULL, &err), BECKON_INVALID_ARGUMENT,
               "stats is NULL");
  memset(&stats, 0x11, sizeof(stats));
  stats.struct_size = 16;
  EXPECT_ERROR(beckon_engine_stats(engine, &stats, &err),
               BECKON_INVALID_ARGUMENT, "stats->struct_size is 16");
  CHECK(stats.live_sessions == UINT64_C(0x1111111111111111));
  {
    struct {
      beckon_stats_t stats;
      unsigned char later[24];
    } bigger;
    size_t k;
    memset(&bigger, 0xcd, sizeof(bigger));
    bigger.stats.struct_size = (uint32_t)sizeof(bigger);
    EXPECT_OK(beckon_engine_stats(engine, &bigger.stats, &err));
    CHECK(bigger.stats.live_sessions == 1);
    CHECK(bigger.stats.decisions_by_reason[BECKON_STATS_MAX_REASONS - 1] == 0);
    CHECK(bigger.stats.store_round_trips == 0);
    for (k = 0; k < sizeof(bigger.later); ++k) CHECK(bigger.later[k] == 0xcd);
  }
  {
    /* A host built against the first beckon_stats_t (no store counters):
     * its struct is filled and nothing past it is written. */
    const size_t v1 = offsetof(beckon_stats_t, store_errors);
    union {
      beckon_stats_t stats;
      unsigned char bytes[sizeof(beckon_stats_t)];
    } old;
    size_t k;
    memset(&old, 0xcd, sizeof(old));
    old.stats.struct_size = (uint32_t)v1;
    EXPECT_OK(beckon_engine_stats(engine, &old.stats, &err));
    CHECK(old.stats.struct_size == v1);
    CHECK(old.stats.live_sessions == 1);
    CHECK(old.stats.reason_count == BECKON_REASON_COUNT);
    CHECK(old.stats.decisions_by_reason[BECKON_REASON_SCORE] == 1);
    for (k = v1; k < sizeof(old.bytes); ++k) CHECK(old.bytes[k] == 0xcd);
    /* A size between versions gets the whole fields that fit. */
    memset(&old, 0xcd, sizeof(old));
    old.stats.struct_size = (uint32_t)(v1 + sizeof(uint64_t) + 4);
    EXPECT_OK(beckon_engine_stats(engine, &old.stats, &err));
    CHECK(old.stats.store_errors == 0);
    for (k = v1 + sizeof(uint64_t); k < sizeof(old.bytes); ++k) {
      CHECK(old.bytes[k] == 0xcd);
    }
  }

  /* A new policy into the live engine: the counters stay; a policy with
   * another session timeout changes nothing. */
  {
    beckon_policy_t* other = NULL;
    beckon_stats_t before = Stats(engine);
    beckon_stats_t after = BECKON_STATS_INIT;
    char* text = NULL;
    size_t text_size = 0;
    EXPECT_OK(beckon_policy_default(&other, &err));
    EXPECT_OK(beckon_engine_set_policy(engine, other, &err));
    EXPECT_OK(beckon_engine_stats(engine, &after, &err));
    CHECK(after.events_observed == before.events_observed);
    CHECK(after.live_sessions == before.live_sessions);
    EXPECT_ERROR(beckon_engine_set_policy(engine, NULL, &err),
                 BECKON_INVALID_ARGUMENT, "policy is NULL");
    EXPECT_ERROR(beckon_engine_set_policy(NULL, other, &err),
                 BECKON_INVALID_ARGUMENT, "engine is NULL");
    /* The default with a 1200 s session timeout (the text edited in place:
     * same length). */
    EXPECT_OK(beckon_policy_to_text(other, &text, &text_size, &err));
    beckon_policy_destroy(other);
    other = NULL;
    CHECK(text != NULL && strstr(text, "timeout_s: 1800") != NULL);
    if (text != NULL && strstr(text, "timeout_s: 1800") != NULL) {
      memcpy(strstr(text, "timeout_s: 1800") + strlen("timeout_s: "), "1200",
             4);
      EXPECT_OK(beckon_policy_from_text(text, text_size, &other, &err));
      EXPECT_ERROR(beckon_engine_set_policy(engine, other, &err),
                   BECKON_FAILED_PRECONDITION, "timeout_s");
      beckon_policy_destroy(other);
    }
    beckon_free(text);
  }

  /* The same counters as metrics text, and the policy a decision was made
   * under. */
  {
    char* text = NULL;
    size_t text_size = 0;
    const char* name = NULL;
    const char* version = NULL;
    EXPECT_OK(beckon_engine_metrics_text(engine, &text, &text_size, &err));
    CHECK(text != NULL && text_size == strlen(text));
    CHECK(text != NULL &&
          strstr(text, "# TYPE beckon_decisions_total counter\n") != NULL);
    CHECK(text != NULL &&
          strstr(text, "beckon_decide_duration_seconds_bucket{le=\"+Inf\"}") !=
              NULL);
    beckon_free(text);
    EXPECT_ERROR(beckon_engine_metrics_text(NULL, &text, &text_size, &err),
                 BECKON_INVALID_ARGUMENT, "engine is NULL");
    CHECK(text == NULL && text_size == 0);
    EXPECT_ERROR(beckon_engine_metrics_text(engine, NULL, &text_size, &err),
                 BECKON_INVALID_ARGUMENT, "text is NULL");
    EXPECT_OK(beckon_decision_get_policy(decision, &name, &version, &err));
    CHECK(name != NULL && version != NULL && strlen(version) == 16);
    EXPECT_ERROR(beckon_decision_get_policy(decision, NULL, &version, &err),
                 BECKON_INVALID_ARGUMENT, "name is NULL");
  }

  beckon_decision_destroy(decision);
  beckon_engine_destroy(engine);
}

/* Several threads share one engine: each plays its own visitors, observing
 * and deciding with its own decision handle, while another thread takes
 * snapshots and stats. Every call must succeed and the counters add up. */
enum { kThreads = 6, kVisitorsPerThread = 150 };

typedef struct Worker {
  beckon_engine_t* engine;
  int index;
  int failures;
  int offers;
} Worker;

static void* RunWorker(void* arg) {
  Worker* w = (Worker*)arg;
  beckon_decision_t* decision = NULL;
  beckon_decision_info_t info = BECKON_DECISION_INFO_INIT;
  char* err = NULL;
  char id[32];
  int i;
  if (beckon_decision_create(&decision, &err) != BECKON_OK) {
    beckon_free(err);
    ++w->failures;
    return NULL;
  }
  for (i = 0; i < kVisitorsPerThread; ++i) {
    const int64_t t = kT0 + (int64_t)i * kSec;
    int ok = 1;
    snprintf(id, sizeof(id), "t%d-v%d", w->index, i);
    ok &= beckon_engine_observe_page_view(w->engine, t, id, "/help/returns",
                                          NULL, &err) == BECKON_OK;
    ok &= beckon_engine_observe_search(w->engine, t + 5 * kSec, id,
                                       "/search?q=label", 0, &err) == BECKON_OK;
    ok &= beckon_engine_decide(w->engine, id, t + 600 * kSec, decision, &err) ==
          BECKON_OK;
    ok &= beckon_decision_get_info(decision, &info, &err) == BECKON_OK;
    if (!ok) {
      fprintf(stderr, "thread %d visitor %d: %s\n", w->index, i,
              err != NULL ? err : "?");
      beckon_free(err);
      err = NULL;
      ++w->failures;
      continue;
    }
    if (info.action == BECKON_ACTION_OFFER) ++w->offers;
    if (i % 10 == 0) {
      /* An error path under concurrency: rejected, reported, harmless. */
      if (beckon_engine_observe_page_view(w->engine, t, id, "/", NULL, &err) !=
              BECKON_INVALID_ARGUMENT ||
          err == NULL) {
        ++w->failures;
      }
      beckon_free(err);
      err = NULL;
    }
  }
  beckon_decision_destroy(decision);
  return NULL;
}

typedef struct Watcher {
  beckon_engine_t* engine;
  pthread_mutex_t mu;
  int stop; /* Guarded by mu. */
  int failures;
  int rounds;
} Watcher;

static int Stopped(Watcher* w) {
  int stop;
  pthread_mutex_lock(&w->mu);
  stop = w->stop;
  pthread_mutex_unlock(&w->mu);
  return stop;
}

static void* RunWatcher(void* arg) {
  Watcher* w = (Watcher*)arg;
  char* err = NULL;
  while (w->rounds == 0 || !Stopped(w)) {
    char* data = NULL;
    size_t size = 0;
    beckon_stats_t stats = BECKON_STATS_INIT;
    if (beckon_engine_snapshot(w->engine, &data, &size, &err) != BECKON_OK ||
        beckon_engine_stats(w->engine, &stats, &err) != BECKON_OK) {
      beckon_free(err);
      err = NULL;
      ++w->failures;
    }
    beckon_free(data);
    ++w->rounds;
  }
  return NULL;
}

/* Runs the workers and the watcher on `engine` and checks the counts. */
static void RunThreads(beckon_engine_t* engine) {
  pthread_t threads[kThreads];
  pthread_t watcher_thread;
  Worker workers[kThreads];
  Watcher watcher;
  beckon_stats_t stats;
  int i;
  int offers = 0;
  const uint64_t total = (uint64_t)kThreads * kVisitorsPerThread;

  watcher.engine = engine;
  CHECK(pthread_mutex_init(&watcher.mu, NULL) == 0);
  watcher.stop = 0;
  watcher.failures = 0;
  watcher.rounds = 0;
  CHECK(pthread_create(&watcher_thread, NULL, RunWatcher, &watcher) == 0);
  for (i = 0; i < kThreads; ++i) {
    workers[i].engine = engine;
    workers[i].index = i;
    workers[i].failures = 0;
    workers[i].offers = 0;
    CHECK(pthread_create(&threads[i], NULL, RunWorker, &workers[i]) == 0);
  }
  for (i = 0; i < kThreads; ++i) {
    CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK(workers[i].failures == 0);
    offers += workers[i].offers;
  }
  pthread_mutex_lock(&watcher.mu);
  watcher.stop = 1;
  pthread_mutex_unlock(&watcher.mu);
  CHECK(pthread_join(watcher_thread, NULL) == 0);
  pthread_mutex_destroy(&watcher.mu);
  CHECK(watcher.failures == 0);
  CHECK(watcher.rounds > 0);

  stats = Stats(engine);
  CHECK(stats.events_observed == 2 * total);
  CHECK(stats.events_rejected == total / 10);
  CHECK(stats.sessions_started == total);
  CHECK(stats.decisions_by_action[BECKON_ACTION_OFFER] +
            stats.decisions_by_action[BECKON_ACTION_WAIT] +
            stats.decisions_by_action[BECKON_ACTION_SUPPRESS] ==
        total);
  CHECK(stats.decisions_by_action[BECKON_ACTION_OFFER] == (uint64_t)offers);
}

static void TestThreads(void) {
  beckon_engine_t* engine = MakeEngine();
  RunThreads(engine);
  beckon_engine_destroy(engine);
}

/* ------------------------------------------------------------------------ */
/* The Redis store                                                           */

/* A Redis that refuses connections at once (port 1 on loopback), tried
 * again on every call (no backoff). */
static const char kRefusedUrl[] =
    "redis://127.0.0.1:1/0?connect_timeout_ms=100&backoff_min_ms=0"
    "&backoff_max_ms=0";

/* The live Redis of $`variable` (tests/redis/with_redis.sh sets
 * BECKON_TEST_REDIS_URL and BECKON_TEST_REDIS_SOCKET) with a key prefix
 * unique to this process and `tag`, so that runs and cases never see each
 * other's keys. NULL when the variable is not set. */
static const char* LiveUrl(const char* variable, const char* tag, char* buf,
                           size_t size) {
  const char* base = getenv(variable);
  if (base == NULL || *base == '\0') return NULL;
  snprintf(buf, size, "%s%sprefix=c_api_test:%ld:%s:", base,
           strchr(base, '?') != NULL ? "&" : "?", (long)getpid(), tag);
  return buf;
}

/* An engine on the default policy over the store of `url` (NULL: memory),
 * with the fleet's configured visitor key, so that snapshots move between
 * the stores; NULL if it cannot be created (reported as a failure). */
static beckon_engine_t* MakeEngineAt(const char* url) {
  beckon_engine_options_t* options = NULL;
  beckon_engine_t* engine = NULL;
  char* err = NULL;
  EXPECT_OK(beckon_engine_options_create(&options, &err));
  EXPECT_OK(beckon_engine_options_set_redis_url(options, url, &err));
  EXPECT_OK(beckon_engine_options_set_visitor_key(options, 0x5eed, 0xf1ee7,
                                                  &err));
  EXPECT_OK(beckon_engine_create_default(options, &engine, &err));
  beckon_engine_options_destroy(options);
  return engine;
}

/* Observes a page view and decides at once; returns the decision's info. */
static beckon_decision_info_t ViewAndDecide(beckon_engine_t* engine,
                                            beckon_decision_t* decision,
                                            const char* visitor, int64_t t) {
  char* err = NULL;
  EXPECT_OK(beckon_engine_observe_page_view(engine, t, visitor, "/p/1", NULL,
                                            &err));
  EXPECT_OK(beckon_engine_decide(engine, visitor, t, decision, &err));
  return Info(decision);
}

/* The URL option, without a live Redis: bad URLs are rejected with the
 * parser's message and change nothing; NULL and "" switch back to memory;
 * a Redis that cannot be reached gives store_unavailable, never an offer. */
static void TestRedisUrlOption(void) {
  static const struct {
    const char* url;
    const char* message;
  } kBad[] = {
      {"http://127.0.0.1:6379", "must start with redis:// or unix://"},
      {"redis://127.0.0.1:99999/0", "port"},
      {"redis://127.0.0.1:6379/zero", "database must be an integer"},
      {"redis://127.0.0.1:6379/0?colour=blue", "unknown option \"colour\""},
      {"redis://127.0.0.1:6379/0?prefix={shop}", "key_prefix"},
      {"redis://127.0.0.1:6379/0?connect_timeout_ms=0", "connect_timeout_ms"},
      {"unix://relative.sock", "absolute socket path"},
      {"redis://:6379/0", "no host"},
  };
  beckon_engine_options_t* options = NULL;
  beckon_engine_t* engine = NULL;
  beckon_decision_t* decision = NULL;
  beckon_decision_info_t info;
  beckon_stats_t stats;
  char* err = NULL;
  char* data = NULL;
  size_t size = 0;
  size_t i;

  EXPECT_OK(beckon_engine_options_create(&options, &err));
  EXPECT_OK(beckon_decision_create(&decision, &err));
  EXPECT_ERROR(
      beckon_engine_options_set_redis_url(NULL, "redis://127.0.0.1", &err),
      BECKON_INVALID_ARGUMENT,
      "beckon_engine_options_set_redis_url: options is NULL");
  EXPECT_ERROR(beckon_engine_options_set_redis_url(
                   (beckon_engine_options_t*)decision, "redis://h", &err),
               BECKON_INVALID_ARGUMENT,
               "options is not a live beckon_engine_options_t");

  /* Bad URLs leave the in-memory store: the engine works without Redis. */
  for (i = 0; i < sizeof(kBad) / sizeof(kBad[0]); ++i) {
    EXPECT_ERROR(beckon_engine_options_set_redis_url(options, kBad[i].url,
                                                     &err),
                 BECKON_INVALID_ARGUMENT, kBad[i].message);
  }
  EXPECT_OK(beckon_engine_create_default(options, &engine, &err));
  info = ViewAndDecide(engine, decision, "anna", kT0);
  CHECK(info.action == BECKON_ACTION_WAIT);
  stats = Stats(engine);
  CHECK(stats.events_observed == 1 && stats.store_round_trips == 0);
  beckon_engine_destroy(engine);
  engine = NULL;

  EXPECT_OK(beckon_engine_options_set_redis_url(options, kRefusedUrl, &err));
  if (BECKON_TEST_HAVE_REDIS) {
    /* Without a configured key the fleet's key must be read from Redis:
     * an unreachable Redis fails creation, saying what to configure. */
    EXPECT_ERROR(beckon_engine_create_default(options, &engine, &err),
                 BECKON_UNAVAILABLE, "visitor_key");
    /* With the fleet's key configured an unreachable Redis does not fail
     * creation; every call then answers store_unavailable or fails
     * UNAVAILABLE, and nothing is offered. */
    EXPECT_OK(beckon_engine_options_set_visitor_key(options, 7, 9, &err));
    EXPECT_OK(beckon_engine_create_default(options, &engine, &err));
    EXPECT_ERROR(beckon_engine_observe_page_view(engine, kT0, "anna", "/p/1",
                                                 NULL, &err),
                 BECKON_UNAVAILABLE, "");
    EXPECT_OK(beckon_engine_decide(engine, "anna", kT0, decision, &err));
    info = Info(decision);
    CHECK(info.action == BECKON_ACTION_SUPPRESS);
    CHECK(info.reason == BECKON_REASON_STORE_UNAVAILABLE);
    CHECK(info.reason_count >= 1);
    data = (char*)&size;
    size = 9;
    EXPECT_ERROR(beckon_engine_snapshot(engine, &data, &size, &err),
                 BECKON_UNAVAILABLE, "");
    CHECK(data == NULL && size == 0);
    stats = Stats(engine);
    CHECK(stats.events_observed == 0);
    CHECK(stats.store_errors >= 2);
    CHECK(stats.decisions_by_action[BECKON_ACTION_SUPPRESS] == 1);
    CHECK(stats.decisions_by_reason[BECKON_REASON_STORE_UNAVAILABLE] == 1);
    beckon_engine_destroy(engine);
    engine = NULL;
    /* A bad URL now keeps that Redis store. */
    EXPECT_ERROR(beckon_engine_options_set_redis_url(options, "redis://", &err),
                 BECKON_INVALID_ARGUMENT, "no host");
    EXPECT_OK(beckon_engine_create_default(options, &engine, &err));
    EXPECT_OK(beckon_engine_decide(engine, "anna", kT0, decision, &err));
    CHECK(Info(decision).reason == BECKON_REASON_STORE_UNAVAILABLE);
    beckon_engine_destroy(engine);
    engine = NULL;
  } else {
    EXPECT_ERROR(beckon_engine_create_default(options, &engine, &err),
                 BECKON_UNIMPLEMENTED, "Redis");
    CHECK(engine == NULL);
  }

  /* NULL and "" switch back to the in-memory store. */
  EXPECT_OK(beckon_engine_options_set_redis_url(options, NULL, &err));
  EXPECT_OK(beckon_engine_create_default(options, &engine, &err));
  CHECK(ViewAndDecide(engine, decision, "anna", kT0).action ==
        BECKON_ACTION_WAIT);
  beckon_engine_destroy(engine);
  engine = NULL;
  EXPECT_OK(beckon_engine_options_set_redis_url(options, kRefusedUrl, &err));
  EXPECT_OK(beckon_engine_options_set_redis_url(options, "", &err));
  EXPECT_OK(beckon_engine_create_default(options, &engine, &err));
  CHECK(ViewAndDecide(engine, decision, "anna", kT0).action ==
        BECKON_ACTION_WAIT);
  CHECK(Stats(engine).store_errors == 0);

  beckon_engine_destroy(engine);
  beckon_decision_destroy(decision);
  beckon_engine_options_destroy(options);
}

/* Two engines over one live Redis (two servers of a shop): each sees the
 * other's offers, declines and session features; snapshots migrate
 * between memory and Redis; a unix socket reaches the same keys. */
static void TestRedisStore(void) {
  beckon_engine_t* a = NULL;
  beckon_engine_t* b = NULL;
  beckon_engine_t* memory = NULL;
  beckon_engine_t* migrated = NULL;
  beckon_decision_t* decision = NULL;
  beckon_decision_info_t info;
  beckon_stats_t stats;
  char* err = NULL;
  char* snap = NULL;
  size_t snap_size = 0;
  char url[512];
  char other_url[512];
  char socket_url[512];
  int64_t offered;
  const int64_t later = kT0 + 3 * kDay;

  if (LiveUrl("BECKON_TEST_REDIS_URL", "shared", url, sizeof(url)) == NULL) {
    g_skipped = "BECKON_TEST_REDIS_URL not set";
    return;
  }
  if (!BECKON_TEST_HAVE_REDIS) {
    g_skipped = "the library was built without the Redis store";
    return;
  }
  EXPECT_OK(beckon_decision_create(&decision, &err));
  a = MakeEngineAt(url);
  b = MakeEngineAt(url);
  if (a == NULL || b == NULL) goto done;

  /* A builds anna's session and offers; B sees the offer (session cap). */
  EXPECT_OK(beckon_engine_observe_agents(a, kT0, 3, &err));
  offered = PlayStuckVisitor(a, decision, "anna");
  EXPECT_OK(beckon_engine_decide(b, "anna", offered + kSec, decision, &err));
  info = Info(decision);
  CHECK(info.action == BECKON_ACTION_SUPPRESS);
  CHECK(info.reason == BECKON_REASON_SESSION_CAP);
  /* She declines on B; days later A never offers again. */
  EXPECT_OK(beckon_engine_observe_offer_declined(
      b, offered + 2 * kSec, "anna", "/help/returns", BECKON_CHANNEL_CHAT,
      &err));

  /* Agents reported to one engine hold for the other: carl's stalled
   * checkout is held back on B while A says no agent is free, and offered
   * by A once B reports two. */
  EXPECT_OK(beckon_engine_observe_agents(a, kT0 + 300 * kSec, 0, &err));
  EXPECT_OK(beckon_engine_observe_page_view(b, kT0 + 300 * kSec, "carl",
                                            "/checkout/address", NULL, &err));
  EXPECT_OK(beckon_engine_observe_page_view(b, kT0 + 301 * kSec, "carl",
                                            "/checkout/address", NULL, &err));
  EXPECT_OK(beckon_engine_decide(b, "carl", kT0 + 1000 * kSec, decision,
                                 &err));
  info = Info(decision);
  CHECK(info.action == BECKON_ACTION_SUPPRESS);
  CHECK(info.reason == BECKON_REASON_NO_AGENTS);
  EXPECT_OK(beckon_engine_observe_agents(b, kT0 + 1010 * kSec, 2, &err));
  EXPECT_OK(beckon_engine_decide(a, "carl", kT0 + 1020 * kSec, decision,
                                 &err));
  CHECK(Info(decision).action == BECKON_ACTION_OFFER);

  EXPECT_OK(beckon_engine_observe_page_view(a, later, "anna",
                                            "/checkout/payment", NULL, &err));
  EXPECT_OK(beckon_engine_decide(a, "anna", later + 600 * kSec, decision,
                                 &err));
  info = Info(decision);
  CHECK(info.action == BECKON_ACTION_SUPPRESS);
  CHECK(info.reason == BECKON_REASON_DECLINED);

  /* The same keys through the unix socket, where one is given. */
  if (LiveUrl("BECKON_TEST_REDIS_SOCKET", "shared", socket_url,
              sizeof(socket_url)) != NULL) {
    beckon_engine_t* s = MakeEngineAt(socket_url);
    if (s != NULL) {
      EXPECT_OK(beckon_engine_decide(s, "anna", later + 700 * kSec, decision,
                                     &err));
      CHECK(Info(decision).reason == BECKON_REASON_DECLINED);
      CHECK(Stats(s).store_round_trips > 0);
    }
    beckon_engine_destroy(s);
  } else {
    printf("  (BECKON_TEST_REDIS_SOCKET not set: unix socket not tested)\n");
  }

  stats = Stats(a);
  CHECK(stats.store_round_trips > 0);
  CHECK(stats.store_errors == 0);
  /* Counted by this engine only; agents reports are not visitor events. */
  CHECK(stats.events_observed == 6);
  CHECK(stats.decisions_by_action[BECKON_ACTION_OFFER] == 2);
  stats = Stats(b);
  CHECK(stats.store_round_trips > 0);
  CHECK(stats.store_errors == 0);
  CHECK(stats.events_observed == 3);
  CHECK(stats.decisions_by_action[BECKON_ACTION_OFFER] == 0);

  /* Redis -> memory: a snapshot of the Redis keys keeps the decline. */
  snap = Snapshot(a, &snap_size);
  CHECK(snap != NULL && snap_size > 0);
  memory = MakeEngineAt(NULL);
  EXPECT_OK(beckon_engine_restore(memory, snap, snap_size, &err));
  EXPECT_OK(beckon_engine_decide(memory, "anna", later + 600 * kSec, decision,
                                 &err));
  CHECK(Info(decision).reason == BECKON_REASON_DECLINED);
  CHECK(Stats(memory).memory_records >= 1);
  beckon_free(snap);

  /* memory -> Redis, under a fresh prefix: ben declined in memory. */
  EXPECT_OK(beckon_engine_observe_page_view(memory, kT0, "ben", "/help",
                                            NULL, &err));
  EXPECT_OK(beckon_engine_observe_offer_declined(
      memory, kT0 + kSec, "ben", "/help", BECKON_CHANNEL_CHAT, &err));
  snap = Snapshot(memory, &snap_size);
  LiveUrl("BECKON_TEST_REDIS_URL", "migrated", other_url, sizeof(other_url));
  migrated = MakeEngineAt(other_url);
  if (migrated != NULL) {
    EXPECT_OK(beckon_engine_restore(migrated, snap, snap_size, &err));
    info = ViewAndDecide(migrated, decision, "ben", later);
    CHECK(info.action == BECKON_ACTION_SUPPRESS);
    CHECK(info.reason == BECKON_REASON_DECLINED);
    info = ViewAndDecide(migrated, decision, "anna", later + 800 * kSec);
    CHECK(info.reason == BECKON_REASON_DECLINED);
    /* A bad snapshot changes nothing in Redis either. */
    EXPECT_ERROR(beckon_engine_restore(migrated, "\x08\x07", 2, &err),
                 BECKON_FAILED_PRECONDITION, "format_version 7");
    EXPECT_OK(beckon_engine_decide(migrated, "ben", later + kSec, decision,
                                   &err));
    CHECK(Info(decision).reason == BECKON_REASON_DECLINED);
  }
  beckon_free(snap);

done:
  beckon_engine_destroy(migrated);
  beckon_engine_destroy(memory);
  beckon_engine_destroy(b);
  beckon_engine_destroy(a);
  beckon_decision_destroy(decision);
}

/* The threads case over one live Redis engine. */
static void TestRedisThreads(void) {
  char url[512];
  beckon_engine_t* engine;
  if (LiveUrl("BECKON_TEST_REDIS_URL", "threads", url, sizeof(url)) == NULL) {
    g_skipped = "BECKON_TEST_REDIS_URL not set";
    return;
  }
  if (!BECKON_TEST_HAVE_REDIS) {
    g_skipped = "the library was built without the Redis store";
    return;
  }
  engine = MakeEngineAt(url);
  if (engine == NULL) return;
  RunThreads(engine);
  CHECK(Stats(engine).store_errors == 0);
  beckon_engine_destroy(engine);
}

/* ------------------------------------------------------------------------ */

typedef struct Case {
  const char* name;
  void (*run)(void);
} Case;

/* The exploration and uplift fields of beckon_decision_info_t, on the
 * default policy with model.exploration and model.uplift added: a wait
 * below the threshold (but above the floor) becomes an explored offer with
 * its chance; an offer by the score carries the uplift the stage saw. */
static char* DefaultWithModelExtras(const char* extras) {
  beckon_policy_t* policy = NULL;
  char* err = NULL;
  char* text = NULL;
  size_t size = 0;
  char* out;
  const char* at;
  size_t head;
  EXPECT_OK(beckon_policy_default(&policy, &err));
  EXPECT_OK(beckon_policy_to_text(policy, &text, &size, &err));
  beckon_policy_destroy(policy);
  at = text != NULL ? strstr(text, "\nmodel {\n") : NULL;
  CHECK(at != NULL);
  if (at == NULL) {
    beckon_free(text);
    return NULL;
  }
  head = (size_t)(at - text) + strlen("\nmodel {\n");
  out = (char*)malloc(size + strlen(extras) + 1);
  memcpy(out, text, head);
  memcpy(out + head, extras, strlen(extras));
  memcpy(out + head + strlen(extras), text + head, size - head + 1);
  beckon_free(text);
  return out;
}

static beckon_engine_t* EngineWithText(const char* text) {
  beckon_policy_t* policy = NULL;
  beckon_engine_t* engine = NULL;
  char* err = NULL;
  EXPECT_OK(beckon_policy_from_text(text, strlen(text), &policy, &err));
  EXPECT_OK(beckon_engine_create(policy, NULL, &engine, &err));
  beckon_policy_destroy(policy);
  return engine;
}

static void TestExplorationAndUpliftInfo(void) {
  char* err = NULL;
  beckon_decision_t* decision = NULL;
  beckon_decision_info_t info;
  char* explore_text = DefaultWithModelExtras(
      "  exploration { share: 0.999 floor: 0.0001 salt: \"c\" }\n");
  char* uplift_text = DefaultWithModelExtras(
      "  uplift { bias: 0.2 min_uplift: -0.5 outcome: \"purchase\" }\n");
  beckon_engine_t* explore = NULL;
  beckon_engine_t* uplift = NULL;
  int64_t at;
  if (explore_text == NULL || uplift_text == NULL) goto done;
  explore = EngineWithText(explore_text);
  uplift = EngineWithText(uplift_text);
  EXPECT_OK(beckon_decision_create(&decision, &err));
  if (explore == NULL || uplift == NULL || decision == NULL) goto done;

  /* Past the dwell threshold of a product page, the score is far below the
   * threshold: with exploration from 0.0001 at share 0.999, an explored
   * offer, its chance the share of the 95% not held out. */
  EXPECT_OK(beckon_engine_observe_agents(explore, kT0, 5, &err));
  EXPECT_OK(beckon_engine_observe_page_view(explore, kT0, "erik", "/p/1", NULL,
                                            &err));
  EXPECT_OK(
      beckon_engine_decide(explore, "erik", kT0 + 300 * kSec, decision, &err));
  info = Info(decision);
  CHECK(info.probability < info.threshold);
  CHECK(info.action == BECKON_ACTION_OFFER);
  CHECK(info.explored == 1);
  CHECK(fabs(info.offer_probability - 0.999 * 0.95) < 1e-12);
  CHECK(info.has_uplift == 0);

  /* The uplift stage: bias 0.2 alone, so the uplift is 2/(1+e^-0.2) - 1
   * whatever the features; above min_uplift, so the score's offer stands. */
  EXPECT_OK(beckon_engine_observe_agents(uplift, kT0, 5, &err));
  at = PlayStuckVisitor(uplift, decision, "ulla");
  CHECK(at > kT0);
  info = Info(decision);
  CHECK(info.action == BECKON_ACTION_OFFER && info.explored == 0);
  CHECK(info.has_uplift == 1);
  CHECK(fabs(info.uplift - (2.0 / (1.0 + exp(-0.2)) - 1.0)) < 1e-12);
  CHECK(fabs(info.offer_probability - 0.95) < 1e-12);
done:
  beckon_decision_destroy(decision);
  beckon_engine_destroy(explore);
  beckon_engine_destroy(uplift);
  free(explore_text);
  free(uplift_text);
}

static const Case kCases[] = {
    {"version_and_names", TestVersionAndNames},
    {"exploration_and_uplift_info", TestExplorationAndUpliftInfo},
    {"errptr_contract", TestErrptrContract},
    {"policy_round_trips", TestPolicyRoundTrips},
    {"policy_errors", TestPolicyErrors},
    {"options", TestOptions},
    {"url_caps", TestUrlCaps},
    {"engine_create", TestEngineCreate},
    {"observe_every_kind", TestObserveEveryKind},
    {"observe_errors", TestObserveErrors},
    {"decide", TestDecide},
    {"expire", TestExpire},
    {"snapshot_restore", TestSnapshotRestore},
    {"stats", TestStats},
    {"threads", TestThreads},
    {"redis_url_option", TestRedisUrlOption},
    {"redis_store", TestRedisStore},
    {"redis_threads", TestRedisThreads},
};

int main(int argc, char** argv) {
  const size_t n = sizeof(kCases) / sizeof(kCases[0]);
  size_t i;
  int a;
  int ran = 0;
  int skipped = 0;
  for (i = 0; i < n; ++i) {
    int selected = argc < 2;
    for (a = 1; a < argc; ++a) {
      if (strcmp(argv[a], kCases[i].name) == 0) selected = 1;
    }
    if (selected) {
      const int before = g_failures;
      g_skipped = NULL;
      kCases[i].run();
      if (g_skipped != NULL && g_failures == before) {
        printf("[ SKIP ] %s: skipped: %s\n", kCases[i].name, g_skipped);
        ++skipped;
      } else {
        printf("[%s] %s\n", g_failures == before ? "  OK  " : "FAILED",
               kCases[i].name);
      }
      ++ran;
    }
  }
  if (ran == 0 || (argc >= 2 && ran != argc - 1)) {
    fprintf(stderr, "c_api_test: unknown case name among the arguments\n");
    return 2;
  }
  if (g_failures > 0) {
    fprintf(stderr, "c_api_test: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("c_api_test: all %d case(s) passed (%d skipped)\n", ran - skipped,
         skipped);
  return 0;
}
