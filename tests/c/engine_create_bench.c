/* What creating an engine per request costs through the C ABI: a policy
 * file read, parsed and validated, the engine built, over Redis connected,
 * one decision made, the engine destroyed, as a request-per-process host
 * (PHP-FPM) does on every request. A benchmark, not a test: it prints
 * figures and checks nothing but that every call succeeds.
 *
 *   engine_create_bench POLICY_FILE REDIS_URL [N]
 *
 * Prints, for the Redis store and for the in-memory store, the first
 * creation in this process and the median, 90th and 99th percentile of the
 * N that follow (default 2000), in microseconds: create, decide, destroy.
 * docs/operations.md ("Per-request engines") has the figures. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beckon/beckon.h"

static double NowUs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int Compare(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static void Must(int status, char* err, const char* what) {
  if (status == BECKON_OK) return;
  fprintf(stderr, "engine_create_bench: %s: %s: %s\n", what,
          beckon_status_name(status), err != NULL ? err : "(no message)");
  beckon_free(err);
  exit(1);
}

/* One request's engine: returns the microseconds of create, decide and
 * destroy in t[0..2]. */
static void OneRequest(const char* policy, const beckon_engine_options_t* o,
                       beckon_decision_t* decision, int64_t now, double* t) {
  beckon_engine_t* engine = NULL;
  char* err = NULL;
  double a = NowUs(), b, c;
  Must(beckon_engine_create_from_policy_file(policy, o, &engine, &err), err,
       "beckon_engine_create_from_policy_file");
  b = NowUs();
  Must(beckon_engine_decide(engine, "bench-visitor", now, decision, &err), err,
       "beckon_engine_decide");
  c = NowUs();
  beckon_engine_destroy(engine);
  t[0] = b - a;
  t[1] = c - b;
  t[2] = NowUs() - c;
}

static void Report(const char* store, double first, double* v, int n,
                   const char* what) {
  qsort(v, (size_t)n, sizeof(double), Compare);
  printf("%-6s %-8s first %8.1f us   p50 %7.1f   p90 %7.1f   p99 %7.1f\n",
         store, what, first, v[n / 2], v[n * 9 / 10], v[n * 99 / 100]);
}

static void Run(const char* store, const char* policy, const char* url,
                int n) {
  beckon_engine_options_t* options = NULL;
  beckon_decision_t* decision = NULL;
  char* err = NULL;
  double first[3];
  double* t[3];
  int i, k;
  Must(beckon_engine_options_create(&options, &err), err, "options");
  Must(beckon_engine_options_set_redis_url(options, url, &err), err,
       "beckon_engine_options_set_redis_url");
  Must(beckon_decision_create(&decision, &err), err, "decision");
  for (k = 0; k < 3; ++k) {
    t[k] = malloc((size_t)n * sizeof(double));
    if (t[k] == NULL) exit(1);
  }
  OneRequest(policy, options, decision, INT64_C(1700000000000), first);
  for (i = 0; i < n; ++i) {
    double one[3];
    OneRequest(policy, options, decision, INT64_C(1700000000000) + i, one);
    for (k = 0; k < 3; ++k) t[k][i] = one[k];
  }
  Report(store, first[0], t[0], n, "create");
  Report(store, first[1], t[1], n, "decide");
  Report(store, first[2], t[2], n, "destroy");
  for (k = 0; k < 3; ++k) free(t[k]);
  beckon_decision_destroy(decision);
  beckon_engine_options_destroy(options);
}

int main(int argc, char** argv) {
  int n = 2000;
  if (argc < 3 || argc > 4 || (argc == 4 && (n = atoi(argv[3])) < 1)) {
    fprintf(stderr, "usage: %s POLICY_FILE REDIS_URL [N]\n", argv[0]);
    return 2;
  }
  printf("beckon %s: engine per request from %s, %d times\n",
         beckon_version(), argv[1], n);
  Run("redis", argv[1], argv[2], n);
  Run("memory", argv[1], NULL, n);
  return 0;
}
