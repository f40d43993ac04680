#!/usr/bin/env bash
# `beckon label` end to end: its errors and counts on small exports, then
# the labelled real-log routes convert -> label -> train -> replay ->
# compare on the NASA log and the e-shop clickstream, with a helpdesk
# export DERIVED from each converted log by scripts/derive_helpdesk.py
# (docs/real-logs.md, "Worked example"). The real-data part skips, saying
# so, where the shared data is absent.
#   label_test.sh BECKON_BINARY WORK_DIR [DATA_DIR]
set -euo pipefail
bin=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
data=${3:-${BECKON_DATA_DIR:-$here/../../../shared/data}}
derive=$here/../../scripts/derive_helpdesk.py
rm -rf "$work" && mkdir -p "$work" && cd "$work"

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_error() {  # expect_error PATTERN COMMAND...: fails, stderr matches.
  local pattern=$1; shift
  if "$@" >out.txt 2>err.txt; then fail "succeeded: $*"; fi
  grep -q -- "$pattern" err.txt || { cat err.txt >&2; fail "no \"$pattern\""; }
}

# --- Small exports ---------------------------------------------------------------
cat >events.csv <<'CSV'
ts_ms,visitor,event,page,detail
1700000000000,v1,page_view,/,
1700000030000,v1,page_view,/help/sizes,
1700000200000,v1,page_view,/p/1,
1700000000000,v2,page_view,/c/shoes,
1700005000000,v2,page_view,/p/2,
CSV
cat >chats.csv <<'CSV'
id,visitor,start,channel,topic
c1,v1,2023-11-14T22:14:20Z,chat,sizes
c2,v1,1700000100000,Phone,"sizes, again"
c3,v1,1700000100000,chat,dup
c4,v2,2023-11-14T23:48:20+01:00,,
c5,nobody,1700000000000,chat,
c6,v2,1700009000000,email,late
CSV
"$bin" label --events events.csv --contacts chats.csv --out labelled.csv \
  --unmatched-out unmatched.csv >out.txt 2>err.txt
grep -q "contacts read 6, attached 3, unmatched 2, duplicates 1" out.txt ||
  { cat out.txt; fail "small export counts"; }
grep -q 'unmatched: line 6: "nobody" at 1700000000000 ms: unknown visitor' \
  err.txt || { cat err.txt; fail "unmatched not listed"; }
[ "$(tail -n +2 unmatched.csv | wc -l)" = 2 ] || fail "unmatched.csv rows"
grep -q '^7,v2,1700009000000,no session at that time$' unmatched.csv ||
  fail "late contact not reported"
# Inserted at its time, on the page viewed then, after the view at 30 s;
# the phone contact (100 s) lands before the view at 200 s; c4 is v2 at
# 22:48:20Z = 1700002100000, 2100 s after v2's first view: 30 + 5 min.
diff <(tail -n +2 labelled.csv) - <<'CSV' || fail "labelled rows"
1700000000000,v1,page_view,/,
1700000000000,v2,page_view,/c/shoes,
1700000030000,v1,page_view,/help/sizes,
1700000060000,v1,help_contact,/help/sizes,chat
1700000100000,v1,help_contact,/help/sizes,call
1700000200000,v1,page_view,/p/1,
1700002100000,v2,help_contact,/c/shoes,
1700005000000,v2,page_view,/p/2,
CSV
# The tolerance is an option: with none, c4 (40 min after v2's view) fails.
"$bin" label --events events.csv --contacts chats.csv --out l0.csv \
  --tolerance-s 0 --quiet >out.txt 2>/dev/null
grep -q "attached 2, unmatched 3" out.txt || fail "--tolerance-s 0"
expect_error "3 of 6 contacts match no session" \
  "$bin" label --events events.csv --contacts chats.csv --out l1.csv \
  --tolerance-s 0 --unmatched error
[ ! -e l1.csv ] || fail "--unmatched error wrote its output"

# Bad rows name the file, line and column; the output is left alone.
echo keep >kept.csv
printf 'visitor,start\nv1,yesterday\n' >bad.csv
expect_error 'bad.csv: line 2: column "start": not epoch milliseconds or ISO 8601 with a zone: "yesterday"' \
  "$bin" label --events events.csv --contacts bad.csv --out kept.csv
[ "$(cat kept.csv)" = keep ] || fail "a bad export changed --out"
printf 'visitor,start\nv1,1700000060\n' >secs.csv
expect_error 'column "start": "1700000060" looks like epoch seconds' \
  "$bin" label --events events.csv --contacts secs.csv --out l2.csv
printf 'visitor,start\nv1,2023-11-14T22:14:20\n' >nozone.csv
expect_error 'line 2: column "start": ISO 8601 time without a zone' \
  "$bin" label --events events.csv --contacts nozone.csv --out l2.csv
printf 'visitor,start,channel\nv1,1700000060000,fax\n' >chan.csv
expect_error 'line 2: column "channel": not a channel' \
  "$bin" label --events events.csv --contacts chan.csv --out l2.csv
printf 'who,when\nv1,1700000060000\n' >hdr.csv
expect_error 'hdr.csv: line 1: the header must name the columns visitor (or session) and start; found "who,when"' \
  "$bin" label --events events.csv --contacts hdr.csv --out l2.csv
printf 'session,start\n,1700000060000\ns1,2023-02-30T00:00:00Z\n' >lenient.csv
"$bin" label --events events.csv --contacts lenient.csv --out l3.csv \
  --lenient >out.txt 2>err.txt
grep -q "malformed 2" out.txt || fail "--lenient counts"
grep -q 'line 3: column "start": not a valid date' err.txt || fail "--lenient"


# --- The real logs, labelled with a derived export -----------------------------------
if [ ! -f "$data/nasa_19950801.tsv" ] ||
   [ ! -f "$data/eshop_clothing_2008_april_subset.csv" ]; then
  echo "label_test: SKIP real logs: no shared data in $data"
  exit 0
fi
# rate_between VALUE LO HI
rate_between() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN{exit !(v>=lo && v<=hi)}'; }

"$bin" convert nasa --in "$data/nasa_19950801.tsv" --out nasa.csv --quiet
# Unlabelled, the log cannot train; the error points at the route.
expect_error "join a chat or helpdesk export onto the log with beckon label" \
  "$bin" train --events nasa.csv --out none.policy --quiet
python3 "$derive" --kind nasa --events nasa.csv --out nasa-chats.csv
"$bin" label --events nasa.csv --contacts nasa-chats.csv --out nasa-l.csv \
  --quiet >nasa-label.txt 2>/dev/null
cat nasa-label.txt
# Every derived contact of a NASA session attaches; only the off-site ones
# do not; the export's repeated rows are counted as duplicates.
read -r read_n attached unmatched dups < <(sed -E \
  's/contacts read ([0-9]+), attached ([0-9]+), unmatched ([0-9]+), duplicates ([0-9]+).*/\1 \2 \3 \4/' \
  nasa-label.txt)
[ "$attached" -ge 80 ] || fail "NASA: only $attached contacts attached"
[ "$unmatched" -ge 1 ] && [ "$unmatched" -le $((attached / 50 + 1)) ] ||
  fail "NASA: $unmatched unmatched"
[ $((attached + unmatched + dups)) = "$read_n" ] || fail "NASA: counts"
"$bin" train --events nasa-l.csv --out nasa.policy --quiet >nasa-train.txt
cat nasa-train.txt
# On the held-out latest 20% of the day (the trainer's validation part).
vrate=$(sed -nE 's/^validation .*offer rate ([0-9.]+),.*/\1/p' nasa-train.txt)
vrecall=$(sed -nE 's/^validation .*recall ([0-9.]+),.*/\1/p' nasa-train.txt)
rate_between "$vrate" 0.005 0.25 || fail "NASA: validation offer rate $vrate"
rate_between "$vrecall" 0.0001 1 || fail "NASA: validation recall $vrecall"
"$bin" replay --policy nasa.policy --events nasa-l.csv --json >nasa-replay.json
python3 - nasa-replay.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m = m.get("metrics", m)
rate, hits = m["offer_rate"], m["hits"]
print(f"NASA replay: offer rate {rate:.4f}, hits {hits}")
assert 0.005 <= rate <= 0.25, rate
assert hits > 0, hits
PY
"$bin" compare --policy nasa.policy --events nasa-l.csv --rates 0.05 --json \
  >nasa-compare.json
python3 - nasa-compare.json <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
row = c["sweep"][0]
pol, base = row["policy"], row["baseline"]
print(f"NASA compare at 5%: policy offer rate {pol['offer_rate']:.4f} "
      f"precision {pol['precision']:.3f} recall {pol['recall']:.3f}; "
      f"baseline (T {row['baseline_seconds']:.0f} s) offer rate "
      f"{base['offer_rate']:.4f} precision {base['precision']:.3f} "
      f"recall {base['recall']:.3f}")
assert 0.005 <= pol["offer_rate"] <= 0.25, pol
# The learned policy finds more of the (derived) askers than the fixed rule
# at the same offer rate.
assert pol["recall"] > base["recall"], (pol["recall"], base["recall"])
PY

"$bin" convert eshop --in "$data/eshop_clothing_2008_april_subset.csv" \
  --out eshop.csv --quiet
python3 "$derive" --kind eshop --events eshop.csv --out eshop-chats.csv
"$bin" label --events eshop.csv --contacts eshop-chats.csv --out eshop-l.csv \
  --quiet >eshop-label.txt 2>/dev/null
cat eshop-label.txt
grep -qE "attached [0-9]{3,}," eshop-label.txt || fail "e-shop: attached"
grep -qE "unmatched [1-9][0-9]*," eshop-label.txt || fail "e-shop: unmatched"
grep -qE "duplicates [1-9][0-9]*," eshop-label.txt || fail "e-shop: dups"
# The e-shop's clicks are a synthetic 30 s apart (docs/real-logs.md): a
# session without help never dwells past the trainer's dwell floor, so the
# trainer has no negative decision points and refuses, naming why. If the
# trainer learns to use them (issue 13, its own part), the same route must
# give sensible offer rates.
if "$bin" train --events eshop-l.csv --out eshop.policy --quiet \
     >eshop-train.txt 2>eshop-train.err; then
  cat eshop-train.txt
  vrate=$(sed -nE 's/^validation .*offer rate ([0-9.]+),.*/\1/p' eshop-train.txt)
  rate_between "$vrate" 0.005 0.25 || fail "e-shop: validation offer rate $vrate"
  "$bin" replay --policy eshop.policy --events eshop-l.csv --json \
    >eshop-replay.json 2>/dev/null
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert 0.005 <= m["offer_rate"] <= 0.25 and m["hits"] > 0, m' eshop-replay.json
  "$bin" compare --policy eshop.policy --events eshop-l.csv --rates 0.05 \
    --quiet >/dev/null 2>&1 || fail "e-shop: compare"
else
  cat eshop-train.err
  grep -q "all training samples have the same label" eshop-train.err ||
    fail "e-shop: train failed otherwise"
fi
echo "label_test: OK"
