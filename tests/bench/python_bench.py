#!/usr/bin/env python3
"""Per-call overhead and batch throughput of the Python package `beckon`.

Measures, in one run:

  - a pure-Python no-op method call, in the same loop as the engine calls
    (the baseline);
  - Engine.observe and Engine.decide, one call per event or decision, with
    10,000 (and, without --quick, 1,000,000) live visitors;
  - Engine.observe_batch and Engine.decide_batch on arrays of 1,000,000 rows
    (100,000 with --quick), per row, and against one call per row;
  - read_events, train and replay on a simulated log, in events per second.

The engine workload mirrors tests/bench/engine_bench.cc: every visitor has
seen two pages; observe records a page_view of one of ten URLs, cycling over
the visitors; decide asks 2 s after the visitors' second page (the common
answer, "wait"). Observe and decide run on two engines, so that the decide
engine's state never changes.

Timing: time.perf_counter_ns around a block of calls; a warm-up round, then
rounds in which every measurement of a group runs once in turn, so that the
baseline and the calls it is compared with share the machine's state; the
median over the rounds, and each ratio as the median of its per-round
ratios. The garbage collector is off during a block (as timeit does). It
never asserts anything about time; figures vary run to run.

    PYTHONPATH=build/python python3 tests/bench/python_bench.py [--quick]
"""

import argparse
import gc
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np

import beckon

T0 = 1_700_000_000_000
PAGES = ["/", "/c/shoes", "/p/123456", "/p/998877", "/help/returns",
         "/search?q=x", "/checkout/a", "/blog/2024/05/some-post", "/cart",
         "/account/orders/5512"]


def visitor_ids(n):
    return ["c0ffee" + str((i * 2654435761) % 2**32) for i in range(n)]


def populated(ids):
    """An engine with len(ids) live visitors, each having seen two pages
    (at T0 and T0 + 1). Room for twice the visitors: each of the 64 shards
    keeps ceil(max_sessions / 64) sessions, and with only N + 1 the fuller
    half of the shards would evict, leaving some visitors without a session
    and making the observe loop start and evict sessions."""
    n = len(ids)
    engine = beckon.Engine(max_sessions=2 * n + 1024)
    ts = np.concatenate([np.full(n, T0), np.full(n, T0 + 1)]).astype(np.int64)
    pages = ([PAGES[i % 10] for i in range(n)] +
             [PAGES[(i + 3) % 10] for i in range(n)])
    engine.observe_batch(ts, ids + ids, ["page_view"] * (2 * n), pages)
    stats = engine.stats()
    if stats["live_sessions"] != n or stats["sessions_evicted"] != 0:
        raise SystemExit(f"setup: expected {n} live visitors, got {stats}")
    return engine


class NoOp:
    """The baseline: pure-Python methods with the engine's signatures."""

    def observe(self, ts_ms, visitor, event, page="", detail=""):
        pass

    def decide(self, ts_ms, visitor):
        pass


class Clock:
    """The time of the next pass over the visitors (observe's events must
    come in time order per visitor)."""

    def __init__(self, start_ms):
        self.t = start_ms


class ObserveLoop:
    """`calls` observe() calls, one page_view each, cycling over the
    visitors; the clock moves on 1 s per pass."""

    def __init__(self, target, ids, calls, clock):
        self.target, self.ids, self.calls, self.clock = target, ids, calls, clock
        self.i = 0

    def __call__(self):
        observe = self.target.observe
        ids, pages, n = self.ids, PAGES, len(self.ids)
        i, t = self.i, self.clock.t
        for _ in range(self.calls):
            observe(t, ids[i], "page_view", pages[(i * 7) % 10])
            i += 1
            if i == n:
                i = 0
                t += 1000
        self.i, self.clock.t = i, t


class DecideLoop:
    """`calls` decide() calls, one per visitor in turn, all at `at_ms`."""

    def __init__(self, target, ids, calls, at_ms):
        self.target, self.ids, self.calls, self.at = target, ids, calls, at_ms
        self.i = 0

    def __call__(self):
        decide = self.target.decide
        ids, n, t = self.ids, len(self.ids), self.at
        i = self.i
        for _ in range(self.calls):
            decide(t, ids[i])
            i += 1
            if i == n:
                i = 0
        self.i = i


class ObserveBatch:
    """One observe_batch() of `rows` page views cycling over the visitors,
    1 s apart per pass, from the clock on."""

    def __init__(self, engine, ids, rows, clock):
        n = len(ids)
        self.engine, self.clock = engine, clock
        self.passes = -(-rows // n)
        self.offsets = (1000 * (np.arange(rows) // n)).astype(np.int64)
        self.visitor = [ids[k % n] for k in range(rows)]
        self.event = ["page_view"] * rows
        self.page = [PAGES[(k * 7) % 10] for k in range(rows)]

    def __call__(self):
        ts = self.offsets + (self.clock.t + 1000)
        self.engine.observe_batch(ts, self.visitor, self.event, self.page)
        self.clock.t += 1000 * (self.passes + 1)


class DecideBatch:
    """One decide_batch() of `rows` (time, visitor) pairs, all at `at_ms`."""

    def __init__(self, engine, ids, rows, at_ms):
        n = len(ids)
        self.engine = engine
        self.ts = np.full(rows, at_ms, dtype=np.int64)
        self.visitor = [ids[k % n] for k in range(rows)]
        self.last = None

    def __call__(self):
        self.last = self.engine.decide_batch(self.ts, self.visitor)

    def mix(self):
        kinds = (self.last["action"].astype(str) + " (" +
                 self.last["reason"].astype(str) + ")")
        shares = kinds.value_counts(normalize=True)
        return ", ".join(f"{k} {s:.0%}" for k, s in shares.items() if s > 0)


def run_rounds(blocks, rounds):
    """Runs each block once (warm-up), then `rounds` rounds of every block
    in turn; returns each block's nanoseconds per round."""
    for block in blocks.values():
        block()
    times = {name: [] for name in blocks}
    for _ in range(rounds):
        for name, block in blocks.items():
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter_ns()
                block()
                times[name].append(time.perf_counter_ns() - start)
            finally:
                gc.enable()
    return times


def fmt_ns(ns):
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.0f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def fmt_rate(per_s):
    if per_s >= 1e6:
        return f"{per_s / 1e6:.2f} M/s"
    return f"{per_s / 1e3:.0f} k/s"


def engine_rows(n, calls, batch_rows, rounds):
    """The table rows for n live visitors: (call, visitors, per-call or
    per-row ns per round, ratio to the no-op call, batch speed-up, note)."""
    ids = visitor_ids(n)
    observe_engine = populated(ids)
    decide_engine = populated(ids)
    clock = Clock(T0 + 1000)
    at = T0 + 2000  # 2 s after the second page.
    noop_clock = Clock(T0 + 1000)
    blocks = {
        "noop_observe": ObserveLoop(NoOp(), ids, calls, noop_clock),
        "observe": ObserveLoop(observe_engine, ids, calls, clock),
        "observe_batch": ObserveBatch(observe_engine, ids, batch_rows, clock),
        "noop_decide": DecideLoop(NoOp(), ids, calls, at),
        "decide": DecideLoop(decide_engine, ids, calls, at),
        "decide_batch": DecideBatch(decide_engine, ids, batch_rows, at),
    }
    raw = run_rounds(blocks, rounds)
    per = {k: [t / (batch_rows if k.endswith("_batch") else calls)
               for t in v] for k, v in raw.items()}

    def ratio(a, b):
        return statistics.median(x / y for x, y in zip(per[a], per[b]))

    rows = [
        ("no-op Python method, observe's arguments", n, per["noop_observe"],
         1.0, None, ""),
        ("`Engine.observe`", n, per["observe"],
         ratio("observe", "noop_observe"), None, ""),
        (f"`Engine.observe_batch`, {batch_rows:,} rows", n,
         per["observe_batch"], None, ratio("observe", "observe_batch"), ""),
        ("no-op Python method, decide's arguments", n, per["noop_decide"],
         1.0, None, ""),
        ("`Engine.decide`", n, per["decide"],
         ratio("decide", "noop_decide"), None, ""),
        (f"`Engine.decide_batch`, {batch_rows:,} rows", n,
         per["decide_batch"], None, ratio("decide", "decide_batch"),
         blocks["decide_batch"].mix()),
    ]
    return rows


def timed_calls(block, repeats):
    """Nanoseconds of block() per repeat (the warm-up is done apart)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter_ns()
        block()
        times.append(time.perf_counter_ns() - start)
    return times


def log_rows(days, visitors_per_day, repeats):
    """(call, events, ns per repeat, note) for the calls on a whole log."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "events.csv")
        events = beckon.simulate(days=days, seed=1,
                                 visitors_per_day=visitors_per_day, path=path)
        n = len(events)
        # The warm-up: each call once on the first day.
        first_day = events[events.ts_ms < events.ts_ms.iloc[0] + 86_400_000]
        first_path = os.path.join(tmp, "first_day.csv")
        beckon.write_events(first_day, first_path)
        policy = beckon.Policy.default()
        beckon.read_events(first_path)
        beckon.train(first_day)
        beckon.replay(policy, first_day)

        rows.append(("`read_events` (CSV file to DataFrame)", n,
                     timed_calls(lambda: beckon.read_events(path), repeats),
                     ""))
        rows.append(("`train` (from the DataFrame, default options)", n,
                     timed_calls(lambda: beckon.train(events), repeats),
                     "C++ `BM_Train` (1.0 M events): 113 k/s"))
        rows.append(("`replay` (default policy, `trace=False`)", n,
                     timed_calls(lambda: beckon.replay(policy, events,
                                                       trace=False), repeats),
                     "C++ `BM_Replay` (1.0 M events): 334 k/s"))
        rows.append(("`replay` (default policy, with the trace DataFrame)", n,
                     timed_calls(lambda: beckon.replay(policy, events),
                                 repeats), ""))
    return rows


def main():
    parser = argparse.ArgumentParser(
        description="Per-call overhead and batch throughput of beckon's "
        "Python package.")
    parser.add_argument("--quick", action="store_true",
                        help="a small run: 10,000 visitors only, "
                        "100,000-row batches, a two-day log, fewer rounds")
    args = parser.parse_args()
    if args.quick:
        sizes, calls, batch_rows, rounds = [10_000], 20_000, 100_000, 3
        days, per_day, log_repeats = 2, 4000, 1
    else:
        sizes, calls, batch_rows, rounds = [10_000, 1_000_000], 200_000, \
            1_000_000, 5
        days, per_day, log_repeats = 7, 18000, 3

    print(f"beckon {beckon.__version__}, Python {platform.python_version()} "
          f"({sys.executable}), numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, {platform.platform()}")
    print(f"{'--quick: ' if args.quick else ''}{calls:,} calls per loop, "
          f"batches of {batch_rows:,} rows; median of {rounds} rounds after "
          "a warm-up round (min-max in brackets)")
    print()

    print("| call | live visitors | time per call or row | rate "
          "| × no-op call | batch speed-up |")
    print("|---|---|---|---|---|---|")
    notes = []
    for n in sizes:
        for what, visitors, per, vs_noop, speedup, note in engine_rows(
                n, calls, batch_rows, rounds):
            med = statistics.median(per)
            spread = f"({fmt_ns(min(per))}–{fmt_ns(max(per))})"
            print(f"| {what} | {visitors:,} | {fmt_ns(med)} {spread} "
                  f"| {fmt_rate(1e9 / med)} "
                  f"| {f'{vs_noop:.1f}' if vs_noop is not None else ''} "
                  f"| {f'{speedup:.1f} ×' if speedup is not None else ''} |")
            if note:
                notes.append(f"decide_batch with {visitors:,} visitors "
                             f"answered: {note}")
        gc.collect()
    print()
    print("× no-op call: the call's time over the no-op Python method's, in "
          "the same loop. Batch speed-up: one call per row over the batch's "
          "time per row.")
    for note in notes:
        print(note)
    print("C++ (docs/benchmarks.md, engine_bench, Release): Observe 300 ns "
          "(10,000 visitors) to 603 ns (1,000,000), Decide 1.33 to 1.69 µs.")
    print()

    print("| call | events | time | events per second | |")
    print("|---|---|---|---|---|")
    for what, n, times, note in log_rows(days, per_day, log_repeats):
        med = statistics.median(times)
        spread = (f" ({fmt_ns(min(times))}–{fmt_ns(max(times))})"
                  if len(times) > 1 else "")
        print(f"| {what} | {n:,} | {fmt_ns(med)}{spread} | "
              f"{fmt_rate(n * 1e9 / med)} | {note} |")


if __name__ == "__main__":
    main()
