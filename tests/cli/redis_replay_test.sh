#!/usr/bin/env bash
# `beckon replay --store`: a replay over Redis decides exactly as one in
# memory (the same engine rules over the other store), and a Redis that
# cannot be reached fails the replay with a message naming it.
# Run under tests/redis/with_redis.sh, which sets BECKON_TEST_REDIS_URL.
#   redis_replay_test.sh BECKON_CLI WORK_DIR
set -euo pipefail
cli=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
url="${BECKON_TEST_REDIS_URL:?run under tests/redis/with_redis.sh}"

fail() { echo "FAIL: $*" >&2; exit 1; }

"$cli" simulate --days 1 --visitors-per-day 1500 --seed 7 --out sim.csv --quiet
"$cli" train --events sim.csv --out shop.policy --quiet 2>/dev/null ||
  fail "train"
"$cli" replay --policy shop.policy --events sim.csv --json \
  --trace mem.jsonl --quiet > mem.json
"$cli" replay --policy shop.policy --events sim.csv --json \
  --trace redis.jsonl --store "$url?prefix=cli1:" --quiet > redis.json
cmp mem.json redis.json || fail "metrics differ between memory and Redis"
cmp mem.jsonl redis.jsonl || fail "traces differ between memory and Redis"
lines=$(wc -l < redis.jsonl)
offers=$(grep -c '"action":"offer"' redis.jsonl || true)
[ "$lines" -gt 1000 ] || fail "only $lines decisions"
[ "$offers" -gt 10 ] || fail "only $offers offers: the rate and offer paths were not exercised"
echo "memory and Redis replays agree on $lines decisions ($offers offers)"

# The visitor state is in Redis afterwards, under the prefix, hash-tagged.
host_port=${url#redis://}; host_port=${host_port%%/*}
keys=$(redis-cli -h "${host_port%:*}" -p "${host_port#*:}" --scan \
       --pattern 'cli1:{*}:*' | wc -l)
[ "$keys" -gt 100 ] || fail "only $keys visitor keys under cli1:"
echo "$keys visitor keys under the prefix"

# Nobody listens on port 1: the replay stops, naming the store.
if "$cli" replay --policy shop.policy --events sim.csv \
     --store "redis://127.0.0.1:1/0?connect_timeout_ms=50" --quiet \
     > down.out 2> down.err; then
  fail "a replay against an unreachable Redis succeeded"
fi
grep -q "127.0.0.1:1" down.err || fail "error does not name the store: $(cat down.err)"
echo "unreachable store: $(head -c 200 down.err)"

# A malformed URL is rejected before anything runs.
if "$cli" replay --policy shop.policy --events sim.csv --store "http://x" \
     --quiet 2> bad.err; then
  fail "a bad store URL was accepted"
fi
grep -q "redis://" bad.err || fail "bad URL error is unclear: $(cat bad.err)"
echo "PASS"
