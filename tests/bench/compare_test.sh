#!/usr/bin/env bash
# The comparisons of scripts/bench on a tiny simulated log (ctest "bench_compare",
# label slow): both implementations of each comparison run and decide, and
# their decisions agree as docs/benchmarks.md says they should. Never a
# check on time.
#
#   compare_test.sh BECKON_CLI LIBBECKON_C PYTHON PYTHONPATH WORKDIR
#
# Checks, on one day of 2,000 sessions:
#   - every implementation makes one decision per visitor event, and offers;
#   - the plain-Python and the json-rules-engine renditions decide alike, to
#     the reason (they are the same rules, line by line);
#   - beckon's batch run (one Engine.play_batch call) and its one call per
#     row agree on every reason (checked with the tolerance the older
#     wave-by-wave batch needed: reasons the rate window touches may
#     differ, offers within 5%, at least 3);
#   - the renditions and beckon agree exactly on no_session, declined,
#     ignored and engaged, and on the offers within 15% (at least 3): the
#     renditions draw another 5% of visitors for the holdout.
# Without node or tests/bench/node/node_modules (scripts/bench installs it)
# the Node.js half is skipped, said so; exit code 77 if nothing could run.
set -euo pipefail
cli=$1 lib=$2 py=$3 pypath=$4 dir=$5
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
"$cli" simulate --days 1 --visitors-per-day 2000 --seed 7 \
  --out "$dir/log.csv" --quiet

PYTHONPATH="$pypath" "$py" "$here/python_rules.py" --log "$dir/log.csv" \
  --calls --segment-s 60 --json "$dir/python.json"
node_json=""
if command -v node >/dev/null &&
   (cd "$here/node" && node -e 'require.resolve("koffi");
                                require.resolve("json-rules-engine")') \
     >/dev/null 2>&1; then
  node "$here/node/compare.js" --lib "$lib" --log "$dir/log.csv" \
    --json "$dir/node.json"
  node_json="$dir/node.json"
else
  echo "compare_test: Node.js half skipped (node or tests/bench/node's" \
       "node_modules missing: npm ci --prefix tests/bench/node)"
fi

"$py" - "$dir/log.csv" "$dir/python.json" "$node_json" <<'EOF'
import json, sys
log, py_path, node_path = sys.argv[1:4]
with open(log) as f:
    rows = f.read().splitlines()[1:]
visitor_events = sum(1 for r in rows if r.split(",")[2] != "agents")
py = json.load(open(py_path))
runs = {"plain": py["plain"], "beckon_batch": py["beckon_batch"],
        "beckon_calls": py["beckon_calls"]}
if node_path:
    node = json.load(open(node_path))
    runs["json_rules_engine"] = node["json_rules_engine"]
    runs["beckon_koffi"] = node["beckon_koffi"]
failed = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failed.append(what)
for name, r in runs.items():
    check(r["decisions"] == visitor_events,
          f"{name}: {r['decisions']} decisions for {visitor_events} visitor events")
    check(r["offers"] > 0, f"{name}: {r['offers']} offers")
    print(f"     {name}: {json.dumps(r['reasons'], sort_keys=True)}")
def near(a, b, frac):
    return abs(a - b) <= max(3, frac * max(a, b))
calls, batch = runs["beckon_calls"], runs["beckon_batch"]
check(near(batch["offers"], calls["offers"], 0.05),
      f"beckon batch {batch['offers']} offers vs calls {calls['offers']} (5%)")
touched = {"score", "rate_cap", "offer_rate_cap", "holdout", "no_agents", "session_cap",
           "min_gap", "dwell", "below_threshold"}
for reason in set(calls["reasons"]) | set(batch["reasons"]):
    if reason not in touched:
        a, b = calls["reasons"].get(reason, 0), batch["reasons"].get(reason, 0)
        check(a == b, f"beckon batch vs calls, {reason}: {b} == {a}")
renditions = ["plain"] + (["json_rules_engine"] if node_path else [])
if node_path:
    check(runs["plain"]["reasons"] == runs["json_rules_engine"]["reasons"],
          "plain Python and json-rules-engine decide alike")
    check(runs["beckon_koffi"]["reasons"] == calls["reasons"],
          "beckon from Node.js and from Python decide alike")
for name in renditions:
    r = runs[name]
    for reason in ("no_session", "declined", "ignored", "engaged"):
        a, b = r["reasons"].get(reason, 0), calls["reasons"].get(reason, 0)
        check(a == b, f"{name} vs beckon, {reason}: {a} == {b}")
    check(near(r["offers"], calls["offers"], 0.15),
          f"{name} {r['offers']} offers vs beckon {calls['offers']} (15%)")
sys.exit(1 if failed else 0)
EOF
