#!/usr/bin/env python3
"""The reasons' wording, held to what the engine said before its decisions
became text-free: every decision's action, reason and readable reasons of a
replay, counted, against the counts recorded then.

The expectations (*.expected.gz: one line per distinct [action, reason,
reasons] with its count) were written by the engine as it stood before the
hot-path work (commit 1e78503), replaying log.csv.gz (a simulated day,
`beckon simulate --days 1 --visitors-per-day 500 --seed 11`) with the
default policy and with edited_gates.txtpb (the default with a 20 s minimum
gap, 50 offers a session, an ignored cap of 1: the min_gap and ignored
gates speak too).

    check.py BECKON_CLI WORK_DIR
"""
import collections
import gzip
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def counts(trace):
    c = collections.Counter()
    with open(trace) as f:
        for line in f:
            d = json.loads(line)
            c[json.dumps([d["action"], d["reason"], d["reasons"]])] += 1
    return c


def expected(name):
    c = collections.Counter()
    with gzip.open(os.path.join(HERE, name), "rt") as f:
        for line in f:
            n, key = line.rstrip("\n").split("\t", 1)
            c[key] = int(n)
    return c


def main():
    cli, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    log = os.path.join(work, "log.csv")
    with gzip.open(os.path.join(HERE, "log.csv.gz"), "rb") as src, \
            open(log, "wb") as dst:
        dst.write(src.read())
    failed = False
    for policy, name in (("default", "default.expected.gz"),
                         (os.path.join(HERE, "edited_gates.txtpb"),
                          "edited.expected.gz")):
        trace = os.path.join(work, name + ".jsonl")
        subprocess.run([cli, "replay", "--policy", policy, "--events", log,
                        "--trace", trace, "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        got, want = counts(trace), expected(name)
        if got == want:
            print(f"{name}: {sum(got.values())} decisions, "
                  f"{len(got)} distinct reason lists, all as before")
            continue
        failed = True
        missing = want - got
        extra = got - want
        print(f"{name}: reasons differ from before", file=sys.stderr)
        for k in list(missing)[:5]:
            print(f"  expected ({missing[k]}x): {k}", file=sys.stderr)
        for k in list(extra)[:5]:
            print(f"  got      ({extra[k]}x): {k}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
