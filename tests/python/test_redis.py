"""beckon.Engine over the Redis store: the store= option, an unreachable
Redis, two engines sharing one live Redis, pickling, migration by
snapshot, and the same decisions as the in-memory store.

The live cases read the server's URL from BECKON_TEST_REDIS_URL
(tests/redis/with_redis.sh starts a private redis-server and sets it) and
skip, saying so, when it is not set. A library built without the Redis
store makes the cases that need it skip too, unless BECKON_TEST_EXPECT_REDIS
is 1 (ctest sets it where the build has the store): then it is a failure.
"""

import os
import pickle

import pytest

import beckon

MIN = 60_000
DAY = 86_400_000

#: Connections to port 1 on loopback are refused at once; no backoff, so
#: every call tries again.
REFUSED = ("redis://127.0.0.1:1/0?connect_timeout_ms=100"
           "&backoff_min_ms=0&backoff_max_ms=0")


@pytest.fixture(scope="module")
def policy():
    """The default policy without its holdout (see test_engine.py)."""
    text = beckon.Policy.default().to_text()
    return beckon.Policy.from_text(text.replace("holdout_fraction: 0.05",
                                                "holdout_fraction: 0"))


@pytest.fixture(scope="module")
def redis_support():
    """Skips (or fails, with BECKON_TEST_EXPECT_REDIS=1) where the library
    was built without the Redis store."""
    try:
        beckon.Engine(store=REFUSED, visitor_key=(1, 2))
    except beckon.Error as e:
        if "without Redis support" not in str(e):
            raise
        if os.environ.get("BECKON_TEST_EXPECT_REDIS") == "1":
            pytest.fail(f"the Redis store was expected but: {e}")
        pytest.skip(f"this beckon has no Redis store: {e}")


_counter = [0]


@pytest.fixture
def redis_url(redis_support, request):
    """A URL of the live Redis with a key prefix of its own per test (and
    process), so that tests and runs never share keys."""
    base = os.environ.get("BECKON_TEST_REDIS_URL", "")
    if not base:
        pytest.skip("BECKON_TEST_REDIS_URL not set (run under "
                    "tests/redis/with_redis.sh for the live Redis cases)")
    _counter[0] += 1
    sep = "&" if "?" in base else "?"
    return (f"{base}{sep}prefix=pytest:{os.getpid()}:{_counter[0]}:"
            f"{request.node.name[:30]}:")


def stuck_visitor(engine, t0, visitor="v1"):
    """As in test_engine.py; returns the time of the last page view."""
    engine.observe(t0, visitor, "page_view", "/contact",
                   "https://www.google.com/search?q=refund")
    engine.observe(t0 + 5_000, visitor, "search", "/search?q=refund", 0)
    engine.observe(t0 + 15_000, visitor, "page_view", "/returns/policy")
    engine.observe(t0 + 30_000, visitor, "page_view", "/contact")
    return t0 + 30_000


def offer_time(engine, last, visitor="v1"):
    """Follows the recheck time to the offer; returns its time."""
    d = engine.decide(last, visitor)
    assert d.action == "wait" and d.recheck_at_ms is not None
    offer = engine.decide(d.recheck_at_ms, visitor)
    assert offer.action == "offer", offer
    return d.recheck_at_ms


# --- The option, without a server ------------------------------------------------

def test_memory_is_the_default_store(policy):
    for engine in (beckon.Engine(policy), beckon.Engine(policy, store=None),
                   beckon.Engine(policy, store="")):
        assert engine.store is None
        s = engine.stats()
        assert (s["store_errors"], s["store_conflicts"],
                s["store_round_trips"]) == (0, 0, 0)
        assert "store=" not in repr(engine)


@pytest.mark.parametrize("url, message", [
    ("http://127.0.0.1:6379", "must start with redis:// or unix://"),
    ("redis://127.0.0.1:99999", "port"),
    ("redis://127.0.0.1/0?colour=blue", 'unknown option "colour"'),
    ("redis://127.0.0.1/0?prefix={x}", "key_prefix"),
    ("unix://relative.sock", "absolute socket path"),
])
def test_bad_store_urls_raise(policy, url, message):
    with pytest.raises(beckon.InvalidArgumentError, match=message):
        beckon.Engine(policy, store=url)


def test_store_must_be_a_string(policy):
    with pytest.raises(TypeError, match="store must be None or a Redis URL"):
        beckon.Engine(policy, store=6379)


def test_unreachable_redis_never_offers(policy, t0, redis_support):
    # Given no key, the fleet's key must come from Redis: an error that says
    # what to configure.
    with pytest.raises(beckon.UnavailableError, match="visitor_key"):
        beckon.Engine(policy, store=REFUSED)
    # With the fleet's key, not an error.
    engine = beckon.Engine(policy, store=REFUSED, visitor_key=(1, 2))
    assert engine.store == REFUSED
    assert "store=redis" in repr(engine)
    with pytest.raises(beckon.UnavailableError) as raised:
        engine.observe(t0, "v1", "page_view", "/contact")
    assert isinstance(raised.value, ConnectionError)
    d = engine.decide(t0 + 10 * MIN, "v1")
    assert (d.action, d.reason) == ("suppress", "store_unavailable")
    assert d.reasons
    with pytest.raises(beckon.UnavailableError):
        engine.snapshot()
    frame = engine.decide_batch([t0 + 11 * MIN], ["v1"])
    assert list(frame["reason"]) == ["store_unavailable"]
    s = engine.stats()
    assert s["events_observed"] == 0
    assert s["store_errors"] >= 3
    assert s["decisions_by_reason"]["store_unavailable"] == 2


# --- A live Redis -------------------------------------------------------------

def test_two_engines_share_visitors(policy, t0, redis_url):
    """Two engines on one Redis, as two servers of a shop: B sees A's
    offer (session cap) and its session; A sees B's decline, days later."""
    a = beckon.Engine(policy, store=redis_url)
    b = beckon.Engine(policy, store=redis_url)
    last = stuck_visitor(a, t0)
    offered = offer_time(a, last)
    d = b.decide(offered + 1_000, "v1")
    assert (d.action, d.reason) == ("suppress", "session_cap")
    b.observe(offered + 2_000, "v1", "offer_declined", "/contact", "chat")
    last = stuck_visitor(a, t0 + 3 * DAY)
    d = a.decide(last + 10 * MIN, "v1")
    assert (d.action, d.reason) == ("suppress", "declined")
    # The session features travel: B's decision for a visitor A saw has
    # the same probability as A's.
    stuck_visitor(a, t0, "v2")
    assert a.decide(t0 + 40_000, "v2").probability == \
        b.decide(t0 + 40_000, "v2").probability
    for e in (a, b):
        s = e.stats()
        assert s["store_round_trips"] > 0 and s["store_errors"] == 0
    assert a.stats()["events_observed"] == 12
    assert b.stats()["events_observed"] == 1


def test_pickled_redis_engine_shares_instead_of_copying(policy, t0,
                                                         redis_url):
    """A Redis engine pickles as its policy and URL: a copy made from a
    pickle taken before a decline still sees the decline (the state is
    shared, not copied), which a pickled in-memory engine would not."""
    engine = beckon.Engine(policy, store=redis_url, visitor_key=(3, 4))
    last = stuck_visitor(engine, t0)
    data = pickle.dumps(engine)
    engine.observe(last + 1_000, "v1", "offer_declined", "/contact", "chat")
    copy_ = pickle.loads(data)
    assert copy_.store == redis_url
    assert copy_.policy == engine.policy
    last = stuck_visitor(copy_, t0 + 3 * 3600_000)
    d = copy_.decide(last + 10 * MIN, "v1")
    assert (d.action, d.reason) == ("suppress", "declined")
    # The options travel too: the visitor key (snapshots of the copy
    # restore only under it).
    with pytest.raises(beckon.FailedPreconditionError):
        beckon.Engine(policy).restore(copy_.snapshot())


def test_snapshots_migrate_between_memory_and_redis(policy, t0, redis_url):
    # Snapshots move between stores under one configured key.
    key = (0x5eed, 0xf1ee7)
    memory = beckon.Engine(policy, visitor_key=key)
    last = stuck_visitor(memory, t0)
    memory.observe(last + 1_000, "v1", "offer_declined", "/contact", "chat")
    stuck_visitor(memory, t0 + 60_000, "v2")
    redis = beckon.Engine(policy, store=redis_url, visitor_key=key)
    redis.restore(memory.snapshot())
    back = beckon.Engine(policy, visitor_key=key)
    back.restore(redis.snapshot())
    assert back.stats()["live_sessions"] == 2
    assert back.stats()["memory_records"] == 1
    for e in (memory, redis, back):
        last = stuck_visitor(e, t0 + 3 * 3600_000)
        assert e.decide(last + 10 * MIN, "v1").reason == "declined"
    with pytest.raises(beckon.InvalidArgumentError):
        redis.restore(b"\x08\x01\x12\xff\xff\xff garbage")
    assert redis.decide(last + 11 * MIN, "v1").reason == "declined"


def test_same_decisions_as_the_memory_store(policy, redis_url):
    """A simulated day through one engine per store, in time order: each
    visitor event is observed and decided on, and each visitor is asked
    again just before their next event (when dwell has grown). Every
    decision is the same, the site-wide agents and rate window included."""
    day = beckon.simulate(days=1, seed=5, visitors_per_day=150)
    rows = list(day.itertuples(index=False))
    requests = []  # (ts_ms, order, row or None, visitor)
    last_of = {}
    for i, row in enumerate(rows):
        requests.append((row.ts_ms, 2 * i + 1, row, row.visitor))
        if row.event == "agents":
            continue
        prev = last_of.get(row.visitor)
        if prev is not None and row.ts_ms - prev > 1:
            requests.append((row.ts_ms - 1, 2 * i, None, row.visitor))
        last_of[row.visitor] = row.ts_ms
    requests.sort(key=lambda r: (r[0], r[1]))
    engines = (beckon.Engine(policy), beckon.Engine(policy, store=redis_url))
    answers = ([], [])
    for ts, _, row, visitor in requests:
        for e, out in zip(engines, answers):
            if row is not None:
                e.observe(row.ts_ms, row.visitor, row.event, row.page,
                          row.detail)
                if row.event == "agents":
                    continue
            d = e.decide(ts, visitor)
            out.append((d.action, d.reason, d.probability,
                        d.recheck_at_ms, tuple(d.reasons)))
    assert len(answers[0]) > 1000
    assert {a[0] for a in answers[0]} == {"wait", "offer", "suppress"}
    assert answers[0] == answers[1]
    m, r = (e.stats() for e in engines)
    assert m["decisions_by_reason"] == r["decisions_by_reason"]
    assert r["store_errors"] == 0


def test_set_policy_to_other_groups_keeps_redis_sessions(policy, t0,
                                                        redis_url):
    """Issue 14: on Redis, set_policy to a policy with other page groups
    (here: without the /returns group) succeeds; the live session is
    mapped by pattern, an engine still on the old policy reads what the
    new one writes, and the decline holds on both."""
    old = beckon.Engine(policy, store=redis_url)
    new = beckon.Engine(policy, store=redis_url)
    text = policy.to_text()
    assert 'pattern: "/help/returns"' in text
    other = text.replace('pattern: "/help/returns"', 'pattern: "/renamed/*"')
    other = other.replace('group: "/help/returns"', 'group: "/renamed/*"')
    other = other.replace('name: "beckon-default"', 'name: "other"')
    last = stuck_visitor(new, t0)
    new.set_policy(beckon.Policy.from_text(other))
    assert new.policy.name == "other"
    # The session carried: the same visitor is offered by the new policy.
    offered = offer_time(new, last)
    # And the old engine reads the record the new one wrote: its offer
    # caps the session there.
    d = old.decide(offered + 1_000, "v1")
    assert (d.action, d.reason) == ("suppress", "session_cap")
    old.observe(offered + 2_000, "v1", "offer_declined", "/contact", "chat")
    last = stuck_visitor(new, t0 + 3 * DAY)
    assert new.decide(last + 10 * MIN, "v1").reason == "declined"
    for e in (old, new):
        assert e.stats()["store_errors"] == 0
