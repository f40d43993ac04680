"""beckon.Engine driven one event at a time: observe/decide, Decision
fields, gates, expire, snapshot/restore, state files, stats, pickling,
threads."""

import math
import pickle
import threading

import pytest

import beckon

MIN = 60_000


@pytest.fixture(scope="module")
def policy():
    """The default policy without its 5% holdout, so that which visitor id
    a test uses cannot decide whether an offer is made."""
    d = beckon.Policy.default()
    text = d.to_text()
    assert "holdout_fraction: 0.05" in text
    p = beckon.Policy.from_text(text.replace("holdout_fraction: 0.05",
                                             "holdout_fraction: 0"))
    assert p.to_dict()["gates"]["holdout_fraction"] == 0
    return p


def stuck_visitor(engine, t0, visitor="v1"):
    """A visitor who lands on /contact from a search engine, finds nothing
    in a site search, reads the returns policy and comes back to /contact.
    Returns the time of the last page view."""
    engine.observe(t0, visitor, "page_view", "/contact",
                   "https://www.google.com/search?q=refund")
    engine.observe(t0 + 5_000, visitor, "search", "/search?q=refund", 0)
    engine.observe(t0 + 15_000, visitor, "page_view", "/returns/policy")
    engine.observe(t0 + 30_000, visitor, "page_view", "/contact")
    return t0 + 30_000


def dwell_threshold_ms(policy, group):
    g = policy.groups.set_index("pattern").loc[group]
    return int(round(g["dwell_threshold_s"] * 1000))


# --- One visitor -----------------------------------------------------------------

def test_decide_waits_for_dwell_then_offers(policy, t0):
    engine = beckon.Engine(policy)
    last = stuck_visitor(engine, t0)
    d = engine.decide(last, "v1")
    # Right after the page view: dwell 0 s, below /contact's threshold.
    assert d.action == "wait" and d.reason == "dwell"
    # recheck_at is when dwell on this page reaches the group's threshold.
    assert d.recheck_at_ms == last + dwell_threshold_ms(policy, "/contact")
    # Just before that time the answer is still wait; at it, an offer.
    assert engine.decide(d.recheck_at_ms - 1, "v1").action == "wait"
    offer = engine.decide(d.recheck_at_ms, "v1")
    assert offer.action == "offer" and offer.reason == "score"
    assert offer.probability >= offer.threshold == policy.decision_threshold
    assert offer.recheck_at_ms is None
    # An offer is recorded as made: the session cap (1) holds the next one.
    again = engine.decide(d.recheck_at_ms + 1_000, "v1")
    assert again.action == "suppress" and again.reason == "session_cap"


def test_decision_fields(policy, t0):
    engine = beckon.Engine(policy)
    last = stuck_visitor(engine, t0)
    d = engine.decide(last + 25_000, "v1")
    assert isinstance(d, beckon.Decision)
    assert d.action in beckon.ACTIONS and d.reason in beckon.REASONS
    assert isinstance(d.probability, float) and 0 <= d.probability <= 1
    assert isinstance(d.threshold, float)
    assert isinstance(d.would_offer, bool)
    assert d.recheck_at_ms is None or isinstance(d.recheck_at_ms, int)
    assert isinstance(d.reasons, list) and d.reasons
    assert all(isinstance(r, str) for r in d.reasons)
    # The reasons are readable: an offer says it reached the threshold and
    # names the page.
    assert d.action == "offer"
    text = " | ".join(d.reasons)
    assert "reached threshold" in text and "/contact" in text
    # contributions: feature -> (value, contribution in log-odds). The
    # probability is the logistic of the model's bias plus their sum.
    c = d.contributions
    assert isinstance(c, dict) and c
    model = policy.to_dict()["model"]
    # Every feature the engine scores; the default model weighs all but
    # dwell_x_help_rate (feature 11), whose weight is then 0.
    assert len(c) == 12 and "dwell_x_help_rate" in c
    assert {w["feature"] for w in model["weights"]} == set(c) - {
        "dwell_x_help_rate"}
    weights = {w["feature"]: w["weight"] for w in model["weights"]}
    for feature, (value, contribution) in c.items():
        assert contribution == pytest.approx(value * weights.get(feature, 0))
    z = model["bias"] + sum(v[1] for v in c.values())
    assert d.probability == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-9)
    assert c["zero_result_searches"][0] == 1  # one search found nothing
    r = repr(d)
    assert r.startswith("<beckon.Decision ") and d.action in r


def test_decision_outlives_its_engine(policy, t0):
    # The reasons are made when read, from the engine's policy: a decision
    # kept after its engine is gone still reads them.
    engine = beckon.Engine(policy)
    last = stuck_visitor(engine, t0)
    d = engine.decide(last + 25_000, "v1")
    del engine
    import gc
    gc.collect()
    assert d.action == "offer"
    assert "reached threshold" in d.reasons[0]
    assert "dwell_ratio" in d.contributions


def test_unknown_visitor_is_not_an_error(policy, t0):
    d = beckon.Engine(policy).decide(t0, "stranger")
    assert (d.action, d.reason) == ("wait", "no_session")
    assert d.recheck_at_ms is None


def test_decline_holds_across_sessions(policy, t0):
    engine = beckon.Engine(policy)
    last = stuck_visitor(engine, t0)
    engine.observe(last + 1_000, "v1", "offer_shown", "/contact", "chat")
    engine.observe(last + 2_000, "v1", "offer_declined", "/contact", "chat")
    later = t0 + 3 * 3600_000  # a new session, hours later
    last = stuck_visitor(engine, later)
    d = engine.decide(last + 10 * MIN, "v1")
    assert (d.action, d.reason) == ("suppress", "declined")
    # Another visitor in the same situation is offered.
    stuck_visitor(engine, later, "v2")
    assert engine.decide(last + 10 * MIN, "v2").action == "offer"


def test_engaged_visitor_is_not_interrupted(policy, t0):
    engine = beckon.Engine(policy)
    last = stuck_visitor(engine, t0)
    engine.observe(last + 1_000, "v1", "help_contact", "/contact", "email")
    d = engine.decide(last + 10 * MIN, "v1")
    assert (d.action, d.reason) == ("suppress", "engaged")


def test_agents_gate_and_scarce_agents(policy, t0):
    # No free agent: no offer. One free agent: the bar rises to
    # threshold_at_one_agent. Plenty: the model's threshold.
    gates = policy.to_dict()["gates"]
    for free, action, threshold in (
            (0, "suppress", None),
            (1, None, gates["threshold_at_one_agent"]),
            (gates["plenty_agents"], "offer", policy.decision_threshold)):
        engine = beckon.Engine(policy)
        engine.observe(t0, "", "agents", "", free)
        last = stuck_visitor(engine, t0)
        d = engine.decide(last + 10 * MIN, "v1")
        if action == "suppress":
            assert d.reason == "no_agents" and d.action == "suppress"
        else:
            assert d.threshold == pytest.approx(threshold)
            assert (d.action == "offer") == (d.probability >= d.threshold)
        if action == "offer":
            assert d.action == "offer"


def test_holdout_suppresses_but_says_it_would_offer(t0):
    # With (nearly) every visitor in the holdout, a visitor who would be
    # offered is suppressed with reason holdout and would_offer set.
    text = beckon.Policy.default().to_text().replace(
        "holdout_fraction: 0.05", "holdout_fraction: 0.99")
    engine = beckon.Engine(beckon.Policy.from_text(text))
    held = 0
    for v in ("v1", "v2", "v3", "v4", "v5"):
        last = stuck_visitor(engine, t0, v)
        d = engine.decide(last + 10 * MIN, v)
        if d.reason == "holdout":
            held += 1
            assert d.action == "suppress" and d.would_offer is True
        else:
            assert d.action == "offer" and d.would_offer is False
    assert held >= 1


def test_fixed_dwell_policy_offers_after_t_seconds(t0):
    text = beckon.Policy.default().to_text().replace(
        "holdout_fraction: 0.05", "holdout_fraction: 0")
    engine = beckon.Engine(beckon.fixed_dwell_policy(
        45, base=beckon.Policy.from_text(text)))
    engine.observe(t0, "v", "page_view", "/c/shoes")
    d = engine.decide(t0 + 10_000, "v")
    assert d.action == "wait" and d.recheck_at_ms == t0 + 45_000
    assert engine.decide(t0 + 45_000, "v").action == "offer"
    engine.observe(t0 + 60_000, "v", "page_view", "/p/1")
    # Once per session.
    assert engine.decide(t0 + 200_000, "v").reason == "session_cap"


# --- Engine-wide state -------------------------------------------------------------

def test_policy_property_and_repr(policy):
    engine = beckon.Engine(policy)
    assert engine.policy == policy
    assert isinstance(engine.policy, beckon.Policy)
    assert beckon.Engine().policy == beckon.Policy.default()
    r = repr(engine)
    assert r.startswith("<beckon.Engine ")
    assert repr(policy.name) in r
    assert "live_sessions=0" in r and "events_observed=0" in r


def test_stats_count_events_and_decisions(policy, t0):
    engine = beckon.Engine(policy)
    s = engine.stats()
    assert s["events_observed"] == 0 and s["live_sessions"] == 0
    assert set(s["decisions_by_action"]) == set(beckon.ACTIONS)
    assert set(s["decisions_by_reason"]) == set(beckon.REASONS)
    stuck_visitor(engine, t0, "a")
    stuck_visitor(engine, t0, "b")
    engine.observe(t0, "", "agents", "", 5)  # not a visitor event
    reasons = [engine.decide(t0 + 31_000, v).reason for v in ("a", "b", "c")]
    s = engine.stats()
    assert s["events_observed"] == 8
    assert s["live_sessions"] == 2 and s["sessions_started"] == 2
    assert sum(s["decisions_by_action"].values()) == 3
    assert sum(s["decisions_by_reason"].values()) == 3
    for r in set(reasons):
        assert s["decisions_by_reason"][r] == reasons.count(r)
    assert "live_sessions=2" in repr(engine)


def test_stats_count_declines_evicted_apart(policy, t0):
    engine = beckon.Engine(policy, max_memory_records=2, shards=1)
    assert engine.stats()["declines_evicted"] == 0
    for i in range(3):
        engine.observe(t0 + i, f"d{i}", "offer_declined", "/contact", "chat")
    # A shard full of declines keeps no new ignore-only record.
    engine.observe(t0 + 5, "i", "offer_ignored", "/contact", "chat")
    s = engine.stats()
    assert s["memory_records"] == 2
    assert (s["memory_evicted"], s["declines_evicted"]) == (2, 1)


def test_expire_drops_idle_sessions_but_keeps_declines(policy, t0):
    engine = beckon.Engine(policy)
    last = stuck_visitor(engine, t0)
    engine.observe(last + 1_000, "v1", "offer_declined", "/contact", "chat")
    stuck_visitor(engine, t0 + 20 * MIN, "v2")
    timeout_ms = int(policy.to_dict()["session"]["timeout_s"]) * 1000
    engine.expire(last + 1_000 + timeout_ms + 1)  # v1 idle past the timeout
    s = engine.stats()
    assert s["live_sessions"] == 1 and s["sessions_expired"] == 1
    assert s["memory_records"] == 1  # the decline outlives the session
    later = t0 + 5 * 3600_000
    last = stuck_visitor(engine, later)
    assert engine.decide(last + 10 * MIN, "v1").reason == "declined"


def test_snapshot_restore_carries_visitor_state(policy, t0):
    engine = beckon.Engine(policy)
    last = stuck_visitor(engine, t0)
    engine.observe(last + 1_000, "v1", "offer_declined", "/contact", "chat")
    stuck_visitor(engine, t0 + 60_000, "v2")
    snap = engine.snapshot()
    assert isinstance(snap, bytes) and snap
    assert engine.snapshot() == snap  # nothing changed in between

    fresh = beckon.Engine(policy)
    fresh.restore(snap)
    assert fresh.snapshot() == snap
    s, f = engine.stats(), fresh.stats()
    assert f["live_sessions"] == s["live_sessions"] == 2
    assert f["memory_records"] == s["memory_records"] == 1
    # Both engines now answer the same for what follows.
    for e in (engine, fresh):
        e.observe(t0 + 120_000, "v2", "page_view", "/contact")
    for when, who in ((t0 + 121_000, "v2"), (t0 + 300_000, "v2"),
                      (t0 + 300_000, "v1")):
        a, b = engine.decide(when, who), fresh.decide(when, who)
        assert (a.action, a.reason, a.probability, a.recheck_at_ms) == \
               (b.action, b.reason, b.probability, b.recheck_at_ms)
    # Restoring replaces the state: an empty engine's snapshot empties it.
    fresh.restore(beckon.Engine(policy).snapshot())
    assert fresh.stats()["live_sessions"] == 0
    assert fresh.stats()["memory_records"] == 0


def test_snapshot_is_tied_to_the_visitor_key(policy, t0):
    keyed = beckon.Engine(policy, visitor_key=(1, 2))
    stuck_visitor(keyed, t0)
    with pytest.raises(beckon.FailedPreconditionError, match="key"):
        beckon.Engine(policy).restore(keyed.snapshot())
    other = beckon.Engine(policy, visitor_key=(1, 2))
    other.restore(keyed.snapshot())
    assert other.stats()["live_sessions"] == 1


def test_save_state_and_load_state(policy, t0, tmp_path):
    engine = beckon.Engine(policy)
    last = stuck_visitor(engine, t0)
    engine.observe(last + 1_000, "v1", "offer_declined", "/contact", "chat")
    path = tmp_path / "engine.state"
    engine.save_state(str(path))
    assert path.read_bytes() == engine.snapshot()
    fresh = beckon.Engine(policy)
    fresh.load_state(str(path))
    assert fresh.snapshot() == engine.snapshot()
    last = stuck_visitor(fresh, t0 + 4 * 3600_000)
    assert fresh.decide(last + 10 * MIN, "v1").reason == "declined"
    with pytest.raises(beckon.NotFoundError, match="nope.state"):
        fresh.load_state(str(tmp_path / "nope.state"))


# --- Pickling ------------------------------------------------------------------------

def test_pickled_engine_still_honours_a_decline(policy, t0):
    """The do-not-re-offer memory travels with a pickled engine: a visitor
    who declined before the round trip is not offered after it, while the
    same story without the decline ends in an offer."""
    outcomes = {}
    for declined in (False, True):
        engine = beckon.Engine(policy)
        last = stuck_visitor(engine, t0)
        if declined:
            engine.observe(last + 1_000, "v1", "offer_shown", "/contact", "chat")
            engine.observe(last + 2_000, "v1", "offer_declined", "/contact",
                           "chat")
        copy_ = pickle.loads(pickle.dumps(engine))
        assert isinstance(copy_, beckon.Engine)
        assert copy_.policy == engine.policy
        assert copy_.snapshot() == engine.snapshot()
        last = stuck_visitor(copy_, t0 + 3 * 3600_000)
        outcomes[declined] = copy_.decide(last + 10 * MIN, "v1")
    assert outcomes[False].action == "offer"
    assert (outcomes[True].action, outcomes[True].reason) == \
           ("suppress", "declined")


def test_pickle_keeps_the_options(policy, t0):
    engine = beckon.Engine(policy, visitor_key=(7, 9), shards=4,
                           max_sessions=1000)
    stuck_visitor(engine, t0)
    copy_ = pickle.loads(pickle.dumps(engine, protocol=pickle.HIGHEST_PROTOCOL))
    # The copy has the same visitor key: its snapshots restore into an
    # engine with that key, and not into one with the default key.
    with pytest.raises(beckon.FailedPreconditionError):
        beckon.Engine(policy).restore(copy_.snapshot())
    beckon.Engine(policy, visitor_key=(7, 9)).restore(copy_.snapshot())
    assert copy_.stats()["live_sessions"] == 1


def test_url_and_referrer_caps(policy, t0, outcome, stats_without_rejections):
    """An over-long page or referrer is rejected naming the field and both
    lengths, and changes nothing; a decline with a huge page is kept; the
    caps are checked options and survive pickling."""
    engine = beckon.Engine(policy, max_url_bytes=16, max_referrer_bytes=21)
    engine.observe(t0, "v1", "page_view", "/" + "p" * 15,
                   "https://www.bing.com/")  # 16 and 21 bytes: at the caps.
    before = stats_without_rejections(engine.stats())
    snapshot = engine.snapshot()
    for args, message in (
            (("page_view", "/" + "p" * 16), "page_view page is 17 bytes; "
             "at most 16 (Engine::Options.max_url_bytes)"),
            (("search", "/" + "p" * 16, 0), "search page is 17 bytes"),
            (("page_view", "/", "https://www.bing.com/?q"),
             "page_view referrer is 23 bytes; at most 21")):
        cls, text = outcome(lambda: engine.observe(t0 + 1, "v1", *args))
        assert cls is beckon.InvalidArgumentError, (args, cls, text)
        assert message in text
    assert stats_without_rejections(engine.stats()) == before
    assert engine.stats()["events_rejected"] == 3
    assert engine.snapshot() == snapshot
    # Events that do not read the page take it at any length.
    engine.observe(t0 + 2, "v1", "offer_declined", "x" * (1 << 20), "chat")
    assert engine.stats()["memory_records"] == 1
    # Pickled, the copy keeps its caps.
    copy_ = pickle.loads(pickle.dumps(engine))
    cls, _ = outcome(lambda: copy_.observe(t0 + 3, "v1", "page_view",
                                           "/" + "p" * 16))
    assert cls is beckon.InvalidArgumentError
    for kwargs, name in ((dict(max_url_bytes=0), "max_url_bytes"),
                         (dict(max_referrer_bytes=0), "max_referrer_bytes"),
                         (dict(max_url_bytes=2 ** 32), "max_url_bytes")):
        cls, message = outcome(lambda: beckon.Engine(policy, **kwargs))
        assert cls is beckon.InvalidArgumentError, (kwargs, cls, message)
        assert name in message
    # The defaults take 8 KiB of each.
    beckon.Engine(policy).observe(t0, "v1", "page_view", "/" + "u" * 8191,
                                  "https://x/" + "r" * 8182)


# --- Threads ------------------------------------------------------------------------

def test_concurrent_observe_and_decide(policy, t0):
    engine = beckon.Engine(policy)
    errors = []

    def work(k):
        try:
            for i in range(200):
                v = f"t{k}-{i}"
                engine.observe(t0 + i, v, "page_view", "/p/1")
                engine.decide(t0 + i + 1, v)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    s = engine.stats()
    assert s["events_observed"] == 800 and s["live_sessions"] == 800
    assert sum(s["decisions_by_action"].values()) == 800


def test_options_are_checked(outcome):
    # (Outcomes, not pytest.raises: see conftest.outcome.)
    for kwargs, name in ((dict(shards=3), "shards"),
                         (dict(max_sessions=0), "max_sessions"),
                         (dict(visitor_key=(1,)), "visitor_key")):
        cls, message = outcome(lambda: beckon.Engine(**kwargs))
        assert cls is beckon.InvalidArgumentError, (kwargs, cls, message)
        assert name in message
    cls, message = outcome(lambda: beckon.Engine(42))
    assert cls is TypeError and "beckon.Policy or the path" in message
    # A str is a policy file's path: one that is not there says so.
    cls, message = outcome(lambda: beckon.Engine("no-such.policy"))
    assert cls is beckon.NotFoundError and "no-such.policy" in message


def test_capacity_evicts_oldest_sessions(policy, t0):
    engine = beckon.Engine(policy, max_sessions=8, shards=1)
    for i in range(20):
        engine.observe(t0 + i, f"v{i}", "page_view", "/")
    s = engine.stats()
    assert s["live_sessions"] == 8 and s["sessions_started"] == 20
    assert s["sessions_evicted"] == 12
    # The least recently seen visitors are the ones dropped.
    reasons = [engine.decide(t0 + 100, f"v{i}").reason for i in range(20)]
    assert reasons[:12] == ["no_session"] * 12
    assert "no_session" not in reasons[12:]


def test_a_key_file_carries_state_to_another_process(policy, t0, tmp_path):
    import subprocess
    import sys
    key = tmp_path / "shop.key"
    snap = tmp_path / "shop.snap"
    engine = beckon.Engine(policy, visitor_key_file=key)
    engine.observe(t0, "anna", "page_view", "/cart")
    snap.write_bytes(engine.snapshot())
    assert (key.stat().st_mode & 0o777) == 0o600
    # Another process: the same key file restores; none given, it cannot.
    code = (
        "import sys, beckon\n"
        "p = beckon.Policy.from_bytes(open(sys.argv[1], 'rb').read())\n"
        "s = open(sys.argv[3], 'rb').read()\n"
        "beckon.Engine(p, visitor_key_file=sys.argv[2]).restore(s)\n"
        "try:\n"
        "    beckon.Engine(p).restore(s)\n"
        "except beckon.FailedPreconditionError as e:\n"
        "    assert 'visitor_key' in str(e)\n"
        "    print('ok')\n")
    pol = tmp_path / "p.policy"
    pol.write_bytes(policy.to_bytes())
    out = subprocess.run([sys.executable, "-c", code, str(pol), str(key),
                          str(snap)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_a_pickled_engine_carries_its_key(policy, t0):
    engine = beckon.Engine(policy)
    assert engine._options["visitor_key"] != (0, 0)
    clone = pickle.loads(pickle.dumps(engine))
    assert clone._options["visitor_key"] == engine._options["visitor_key"]


def test_key_and_key_file_together_are_refused(policy, tmp_path):
    with pytest.raises(beckon.InvalidArgumentError, match="not both"):
        beckon.Engine(policy, visitor_key=(1, 2),
                      visitor_key_file=tmp_path / "k")


def test_set_policy_keeps_the_visitors(policy, t0):
    engine = beckon.Engine(policy)
    last = stuck_visitor(engine, t0)
    engine.observe(last + 1_000, "v2", "page_view", "/p/1")
    engine.observe(last + 2_000, "v2", "offer_declined", "/p/1", "chat")
    before = engine.stats()
    old_version = engine.decide(last + 1, "v1").policy_version
    text = policy.to_text().replace('name: "beckon-default"',
                                    'name: "hot"')
    assert 'name: "hot"' in text
    engine.set_policy(beckon.Policy.from_text(text))
    assert engine.policy.name == "hot"
    d = engine.decide(last + 3_000, "v1")
    assert d.policy_name == "hot" and d.policy_version != old_version
    assert engine.stats()["live_sessions"] == before["live_sessions"]
    assert engine.stats()["events_observed"] == before["events_observed"]
    # The decline is kept: v2 stuck in a new session is still gated.
    stuck_visitor(engine, t0 + 86_400_000, "v2")
    assert engine.decide(t0 + 86_400_000 + 120_000, "v2").reason == "declined"
    # A policy with another session timeout changes nothing.
    bad = beckon.Policy.from_text(text.replace("timeout_s: 1800",
                                               "timeout_s: 900"))
    with pytest.raises(beckon.FailedPreconditionError, match="timeout_s"):
        engine.set_policy(bad)
    assert engine.policy.name == "hot"
    with pytest.raises(TypeError):
        engine.set_policy(b"default")
    with pytest.raises(beckon.NotFoundError, match="no-such.policy"):
        engine.set_policy("no-such.policy")
    assert engine.policy.name == "hot"
