/* A C host of beckon: plays visitor sessions through the C ABI and prints
 * every decision with its reasons, the way a shop's backend would call it.
 *
 *   beckon_c_session
 *
 * The PHP (examples/php/session.php) and Node.js (examples/node/session.js)
 * hosts play the same session and print the same lines; the tests check all
 * of them against the C++ engine.
 *
 * A host observes each event as it happens, asks for a decision after it,
 * and when the answer is "wait" with a recheck time, sets one timer. Every
 * call returns a status code; on failure `err` holds a message to release
 * with beckon_free(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "beckon/beckon.h"

static const int64_t kT0 = INT64_C(1700000000000); /* A Tuesday, Nov 2023. */
static const int64_t kSec = 1000;

/* "+2:25" (minutes:seconds since the story began), "+7d 0:10" later on. */
static const char* Clock(int64_t ts_ms, char* buf, size_t size) {
  const long long s = (long long)((ts_ms - kT0) / 1000);
  if (s >= 86400) {
    snprintf(buf, size, "+%lldd %lld:%02lld", s / 86400, s % 86400 / 60,
             s % 60);
  } else {
    snprintf(buf, size, "+%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

/* Exits on a failure the session does not expect. */
static void Must(int status, char* err, const char* what) {
  if (status == BECKON_OK) return;
  fprintf(stderr, "%s failed: %s: %s\n", what, beckon_status_name(status),
          err != NULL ? err : "(no message)");
  beckon_free(err);
  exit(1);
}

typedef struct Host {
  beckon_engine_t* engine;
  beckon_decision_t* decision;
} Host;

/* Prints the event line; returns 1 if the event's status is OK, else prints
 * the rejection and returns 0. */
static int Report(int64_t ts_ms, const char* who, const char* what, int status,
                  char* err) {
  char clock[32];
  printf("%7s  %-10s %s\n", Clock(ts_ms, clock, sizeof(clock)), who, what);
  if (status == BECKON_OK) return 1;
  printf("    rejected: %s: %s\n", beckon_status_name(status), err);
  beckon_free(err);
  return 0;
}

/* Asks at `now` and prints the decision; fills `info`. */
static void Ask(Host* host, const char* visitor, int64_t now,
                beckon_decision_info_t* info) {
  char* err = NULL;
  char clock[32];
  uint32_t i;
  Must(beckon_engine_decide(host->engine, visitor, now, host->decision, &err),
       err, "beckon_engine_decide");
  info->struct_size = sizeof(*info);
  Must(beckon_decision_get_info(host->decision, info, &err), err,
       "beckon_decision_get_info");
  printf("    %-8s p=%.4f (threshold %.4f) [%s]",
         beckon_action_name(info->action), info->probability, info->threshold,
         beckon_reason_name(info->reason));
  if (info->has_recheck_at) {
    printf("  recheck at %s", Clock(info->recheck_at_ms, clock, sizeof(clock)));
  }
  printf("\n");
  for (i = 0; i < info->reason_count; ++i) {
    const char* text = NULL;
    Must(beckon_decision_get_reason(host->decision, i, &text, &err), err,
         "beckon_decision_get_reason");
    printf("      - %s\n", text);
  }
}

/* Follows recheck times until the answer is no longer "wait". */
static void FollowTimer(Host* host, const char* visitor,
                        beckon_decision_info_t* info) {
  char clock[32];
  while (info->action == BECKON_ACTION_WAIT && info->has_recheck_at) {
    const int64_t t = info->recheck_at_ms;
    printf("%7s  %-10s (timer fires; nothing else happened)\n",
           Clock(t, clock, sizeof(clock)), visitor);
    Ask(host, visitor, t, info);
  }
}

static void PageView(Host* host, int64_t ts, const char* visitor,
                     const char* page, const char* referrer, const char* what) {
  char* err = NULL;
  beckon_decision_info_t info = BECKON_DECISION_INFO_INIT;
  int status = beckon_engine_observe_page_view(host->engine, ts, visitor, page,
                                               referrer, &err);
  if (Report(ts, visitor, what, status, err)) Ask(host, visitor, ts, &info);
}

static void Search(Host* host, int64_t ts, const char* visitor,
                   const char* page, int64_t results, const char* what) {
  char* err = NULL;
  beckon_decision_info_t info = BECKON_DECISION_INFO_INIT;
  int status = beckon_engine_observe_search(host->engine, ts, visitor, page,
                                            results, &err);
  if (Report(ts, visitor, what, status, err)) Ask(host, visitor, ts, &info);
}

static void Agents(Host* host, int64_t ts, int64_t free_agents,
                   const char* what) {
  char* err = NULL;
  int status =
      beckon_engine_observe_agents(host->engine, ts, free_agents, &err);
  Report(ts, "(site)", what, status, err);
}

int main(void) {
  Host host = {NULL, NULL};
  beckon_policy_t* policy = NULL;
  const char* policy_name = NULL;
  char* policy_bytes = NULL;
  size_t policy_size = 0;
  char* snapshot = NULL;
  size_t snapshot_size = 0;
  char* err = NULL;
  beckon_decision_info_t info = BECKON_DECISION_INFO_INIT;
  beckon_stats_t stats = BECKON_STATS_INIT;
  const int64_t week = INT64_C(7) * 86400 * kSec;
  int status;

  Must(beckon_engine_create_default(NULL, &host.engine, &err), err,
       "beckon_engine_create_default");
  Must(beckon_decision_create(&host.decision, &err), err,
       "beckon_decision_create");
  Must(beckon_engine_policy(host.engine, &policy, &err), err,
       "beckon_engine_policy");
  Must(beckon_policy_name(policy, &policy_name, &err), err,
       "beckon_policy_name");
  printf("beckon %s (ABI %d) on the policy \"%s\"\n", beckon_version(),
         (int)beckon_abi_version(), policy_name);

  printf("\n1. A visitor gets stuck looking for how to return an item\n\n");
  Agents(&host, kT0, 3, "3 agents free");
  PageView(&host, kT0, "anna", "/",
           "https://www.google.com/search?q=shop+returns",
           "lands on / from a search engine");
  PageView(&host, kT0 + 20 * kSec, "anna", "/p/4711", NULL, "views /p/4711");
  Search(&host, kT0 + 70 * kSec, "anna", "/search?q=return+label", 0,
         "searches \"return label\": no results");
  Search(&host, kT0 + 85 * kSec, "anna", "/search?q=returns", 0,
         "searches \"returns\": no results");
  PageView(&host, kT0 + 100 * kSec, "anna", "/help/returns", NULL,
           "opens /help/returns");
  Ask(&host, "anna", kT0 + 110 * kSec, &info);
  FollowTimer(&host, "anna", &info);

  printf("\n2. She says \"no thanks\"; a late page view is rejected\n\n");
  status = beckon_engine_observe_offer_shown(host.engine, kT0 + 146 * kSec,
                                             "anna", "/help/returns",
                                             BECKON_CHANNEL_CHAT, &err);
  Report(kT0 + 146 * kSec, "anna", "the chat invitation is shown", status, err);
  status = beckon_engine_observe_offer_declined(host.engine, kT0 + 150 * kSec,
                                                "anna", "/help/returns",
                                                BECKON_CHANNEL_CHAT, &err);
  Report(kT0 + 150 * kSec, "anna", "declines it", status, err);
  PageView(&host, kT0 + 140 * kSec, "anna", "/help/returns", NULL,
           "a page view reported late, out of order");

  printf("\n3. A browsing visitor buys; nobody interrupts\n\n");
  PageView(&host, kT0 + 200 * kSec, "ben", "/c/shoes", NULL, "views /c/shoes");
  PageView(&host, kT0 + 230 * kSec, "ben", "/p/1001", NULL, "views /p/1001");
  status = beckon_engine_observe_cart(host.engine, kT0 + 260 * kSec, "ben",
                                      "/p/1001", 59.90, &err);
  if (Report(kT0 + 260 * kSec, "ben", "adds to cart (59.90)", status, err)) {
    Ask(&host, "ben", kT0 + 260 * kSec, &info);
  }
  status = beckon_engine_observe_purchase(host.engine, kT0 + 290 * kSec, "ben",
                                          "/checkout/done", 59.90, &err);
  if (Report(kT0 + 290 * kSec, "ben", "buys (59.90)", status, err)) {
    Ask(&host, "ben", kT0 + 290 * kSec, &info);
  }

  printf("\n4. No agent is free: nobody is invited\n\n");
  Agents(&host, kT0 + 300 * kSec, 0, "0 agents free");
  PageView(&host, kT0 + 300 * kSec, "carl", "/checkout/address", NULL,
           "views /checkout/address");
  PageView(&host, kT0 + 301 * kSec, "carl", "/checkout/address", NULL,
           "reloads it (form error?)");
  Ask(&host, "carl", kT0 + 301 * kSec + 12 * 60 * kSec, &info);

  printf("\n5. The shop restarts: snapshot, a new engine, restore\n\n");
  Must(beckon_engine_snapshot(host.engine, &snapshot, &snapshot_size, &err),
       err, "beckon_engine_snapshot");
  Must(beckon_policy_to_bytes(policy, &policy_bytes, &policy_size, &err), err,
       "beckon_policy_to_bytes");
  beckon_engine_destroy(host.engine);
  host.engine = NULL;
  Must(beckon_engine_create_from_policy_bytes(policy_bytes, policy_size, NULL,
                                              &host.engine, &err),
       err, "beckon_engine_create_from_policy_bytes");
  Must(beckon_engine_restore(host.engine, snapshot, snapshot_size, &err), err,
       "beckon_engine_restore");
  printf("    restored a snapshot of %lu bytes\n",
         (unsigned long)snapshot_size);
  beckon_free(snapshot);
  beckon_free(policy_bytes);

  printf("\n6. A week later she is back: beckon still leaves her alone\n\n");
  Agents(&host, kT0 + week, 2, "2 agents free");
  PageView(&host, kT0 + week, "anna", "/checkout/payment", NULL,
           "a new session, stuck in checkout");
  Ask(&host, "anna", kT0 + week + 10 * 60 * kSec, &info);
  status = beckon_engine_expire(host.engine, kT0 + week + 10 * 60 * kSec, &err);
  Report(kT0 + week + 10 * 60 * kSec, "(site)",
         "the host's periodic expiry of idle sessions", status, err);

  Must(beckon_engine_stats(host.engine, &stats, &err), err,
       "beckon_engine_stats");
  printf(
      "\nstats since the restart: %llu sessions started, %llu live, "
      "%llu memory records, %llu events observed, %llu rejected; "
      "decisions: %llu offer, %llu wait, %llu suppress\n",
      (unsigned long long)stats.sessions_started,
      (unsigned long long)stats.live_sessions,
      (unsigned long long)stats.memory_records,
      (unsigned long long)stats.events_observed,
      (unsigned long long)stats.events_rejected,
      (unsigned long long)stats.decisions_by_action[BECKON_ACTION_OFFER],
      (unsigned long long)stats.decisions_by_action[BECKON_ACTION_WAIT],
      (unsigned long long)stats.decisions_by_action[BECKON_ACTION_SUPPRESS]);

  beckon_policy_destroy(policy);
  beckon_decision_destroy(host.decision);
  beckon_engine_destroy(host.engine);
  return 0;
}
