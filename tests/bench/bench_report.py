#!/usr/bin/env python3
"""Turns the raw outputs of one scripts/bench run into its table, its JSON
and its plot (docs/benchmarks.md, "scripts/bench").

    bench_report.py --dir build-bench/bench [--json FILE] [--markdown]
                    [--plot FILE.png] [--mode quick|full]

Reads from --dir: engine_bench.json and train_bench.json (Google Benchmark's
--benchmark_out), node.json (tests/bench/node/compare.js; or node.skipped,
one line saying why), python.json (tests/bench/python_rules.py) and
machine.json. Asserts nothing about time: missing inputs become "not
measured" rows.
"""

import argparse
import json
import math
import os
import sys

BEGIN = "<!-- scripts/bench:begin -->"
END = "<!-- scripts/bench:end -->"

# Targets of issue 11, by row key.
ENGINE_TARGETS = {
    ("observe", 10_000): 40, ("observe", 1_000_000): 150,
    ("observe", 10_000_000): 200,
    ("decide", 10_000): 40, ("decide", 1_000_000): 120,
    ("decide", 10_000_000): 150,
    ("pair", 1_000_000): 250,
}



def over_text(x, target):
    """A cost against its ceiling: "met" at or under it, else how far over."""
    if not target or not x:
        return ""
    return "met" if x <= target else f"{x / target:.1f}× over"


def short_text(rate, target):
    """A rate against its floor: "met (N×)" at or above it, else how short."""
    if not rate:
        return ""
    return (f"met ({rate / target:.2f}×)" if rate >= target
            else f"{target / rate:.1f}× short")

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ns(b):
    """CPU time per iteration in ns (single-threaded rows: the machine is
    shared, and CPU time is what the call costs)."""
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    return b["cpu_time"] * scale


def size_text(n):
    for unit, div in (("M", 1_000_000), ("k", 1_000)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return f"{n:,}"


def time_text(x):
    if x is None:
        return "—"
    if x >= 1e6:
        return f"{x / 1e6:.2f} ms"
    if x >= 1e3:
        return f"{x / 1e3:.2f} µs"
    return f"{x:.0f} ns"


def rate_text(x):
    if x >= 1e6:
        return f"{x / 1e6:.2f} M/s"
    if x >= 1e3:
        return f"{x / 1e3:.0f} k/s"
    return f"{x:.0f}/s"


def engine_figures(data):
    """{(kind, n): benchmark dict} from engine_bench's JSON."""
    out = {}
    for b in (data or {}).get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration":
            continue
        name = b["name"]
        parts = name.split("/")
        kind = {"BM_ObservePageView": "observe", "BM_Decide": "decide",
                "BM_Pair": "pair", "BM_Populate": "populate",
                "BM_PairThreads": "threads",
                "BM_DecideHistograms": "histograms"}.get(parts[0])
        if kind is None:
            continue
        n = int(parts[1])
        if kind == "threads":
            out[(kind, n, int(b.get("threads", 1)))] = b
        elif kind == "histograms":
            out[(kind, n, int(parts[2]))] = b
        else:
            out[(kind, n)] = b
    return out


def build(dirname, mode):
    rows = []  # (key, what, figure text, target text, ratio text, values)
    figures = {"mode": mode}
    machine = load(os.path.join(dirname, "machine.json")) or {}
    figures["machine"] = machine

    def row(key, what, figure, target="", ratio="", **values):
        rows.append((what, figure, target, ratio))
        figures.setdefault("rows", {})[key] = dict(
            what=what, figure=figure, target=target, ratio=ratio, **values)

    eng = engine_figures(load(os.path.join(dirname, "engine_bench.json")))
    sizes = sorted({k[1] for k in eng if k[0] == "observe"})
    curve = {"sizes": sizes}
    for kind, label in (("observe", "Observe(page_view)"),
                        ("decide", "Decide"), ("pair", "Observe + Decide pair")):
        curve[kind] = []
        for n in sizes:
            b = eng.get((kind, n))
            x = ns(b) if b else None
            curve[kind].append(x)
            if kind == "pair" and n != 1_000_000 and n != sizes[-1]:
                continue  # The pair's row is at 1M (the curve has the rest).
            target = ENGINE_TARGETS.get((kind, n))
            ratio = over_text(x, target)
            row(f"{kind}_{n}", f"{label}, {size_text(n)} live visitors",
                time_text(x), f"<= {target} ns" if target else "—", ratio,
                ns_per_op=x, target_ns=target)
    figures["curve"] = curve
    if not sizes:
        row("engine", "engine benchmarks", "not measured")

    # Allocations per Decide (and per Observe), at the largest size.
    if sizes:
        n = sizes[-1]
        d = eng.get(("decide", n))
        o = eng.get(("observe", n))
        if d:
            row("allocs_decide", f"allocations per Decide ({size_text(n)})",
                f"{d['allocs_per_op']:.1f} allocs, "
                f"{d['alloc_bytes_per_op']:.0f} B",
                "0 in steady state",
                f"Observe: {o['allocs_per_op']:.2f} allocs" if o else "",
                allocs=d["allocs_per_op"], bytes=d["alloc_bytes_per_op"])
        p = eng.get(("populate", n))
        if p:
            row("bytes_per_visitor", f"bytes per live visitor ({size_text(n)})",
                f"{p['rss_bytes_per_visitor']:.0f} B RSS, "
                f"{p['heap_bytes_per_visitor']:.0f} B heap", "<= 96 B",
                over_text(p['rss_bytes_per_visitor'], 96),
                rss=p["rss_bytes_per_visitor"],
                heap=p["heap_bytes_per_visitor"])
            row("populate", f"populate {size_text(n)} visitors, per new one", time_text(p["ns_per_new_visitor"]),
                "<= 300 ns", over_text(p['ns_per_new_visitor'], 300),
                ns_per_visitor=p["ns_per_new_visitor"])
    # The latency histograms' cost: Decide with them on and off.
    on, off = eng.get(("histograms", 10_000, 1)), eng.get(("histograms", 10_000, 0))
    if on and off:
        row("histograms", "Decide at 10k, latency histograms on vs off",
            f"{time_text(ns(on))} vs {time_text(ns(off))}", "nothing measurable",
            f"{ns(on) / ns(off):.2f}×", on_ns=ns(on), off_ns=ns(off))
    # Two threads against one.
    tn = sorted({k[1] for k in eng if k[0] == "threads"})
    if tn:
        n = tn[-1]
        one, two = eng.get(("threads", n, 1)), eng.get(("threads", n, 2))
        if one and two:
            r = two["items_per_second"] / one["items_per_second"]
            row("threads", f"2 threads vs 1 on distinct visitors, pairs, "
                f"{size_text(n)}",
                f"{rate_text(two['items_per_second'])} vs "
                f"{rate_text(one['items_per_second'])}", ">= 1.8×",
                f"{r:.2f}×", ratio_value=r,
                one=one["items_per_second"], two=two["items_per_second"])

    # Training and replay.
    tr = load(os.path.join(dirname, "train_bench.json"))
    for b in (tr or {}).get("benchmarks", []):
        kind = b["name"].split("/")[0]
        ev = b.get("events", 0)
        eps = b.get("items_per_second", 0)
        label = f"{ev / 1e6:.1f}M" if ev >= 1e6 else f"{ev / 1e3:.0f}k"
        held = b.get("peak_heap_bytes_per_event", b["peak_bytes_per_event"])
        log_b = b.get("log_heap_bytes_per_event", b["log_bytes_per_event"])
        values = dict(events=ev, events_per_s=eps,
                      peak_heap_bytes_per_event=held,
                      peak_rss_bytes_per_event=b["peak_bytes_per_event"],
                      log_heap_bytes_per_event=log_b,
                      log_rss_bytes_per_event=b["log_bytes_per_event"])
        if kind == "BM_Train":
            row(f"train_{int(ev)}", f"train on {label} events",
                f"{rate_text(eps)}; {held:.0f} B/event held "
                f"(+{log_b:.0f} the log)", ">= 1 M/s; bounded memory",
                short_text(eps, 1e6), **values)
        elif kind == "BM_Replay":
            row(f"replay_{int(ev)}", f"replay of {label} events",
                f"{rate_text(eps)}; {held:.0f} B/event held", ">= 3 M/s",
                short_text(eps, 3e6), **values)
    if not tr:
        row("train", "training and replay", "not measured")

    # The comparisons.
    node = load(os.path.join(dirname, "node.json"))
    skipped = os.path.join(dirname, "node.skipped")
    if node:
        j, k = node["json_rules_engine"], node["beckon_koffi"]
        row("vs_json_rules_engine",
            f"Node.js: beckon (C ABI, koffi) vs json-rules-engine, "
            f"{node['events'] / 1e3:.0f}k events",
            f"{rate_text(k['events_per_s'])} vs {rate_text(j['events_per_s'])}",
            ">= 50×", f"{node['ratio']:.1f}×", ratio_value=node["ratio"],
            beckon=k["events_per_s"], rules=j["events_per_s"],
            offers_beckon=k["offers"], offers_rules=j["offers"])
    else:
        why = "not measured"
        if os.path.exists(skipped):
            with open(skipped) as f:
                why = f.read().strip() or why
        row("vs_json_rules_engine",
            "Node.js: beckon (C ABI, koffi) vs json-rules-engine", why,
            ">= 50×", "")
    py = load(os.path.join(dirname, "python.json"))
    if py:
        p, b = py["plain"], py["beckon_batch"]
        row("vs_plain_python",
            f"Python: beckon batch API vs plain dict rules, "
            f"{py['events'] / 1e3:.0f}k events",
            f"{rate_text(b['events_per_s'])} vs {rate_text(p['events_per_s'])}",
            ">= 10×", f"{py['ratio_batch_vs_plain']:.1f}×",
            ratio_value=py["ratio_batch_vs_plain"], beckon=b["events_per_s"],
            rules=p["events_per_s"], offers_beckon=b["offers"],
            offers_rules=p["offers"], batches=b.get("batches"))
        c = py.get("beckon_calls")
        if c:
            r = c["events_per_s"] / p["events_per_s"]
            row("vs_plain_python_calls",
                "Python: beckon one call per row vs plain dict rules",
                f"{rate_text(c['events_per_s'])} vs "
                f"{rate_text(p['events_per_s'])}", "", f"{r:.1f}×",
                ratio_value=r, beckon=c["events_per_s"])
    else:
        row("vs_plain_python", "Python: beckon batch API vs plain dict rules",
            "not measured", ">= 10×", "")
    return rows, figures


def table(rows, markdown):
    head = ("what", "figure", "target", "ratio / baseline (same run)")
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|---|---|---|---|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
    widths[0] = min(widths[0], 70)
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)


def plot(curve, path, machine):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sizes = curve["sizes"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, label, mark in (("observe", "Observe(page_view)", "o"),
                              ("decide", "Decide", "s"),
                              ("pair", "Observe + Decide", "^")):
        pts = [(n, y) for n, y in zip(sizes, curve[kind]) if y]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=mark,
                    label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("live visitors")
    ax.set_ylabel("ns per call (CPU time)")
    ax.set_title("beckon: cost per call vs live visitors")
    ax.grid(True, which="both", alpha=0.3)
    ax.axhline(100, color="grey", linestyle=":", linewidth=1)
    ax.text(sizes[0] if sizes else 1e4, 105, "~1 DRAM miss", color="grey",
            fontsize=8)
    ax.legend()
    sub = f"{machine.get('cpu', '')}, {machine.get('date', '')}, " \
          f"{machine.get('commit', '')}"
    fig.text(0.01, 0.01, sub, fontsize=7, color="grey")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--json")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--plot", action="append", default=[])
    ap.add_argument("--mode", default="full")
    ap.add_argument("--doc", help="replace the block between "
                    f"{BEGIN} and {END} in this file with the Markdown table")
    args = ap.parse_args()
    rows, figures = build(args.dir, args.mode)
    m = figures["machine"]
    header = ""
    if m:
        try:  # Written by scripts/bench when the runs are done.
            with open(os.path.join(args.dir, "load_end.txt")) as f:
                end_load = " ".join(f.read().split()[:3])
        except OSError:
            end_load = "?"
        header = (f"machine: {m.get('cpu')}, {m.get('nproc')} cores, "
                  f"{m.get('mem')}; {m.get('compiler')}; commit "
                  f"{m.get('commit')}; {m.get('date')}; mode {args.mode}; "
                  f"load {m.get('load')} at the start, {end_load} at the end")
        print(header)
    print(table(rows, args.markdown))
    if args.doc:
        with open(args.doc) as f:
            text = f.read()
        a, b = text.find(BEGIN), text.find(END)
        if a < 0 or b < a:
            print(f"bench_report: no {BEGIN} ... {END} block in {args.doc}",
                  file=sys.stderr)
            return 1
        block = (f"{BEGIN}\n{header}\n\n{table(rows, True)}\n")
        with open(args.doc, "w") as f:
            f.write(text[:a] + block + text[b:])
        print(f"table written into {args.doc}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1, sort_keys=True)
    for path in args.plot:
        if figures["curve"]["sizes"]:
            plot(figures["curve"], path, m)
            print(f"plot: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
