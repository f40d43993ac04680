#!/usr/bin/env bash
# Replays real traffic: the NASA Kennedy Space Center access log of
# 1 August 1995 (../shared/data), converted to the event log, with the
# built-in default policy and with a policy learned on simulated data.
# Prints offers per 1,000 sessions, when in the session offers come, and the
# share of offers per site section (docs/real-logs.md shows the figures).
# Environment: BUILD_DIR (default build/), DATA_DIR (default ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${DATA_DIR:-../shared/data}/nasa_19950801.tsv"
if [ ! -f "$data" ]; then
  echo "nasa_replay: $data not found (set DATA_DIR)" >&2
  exit 1
fi
scripts/setup.sh
TARGETS=beckon_cli scripts/build.sh -DBECKON_BUILD_TOOLS=ON >/dev/null
build="${BUILD_DIR:-build}"
beckon="$build/tools/beckon"
work="$build/nasa"
mkdir -p "$work"
"$beckon" convert nasa --in "$data" --out "$work/nasa.csv"
"$beckon" simulate --days 7 --seed 1 --out "$work/sim.csv" --quiet
"$beckon" train --events "$work/sim.csv" --out "$work/sim.policy" --quiet \
  >/dev/null
for p in default "$work/sim.policy"; do
  echo
  echo "== policy: $p"
  "$beckon" replay --policy "$p" --events "$work/nasa.csv" --quiet \
    --trace "$work/trace-$(basename "$p").jsonl" --json >"$work/m.json"
  "$beckon" replay --policy "$p" --events "$work/nasa.csv" --quiet
  # Share of offers per site section (the first path segment).
  /usr/bin/env python3 - "$work/trace-$(basename "$p").jsonl" \
      "$work/nasa.csv" <<'PY'
import csv, json, sys, collections
trace, log = sys.argv[1], sys.argv[2]
page = {}  # visitor -> current page, replayed in time order with the trace
events = []
with open(log, newline="") as f:
    for row in csv.DictReader(f):
        events.append((int(row["ts_ms"]), row["visitor"], row["page"]))
events.sort(key=lambda e: e[0])
offers = []
with open(trace) as f:
    for line in f:
        d = json.loads(line)
        if d["action"] == "offer":
            offers.append((d["ts_ms"], d["visitor"]))
offers.sort()
i = 0
sections = collections.Counter()
for ts, v in offers:
    while i < len(events) and events[i][0] <= ts:
        page[events[i][1]] = events[i][2]
        i += 1
    p = page.get(v, "")
    seg = "/" + p.split("?")[0].strip("/").split("/")[0] if p else "?"
    sections[seg] += 1
total = sum(sections.values())
print("offers by site section:")
for seg, n in sections.most_common(8):
    print(f"  {seg:<24} {n:5d}  {100.0 * n / total:5.1f}%")
PY
done
