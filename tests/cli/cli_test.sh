#!/usr/bin/env bash
# End-to-end checks of the beckon command-line tool: every subcommand's
# happy path, its output contracts, and its errors.
#   cli_test.sh path/to/beckon WORKDIR
set -uo pipefail
beckon="$1"
work="$2"
rm -rf "$work" && mkdir -p "$work"
cd "$work"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# expect_exit CODE CMD...: runs CMD, checks its exit code; output in out/err.
expect_exit() {
  local want="$1"; shift
  "$@" >out 2>err
  local got=$?
  [ "$got" -eq "$want" ] || fail "exit $got (want $want): $* :: $(cat err)"
}
py=/usr/bin/python3
json_check() {  # json_check FILE PYTHON-EXPR-ON-d
  $py -c "import json,sys; d=json.load(open('$1')); sys.exit(0 if ($2) else 1)" \
    || fail "json check failed on $1: $2"
}

# --- help and usage --------------------------------------------------------
expect_exit 0 "$beckon" --help
grep -q "simulate" out || fail "--help lists no commands"
for c in simulate train replay compare inspect convert; do
  expect_exit 0 "$beckon" "$c" --help
  grep -q "usage: beckon $c" out || fail "$c --help has no usage line"
done
expect_exit 2 "$beckon"
expect_exit 2 "$beckon" frobnicate
grep -q 'unknown command "frobnicate"' err || fail "unknown command message"
expect_exit 2 "$beckon" replay --no-such-flag
grep -q "unknown option --no-such-flag" err || fail "unknown option message"
expect_exit 0 "$beckon" --version
grep -q "^beckon [0-9]" out || fail "--version"

# --- simulate: reproducible --------------------------------------------------
expect_exit 0 "$beckon" simulate --days 3 --visitors-per-day 1500 --seed 4 \
  --out a.csv --quiet
expect_exit 0 "$beckon" simulate --days 3 --visitors-per-day 1500 --seed 4 \
  --out b.csv --quiet
cmp -s a.csv b.csv || fail "the same seed gave different logs"
head -1 a.csv | grep -qx "ts_ms,visitor,event,page,detail" || fail "header"
expect_exit 1 "$beckon" simulate --days 0 --out c.csv
grep -q "days" err || fail "bad --days names the option"

# --- train, inspect ------------------------------------------------------------
expect_exit 0 "$beckon" train --events a.csv --days 1-2 --out p.policy \
  --text-out p.txtpb --quiet
grep -q "precision" out || fail "train prints validation figures"
# Waiting times chosen by validation: the table of timing rules, one kept,
# in the output and the provenance; a pinned rule prints no table.
grep -q "timing rules on validation" out || fail "train prints timing rules"
[ "$(grep -c '^  \* ' out)" = 1 ] || fail "exactly one timing rule is kept"
[ -s p.policy ] || fail "no policy written"
grep -q 'created_by: "beckon train' p.txtpb || fail "text policy provenance"
# The offer-rate cap: the target (0.05) times a headroom of at least the
# default 1.5, chosen on validation and recorded.
grep -q 'max_offer_share: ' p.txtpb || fail "trained offer-rate cap"
grep -q 'key: "capped_offer_rate"' p.txtpb || fail "capped rate in provenance"
expect_exit 0 "$beckon" train --events a.csv --days 1-2 --out q.policy \
  --text-out q.txtpb --target-offer-rate 0.1 --offer-cap-headroom 2 \
  --max-offer-cap-cost 0.5 --quiet
grep -q 'max_offer_share: 0.2$' q.txtpb || fail "--offer-cap-headroom 2"
grep -q 'key: "offer_cap_headroom"' q.txtpb || fail "headroom in provenance"
expect_exit 1 "$beckon" train --events a.csv --out x.policy \
  --offer-cap-headroom 101
grep -q "offer-cap-headroom" err || fail "bad --offer-cap-headroom is named"
expect_exit 1 "$beckon" train --events a.csv --out x.policy \
  --offer-cap-headroom 0.5
grep -q "offer_cap_headroom" err || fail "headroom 0.5 is refused, named"
grep -q 'timing_candidates {' p.txtpb || fail "timing rules in provenance"
grep -q 'chosen: true' p.txtpb || fail "the kept timing rule is marked"
expect_exit 0 "$beckon" train --events a.csv --days 1-2 --out r.policy \
  --dwell-rule separation --early-offers yes --text-out r.txtpb --quiet
grep -q "timing rules on validation" out && fail "a pinned rule has no table"
grep -q 'name: "separation + early"' r.txtpb || fail "--dwell-rule/--early-offers"
grep -q 'allow_before_dwell_threshold: true' r.txtpb || fail "--early-offers yes"
expect_exit 1 "$beckon" train --events a.csv --out x.policy \
  --early-offers sometimes
grep -q "early_offers" err || fail "bad --early-offers is named"
# Learned granularity: the varied shop, its checkout split by the data.
expect_exit 0 "$beckon" simulate --shop varied --days 3 --visitors-per-day 3000 \
  --seed 4 --out v.csv --quiet
grep -q ",/checkout/payment," v.csv || fail "the varied shop has a payment step"
grep -q ",/item/" v.csv || fail "the varied shop's product pages are /item/"
expect_exit 1 "$beckon" simulate --shop nope --out x.csv
grep -q -- '--shop must be "default" or "varied", got "nope"' err || fail "bad --shop is named"
expect_exit 0 "$beckon" train --events v.csv --out v.policy --split-groups yes \
  --dwell-rule quantile --early-offers no --text-out v.txtpb
grep -q "^group split: /checkout/address out of /checkout/\*" out ||
  fail "train reports the address form split out of /checkout/*"
grep -q 'match: "/checkout/address"' v.txtpb || fail "the split's URL rule"
grep -q 'kind: "split"' v.txtpb || fail "the split in the provenance"
expect_exit 0 "$beckon" train --events v.csv --out w.policy --text-out w.txtpb \
  --dwell-rule quantile --early-offers no --quiet
grep -q 'match: "/checkout/address"' w.txtpb && fail "splits are opt-in"
expect_exit 1 "$beckon" train --events v.csv --out x.policy --split-groups maybe
grep -q "split_groups" err || fail "bad --split-groups is named"
expect_exit 0 "$beckon" inspect p.policy
grep -q "dwell_threshold_s" out || fail "inspect prints text format"
expect_exit 0 "$beckon" inspect p.policy --json
cp out inspect.json
json_check inspect.json "all(k in g for g in d['groups'] for k in ('pattern','role','dwell_threshold_s','help_rate'))"
expect_exit 0 "$beckon" inspect default --json
expect_exit 1 "$beckon" inspect a.csv
grep -q "invalid policy\|policy" err || fail "inspect of a non-policy"
# A small log trains, but below the trust floors: warnings on stderr (even
# with --quiet) and in the policy's provenance.
expect_exit 0 "$beckon" simulate --days 2 --visitors-per-day 400 --seed 4 \
  --out small.csv --quiet
expect_exit 0 "$beckon" train --events small.csv --out small.policy --quiet
grep -q "beckon train: warning: only [0-9]* help sessions in the training part" \
  err || fail "no label-count warning: $(cat err)"
expect_exit 0 "$beckon" inspect small.policy
grep -q 'warnings: "only' out || fail "the warning is not in the provenance"
expect_exit 1 "$beckon" train --events missing.csv --out x.policy
grep -q "missing.csv" err || fail "missing events file is named"

# --- train on offer outcomes (the simulator's legacy widget offers) ----------
expect_exit 0 "$beckon" train --events a.csv --days 1-2 --out o.policy \
  --labels offer_outcomes --text-out o.txtpb --quiet
grep -q "offer outcomes: [0-9]* answered offers" out ||
  fail "train --labels offer_outcomes prints the outcomes it learned from"
grep -q 'key: "labels"' o.txtpb && grep -q 'value: "offer_outcomes"' o.txtpb ||
  fail "the label source is in the provenance"
expect_exit 1 "$beckon" train --events a.csv --out x.policy --labels accepted
grep -q "labels must be" err || fail "bad --labels is named"
expect_exit 1 "$beckon" train --events a.csv --out x.policy \
  --labels offer_outcomes --min-offer-outcomes 1000000
grep -q "offer outcomes; at least 1000000 are needed" err ||
  fail "too few offer outcomes: $(cat err)"

# --- replay --decisions: errors (the join itself: tests/python) --------------
printf '{"ts_ms":1,"visitor_hash":"00000000000000ff","action":"offer","reason":"score"}\n' \
  > d.jsonl
printf '{"ts_ms":1,"visitor_hash":"00000000000000ff","action":"offer","reason":"score"}\n{"ts_ms":2}\n' \
  > bad.jsonl
expect_exit 1 "$beckon" replay --policy default --events a.csv --days 1 \
  --decisions bad.jsonl --quiet
grep -q "bad.jsonl: line 2: not a decision log line: missing visitor_hash" err ||
  fail "a bad decision log line is named: $(cat err)"
expect_exit 1 "$beckon" replay --policy default --events a.csv --days 1 \
  --decisions d.jsonl --visitor-key-file k.key --quiet
grep -q "visitor key" err || fail "decisions of unknown visitors: $(cat err)"
expect_exit 1 "$beckon" replay --policy default --events a.csv --days 1 \
  --decisions missing.jsonl --quiet
grep -q "missing.jsonl" err || fail "a missing decision log is named"

# --- replay: JSON metrics, trace, state ---------------------------------------
expect_exit 0 "$beckon" replay --policy p.policy --events a.csv --days 3 \
  --json --trace trace.jsonl --quiet
cp out m.json
json_check m.json "all(k in d for k in ('sessions','offered_sessions','offers','help_sessions','hits','precision','recall','offer_rate','median_lead_s','offers_after_decline','offers_without_agents','groups'))"
json_check m.json "d['offers_after_decline'] == 0 and d['offers_without_agents'] == 0 and d['offers'] > 0"
$py - trace.jsonl <<'PY' || fail "trace lines"
import json, sys
n = offers = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert all(k in d for k in ("ts_ms", "visitor", "action", "probability", "reasons"))
    assert d["action"] in ("offer", "wait", "suppress")
    assert isinstance(d["reasons"], list)
    n += 1
    offers += d["action"] == "offer"
assert n > 0 and offers > 0
PY
expect_exit 0 "$beckon" replay --policy default --events a.csv --days 1 \
  --save-state day1.state --quiet
[ -s day1.state ] || fail "no state saved"
# The state holds only the key's fingerprint: the key is beside it, private.
[ "$(stat -c %a day1.state.key)" = 600 ] || fail "no private key file beside the state"
expect_exit 0 "$beckon" replay --policy default --events a.csv --days 2 \
  --load-state day1.state --json --quiet
expect_exit 1 "$beckon" replay --policy default --events a.csv \
  --load-state nothing.state
grep -q "nothing.state" err || fail "missing state file is named"
expect_exit 0 "$beckon" replay --policy p.policy --events a.csv --days 3 \
  --fixed-dwell 60 --json --quiet
json_check out "d['offers'] == d['offered_sessions']"

# --- bad logs -----------------------------------------------------------------
printf 'ts_ms,visitor,event,page,detail\n1700000000000,v,page_view,/,\nx,v,page_view,/,\n' \
  > bad.csv
expect_exit 1 "$beckon" replay --policy default --events bad.csv
grep -q "line 3" err || fail "bad row error names its line"
expect_exit 0 "$beckon" replay --policy default --events bad.csv --lenient \
  --json --quiet
grep -q "skipped 1 bad rows" err || fail "lenient mode reports skips"
# A log in epoch seconds: refused naming the line, the column and the fix;
# --allow-small-epoch accepts it.
printf 'ts_ms,visitor,event,page,detail\n1700000000,v,page_view,/,\n' \
  > seconds.csv
for c in replay train compare; do
  policy_flag=(--policy default)
  [ "$c" = train ] && policy_flag=(--out never.policy)
  expect_exit 1 "$beckon" "$c" "${policy_flag[@]}" --events seconds.csv --quiet
  grep -q "line 2: column ts_ms: 1700000000 looks like epoch seconds" err \
    || fail "$c: a log in seconds is not refused: $(cat err)"
  grep -q "multiply the column by 1000" err || fail "$c: no fix named"
done
expect_exit 0 "$beckon" replay --policy default --events seconds.csv \
  --allow-small-epoch --json --quiet
json_check out "d['sessions'] == 1"
printf 'time,who\n' > badheader.csv
expect_exit 1 "$beckon" replay --policy default --events badheader.csv
grep -q "header" err || fail "bad header message"

# --- compare ------------------------------------------------------------------
expect_exit 0 "$beckon" compare --policy p.policy --events a.csv --days 3 \
  --rates 0.05 --json --quiet
json_check out "abs(d['matched']['baseline']['offer_rate'] - d['matched']['policy']['offer_rate']) < 0.01 and len(d['sweep']) == 1"
# A rate past what the policy can reach is marked and explained.
expect_exit 0 "$beckon" compare --policy p.policy --events a.csv --days 3 \
  --rates 0.02,0.9 --json --quiet
json_check out "d['sweep'][0]['reachable'] and not d['sweep'][1]['reachable'] and d['max_offer_rate'] < 0.9 and sum(d['unoffered_by_reason'].values()) > 0 and 0 < d['recall_area'] <= 1"
expect_exit 0 "$beckon" compare --policy p.policy --events a.csv --days 3 \
  --rates 0.02,0.9 --quiet
grep -q "at 90%\*" out || fail "an unreachable rate is not marked"
grep -q "not reachable: at its lowest threshold the policy offers to" out \
  || fail "an unreachable rate is not explained: $(cat out)"
grep -q "recall averaged over offer rates" out || fail "no recall area"
expect_exit 2 "$beckon" compare --policy p.policy --events a.csv --rates
expect_exit 1 "$beckon" compare --policy p.policy --events a.csv --rates 2

# --- convert access: a web server's own log -----------------------------------
cat > access.log <<'LOG'
10.0.0.1 - - [01/Apr/2008:10:00:05 +0000] "GET /p/12 HTTP/1.1" 200 512 "https://www.bing.com/" "Mozilla/5.0"
10.0.0.1 - - [01/Apr/2008:10:00:06 +0000] "GET /site.css HTTP/1.1" 200 99 "-" "Mozilla/5.0"
66.249.66.1 - - [01/Apr/2008:10:00:10 +0000] "GET /p/13 HTTP/1.1" 200 10 "-" "Googlebot/2.1"
10.0.0.2 - - [01/Apr/2008:10:00:11 +0000] "GET /cart HTTP/1.0" 200 7
LOG
expect_exit 0 "$beckon" convert access --in access.log --out access.csv
grep -q "4 lines: 2 page views" err || fail "convert access counts: $(cat err)"
grep -q "1 crawlers" err || fail "convert access counts crawlers"
[ "$(sed -n 2p access.csv)" = "1207044005000,10.0.0.1,page_view,/p/12,https://www.bing.com/" ] \
  || fail "convert access row: $(sed -n 2p access.csv)"
expect_exit 0 "$beckon" convert access --in access.log --out all.csv \
  --keep-crawlers --quiet
[ "$(wc -l < all.csv)" = 4 ] || fail "--keep-crawlers keeps the crawler"
echo 'bad line' >> access.log
expect_exit 1 "$beckon" convert access --in access.log --out x.csv
grep -q "access.log: line 5: expected host" err || fail "bad access line: $(cat err)"
expect_exit 1 "$beckon" convert nasa --in access.log --out x.csv --keep-crawlers
grep -q "for access logs only" err || fail "--keep-crawlers on nasa"
expect_exit 1 "$beckon" convert apache --in access.log --out x.csv
grep -q "nasa, eshop or access" err || fail "unknown kind of log"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all CLI checks passed"
