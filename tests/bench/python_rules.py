#!/usr/bin/env python3
"""beckon's Python batch API against the same offer rules in plain Python.

The rules of beckon's built-in default policy (lib/default_policy.cc,
docs/concepts.md sections 3 to 9) are written here as a host would write them
without beckon: a dict of per-visitor state updated on each event, and a
decide function that runs the gates in the documented order and the
logistic score. Both run the same workload on the same event log (CSV, as
`beckon simulate` writes it): for every visitor event, decide for that
visitor at the event's time (the dwell of the page it is leaving), then
observe the event; `agents` rows are observed only. Events per second count
the log's rows.

beckon runs through the batch API: one Engine.play_batch call over the
log's columns, which decides for each row's visitor at its time and then
observes the row, exactly as one decide and one observe per row in log
order would. With --calls, beckon
also runs one Engine.decide and Engine.observe call per row, as a check of
that claim (same offers, same reasons) and a figure of its own.

The plain version is a faithful rendition, not a port: the holdout draw
uses FNV-1a instead of SipHash-2-4 under a salt-derived key (a different 5%
of visitors), and the rate window is a list of offer times instead of 60
buckets; offer counts therefore differ a little. docs/benchmarks.md has the
tolerance the test allows.

    PYTHONPATH=build-bench/python python3 tests/bench/python_rules.py \
        --log build-bench/bench/log.csv [--rounds 3] [--json out.json] [--calls]
"""

import argparse
import collections
import gc
import json
import math
import statistics
import sys
import time

# --- The default policy, as lib/default_policy.cc sets it -----------------------

LANDING, CATEGORY, PRODUCT, SEARCH, HELP, CART, CHECKOUT, ACCOUNT, OTHER = range(9)

# (pattern, role, dwell threshold s, help rate)
GROUPS = {
    "/": (LANDING, 40, 0.02),
    "/c/*": (CATEGORY, 60, 0.02),
    "/p/*": (PRODUCT, 90, 0.04),
    "/search": (SEARCH, 30, 0.05),
    "/help/*": (HELP, 45, 0.15),
    "/help/shipping": (HELP, 40, 0.12),
    "/help/returns": (HELP, 40, 0.12),
    "/contact": (HELP, 20, 0.30),
    "/cart": (CART, 45, 0.05),
    "/checkout/*": (CHECKOUT, 35, 0.08),
    "/account/*": (ACCOUNT, 60, 0.06),
}
UNLISTED = "(unlisted)"
GROUPS[UNLISTED] = (OTHER, 60, 0.03)

PREFIX_RULES = [
    ("/help", "/help/*"), ("/faq", "/help/*"), ("/support", "/help/*"),
    ("/contact", "/contact"), ("/shipping", "/help/shipping"),
    ("/delivery", "/help/shipping"), ("/returns", "/help/returns"),
    ("/search", "/search"), ("/checkout", "/checkout/*"), ("/cart", "/cart"),
    ("/basket", "/cart"), ("/account", "/account/*"), ("/login", "/account/*"),
    ("/register", "/account/*"), ("/p/", "/p/*"), ("/product", "/p/*"),
    ("/c/", "/c/*"), ("/category", "/c/*"),
]
SEARCH_ENGINES = ["google.", "bing.com", "duckduckgo.com", "search.yahoo.",
                  "yandex.", "baidu.com", "ecosia.org", "qwant.com"]

BIAS = -4.2
W_DWELL, W_HELP, W_SEARCHES, W_ZERO, W_LOOPS, W_BNF = 0.9, 0.45, 0.1, 0.7, 0.35, 0.4
W_PATH, W_STALL, W_PAGES, W_CART, W_RATE = 1.0, 0.25, 0.1, 0.08, 4.0
BASE_THRESHOLD = 0.5
DECLINE_COOLDOWN_MS = 2_592_000_000
IGNORED_CAP = 2
IGNORED_COOLDOWN_MS = 604_800_000
MAX_OFFERS = 1
MIN_GAP_MS = 300_000
HOLDOUT = 0.05
ACCEPT_RATE = 0.3
RATE_WINDOW_MS = 300_000
PLENTY_AGENTS = 4
THRESHOLD_AT_ONE = 0.75
TIMEOUT_MS = 1_800_000


def normalize(url):
    """docs/concepts.md section 4: scheme and host dropped, query and
    fragment dropped, slashes collapsed, lowercased, no trailing slash."""
    i = url.find("://")
    if i >= 0 and all(c not in url[:i] for c in "/?#"):
        j = url.find("/", i + 3)
        url = url[j:] if j >= 0 else "/"
    for c in "?#":
        k = url.find(c)
        if k >= 0:
            url = url[:k]
    segs = [s for s in url.lower().split("/") if s]
    return ("/" + "/".join(segs))[:256]


def _idlike(seg):
    if not any(c.isdigit() for c in seg):
        return False
    if seg.isdigit():
        return True
    run = best = 0
    for c in seg:
        run = run + 1 if c.isdigit() else 0
        best = max(best, run)
    if best >= 3:
        return True
    return len(seg) >= 16 and all(c in "0123456789abcdef-" for c in seg)


_group_cache = {}


def group_of(path):
    g = _group_cache.get(path)
    if g is None:
        if path == "/":
            g = "/"
        else:
            for prefix, group in PREFIX_RULES:
                if path.startswith(prefix):
                    g = group
                    break
            else:
                template = "/" + "/".join(
                    "*" if _idlike(s) else s for s in path.split("/") if s)
                g = template if template in GROUPS else UNLISTED
        if len(_group_cache) < 100_000:
            _group_cache[path] = g
    return g


def from_search_engine(referrer):
    i = referrer.find("//")
    if i < 0:
        return False
    host = referrer[i + 2:].split("/")[0].split("?")[0].split("#")[0]
    host = host.rsplit("@", 1)[-1].split(":")[0].lower()
    for e in SEARCH_ENGINES:
        if e.endswith("."):
            if host.startswith(e) or ("." + e) in host:
                return True
        elif host == e or host.endswith("." + e):
            return True
    return False


def fnv1a(text):
    h = 0x811C9DC5
    for b in text.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def in_holdout(visitor):
    return fnv1a(visitor) / 2**32 < HOLDOUT


# --- The plain-Python host ---------------------------------------------------------


def new_session(ts):
    return {"start": ts, "last_event": ts, "last_activity": ts, "pages": 0,
            "help_hits": 0, "searches": 0, "zero": 0, "loops": 0, "bnf": 0,
            "recent": [], "steps": [], "group": UNLISTED, "page": None,
            "from_se": False, "seen_page_view": False, "in_checkout": False,
            "progress": ts, "cart": 0.0, "engaged": False, "offers": 0,
            "last_offer": None, "pending": False, "path": 0.0}


class PlainRules:
    """Per-visitor dict state; observe(...) and decide(...) as beckon's."""

    def __init__(self):
        self.sessions = {}
        self.memory = {}
        self.agents = None
        self.window = collections.deque()

    def observe(self, ts, visitor, event, page, detail):
        if event == "agents":
            self.agents = int(detail)
            return
        s = self.sessions.get(visitor)
        if s is None or ts - s["last_event"] > TIMEOUT_MS:
            s = self.sessions[visitor] = new_session(ts)
        s["last_event"] = ts
        if event != "offer_shown":
            s["last_activity"] = ts
        if event == "page_view" or event == "search":
            path = normalize(page)
            group = group_of(path)
            role = GROUPS[group][0]
            is_search = event == "search"
            if is_search:
                s["searches"] += 1
                if int(detail or 0) == 0:
                    s["zero"] += 1
                reload = False
            else:
                if not s["seen_page_view"]:
                    s["seen_page_view"] = True
                    s["from_se"] = bool(detail) and from_search_engine(detail)
                s["pages"] += 1
                reload = bool(s["recent"]) and s["recent"][-1] == path
                if not reload and role == HELP:
                    s["help_hits"] += 1
            # Checkout progress: entering, a new checkout page, a search there.
            if role == CHECKOUT:
                if not s["in_checkout"] or is_search or path != s["page"]:
                    s["progress"] = ts
                s["in_checkout"] = True
            else:
                s["in_checkout"] = False
            s["group"] = group
            s["page"] = path
            if not reload:
                recent = s["recent"]
                if len(recent) >= 2 and recent[-2] == path:
                    s["bnf"] += 1
                elif path in recent:
                    s["loops"] += 1
                recent.append(path)
                if len(recent) > 6:
                    del recent[0]
                steps = s["steps"]
                steps.append(role)
                if len(steps) > 8:
                    del steps[0]
                best = 0.0
                if len(steps) >= 2 and steps[-1] == HELP:
                    if steps[-2] == SEARCH:
                        best = 1.0 if s["from_se"] else 0.6
                    elif steps[-2] == CHECKOUT:
                        best = 0.8
                s["path"] = best
        elif event == "cart":
            s["cart"] = float(detail)
            if s["in_checkout"]:
                s["progress"] = ts
        elif event == "purchase":
            s["cart"] = 0.0
            if s["in_checkout"]:
                s["progress"] = ts
        elif event == "offer_shown":
            if s["pending"]:
                s["pending"] = False
            else:
                s["offers"] += 1
                s["last_offer"] = ts
        else:
            s["pending"] = False
            if event == "help_contact" or event == "offer_accepted":
                s["engaged"] = True
            elif event == "offer_declined":
                m = self.memory.setdefault(visitor, [None, 0, None])
                m[0] = ts if m[0] is None else max(m[0], ts)
            elif event == "offer_ignored":
                m = self.memory.setdefault(visitor, [None, 0, None])
                if m[2] is not None and ts - m[2] >= IGNORED_COOLDOWN_MS:
                    m[1] = 0
                m[1] += 1
                m[2] = ts

    def decide(self, ts, visitor):
        """Returns (action, reason) and records an offer as made."""
        s = self.sessions.get(visitor)
        if s is None or ts - s["last_event"] > TIMEOUT_MS:
            return "wait", "no_session"
        m = self.memory.get(visitor)
        if m is not None:
            if m[0] is not None and ts - m[0] < DECLINE_COOLDOWN_MS:
                return "suppress", "declined"
            if m[1] >= IGNORED_CAP and ts - m[2] < IGNORED_COOLDOWN_MS:
                return "suppress", "ignored"
        if s["engaged"]:
            return "suppress", "engaged"
        if s["offers"] >= MAX_OFFERS:
            return "suppress", "session_cap"
        if s["last_offer"] is not None and ts - s["last_offer"] < MIN_GAP_MS:
            return "suppress", "min_gap"
        _, dwell_s, help_rate = GROUPS[s["group"]]
        dwell = (ts - s["last_activity"]) / 1000.0
        if dwell < dwell_s:
            return "wait", "dwell"
        stall = (min((ts - s["progress"]) / 60000.0, 30.0)
                 if s["in_checkout"] else 0.0)
        z = (BIAS + W_DWELL * min(dwell / dwell_s, 4.0)
             + W_HELP * min(s["help_hits"], 10)
             + W_SEARCHES * min(s["searches"], 10)
             + W_ZERO * min(s["zero"], 10) + W_LOOPS * min(s["loops"], 10)
             + W_BNF * min(s["bnf"], 10) + W_PATH * s["path"]
             + W_STALL * stall + W_PAGES * math.log1p(s["pages"])
             + W_CART * math.log1p(s["cart"]) + W_RATE * help_rate)
        p = 1.0 / (1.0 + math.exp(-z))
        n = self.agents
        threshold = BASE_THRESHOLD
        if n is not None and 1 <= n < PLENTY_AGENTS:
            threshold += ((THRESHOLD_AT_ONE - BASE_THRESHOLD) *
                          (PLENTY_AGENTS - n) / (PLENTY_AGENTS - 1))
        if p < threshold:
            return "wait", "below_threshold"
        if in_holdout(visitor):
            return "suppress", "holdout"
        if n is not None:
            if n == 0:
                return "suppress", "no_agents"
            w = self.window
            while w and w[0] <= ts - RATE_WINDOW_MS:
                w.popleft()
            if len(w) >= math.floor(n / ACCEPT_RATE):
                return "suppress", "rate_cap"
            w.append(ts)
        s["offers"] += 1
        s["last_offer"] = ts
        s["last_event"] = max(s["last_event"], ts)
        s["pending"] = True
        return "offer", "score"


def run_plain(rows):
    """rows: (ts, visitor, event, page, detail) tuples. Returns reason
    counts and seconds."""
    host = PlainRules()
    reasons = collections.Counter()
    gc.disable()
    t0 = time.perf_counter()
    observe, decide = host.observe, host.decide
    for ts, visitor, event, page, detail in rows:
        if event != "agents":
            reasons[decide(ts, visitor)[1]] += 1
        observe(ts, visitor, event, page, detail)
    seconds = time.perf_counter() - t0
    gc.enable()
    return dict(reasons), seconds


# --- beckon ----------------------------------------------------------------------


def run_beckon_batch(beckon, cols, max_sessions, segment_ms=None):
    """The whole log in one Engine.play_batch call: for each row, a decision
    for its visitor at its time (all but `agents` rows), then the row
    observed; exactly the decisions of one decide and one observe per row
    in log order. `segment_ms` is unused (kept for the caller's options)."""
    import numpy as np
    ts, visitor, event, page, detail = cols
    engine = beckon.Engine(max_sessions=max_sessions)
    gc.disable()
    t0 = time.perf_counter()
    d = engine.play_batch(ts, visitor, event, page, detail, on_error="skip")
    codes = d["reason"].cat.codes.to_numpy()
    counts = np.bincount(codes[codes >= 0], minlength=len(beckon.REASONS))
    rejected = int(len(d) - d["accepted"].sum())
    seconds = time.perf_counter() - t0
    gc.enable()
    reasons = {beckon.REASONS[k]: int(c) for k, c in enumerate(counts) if c}
    return reasons, seconds, rejected, 1


def run_beckon_calls(beckon, rows, max_sessions):
    engine = beckon.Engine(max_sessions=max_sessions)
    reasons = collections.Counter()
    rejected = 0
    gc.disable()
    t0 = time.perf_counter()
    observe, decide = engine.observe, engine.decide
    for ts, visitor, event, page, detail in rows:
        if event != "agents":
            reasons[decide(ts, visitor).reason] += 1
        try:
            observe(ts, visitor, event, page, detail)
        except beckon.InvalidArgumentError:
            rejected += 1
    seconds = time.perf_counter() - t0
    gc.enable()
    return dict(reasons), seconds, rejected


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--log", required=True, help="CSV event log")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--calls", action="store_true",
                    help="also one beckon call per row")
    ap.add_argument("--segment-s", type=int, default=60,
                    help="batch segments at most this long (seconds)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()

    import numpy as np
    import beckon

    df = beckon.read_events(args.log)
    ts = df["ts_ms"].to_numpy(dtype=np.int64)
    cols = (ts, df["visitor"].tolist(), df["event"].tolist(),
            df["page"].tolist(), df["detail"].tolist())
    rows = list(zip(ts.tolist(), *cols[1:]))
    n = len(rows)
    max_sessions = 2 * len(set(cols[1])) + 1024

    runs = collections.defaultdict(list)
    result = {}
    for _ in range(max(1, args.rounds)):
        reasons, sec = run_plain(rows)
        runs["plain"].append(sec)
        result["plain"] = reasons
        reasons, sec, rej, batches = run_beckon_batch(
            beckon, cols, max_sessions, args.segment_s * 1000)
        runs["beckon_batch"].append(sec)
        result["beckon_batch_batches"] = batches
        result["beckon_batch"] = reasons
        result["beckon_batch_rejected"] = rej
        if args.calls:
            reasons, sec, rej = run_beckon_calls(beckon, rows, max_sessions)
            runs["beckon_calls"].append(sec)
            result["beckon_calls"] = reasons
            result["beckon_calls_rejected"] = rej

    out = {"events": n, "rounds": max(1, args.rounds)}
    for name, secs in runs.items():
        med = statistics.median(secs)
        reasons = result[name]
        out[name] = {"seconds": med, "events_per_s": n / med,
                     "decisions": sum(reasons.values()),
                     "offers": reasons.get("score", 0), "reasons": reasons}
        for extra in ("rejected", "batches"):
            if f"{name}_{extra}" in result:
                out[name][extra] = result[f"{name}_{extra}"]
    out["ratio_batch_vs_plain"] = (out["beckon_batch"]["events_per_s"] /
                                   out["plain"]["events_per_s"])
    for name in runs:
        o = out[name]
        print(f"{name:13s} {o['events_per_s']:12,.0f} events/s  "
              f"offers {o['offers']:7,d}  decisions {o['decisions']:9,d}  "
              f"{json.dumps(o['reasons'], sort_keys=True)}")
    print(f"beckon batch / plain Python: {out['ratio_batch_vs_plain']:.1f}x "
          f"({n:,} events)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
