"""The production loop, closed on offer outcomes: a policy in production
decides, the host shows its offers and the visitors answer them; the next
policy learns from those answers (labels="offer_outcomes") and the replay
reads production's decision log back.

    simulate (two weeks, no legacy widget) -> train the production policy on
    week 1's help contacts -> week 2 in production: the engine decides with
    the decision log and the event log on, the host shows every offer and
    the simulated visitor answers -> train on the logged week 2 with
    labels="offer_outcomes" -> replay with decisions=
"""

import heapq

import numpy as np
import pytest

import beckon

SESSION_MS = 30 * 60_000
KEY = (11, 13)

#: The simulated visitor's answer to an offer: one who is about to ask for
#: help in this session (a help_contact follows in the log) accepts
#: ACCEPT_ASKING of offers, any other ACCEPT_OTHER; the rest decline or
#: ignore in the simulator's proportions (decline_share 0.45 : ignore_share
#: 0.35), after the simulator's delays (about 5 s, 4 s, 20 s). An accepted
#: visitor who was about to ask is helped in the chat: their help_contact
#: is not sent (as in the simulator). The simulator's legacy widget accepts
#: 20% whoever the visitor is; here the visitor who needs help is likelier
#: to take it, which is what makes outcomes worth learning from.
ACCEPT_ASKING = 0.6
ACCEPT_OTHER = 0.15


def play_shop(engine, log, seed):
    """The host: plays `log` (time order) through `engine`, deciding after
    every visitor event and at each recheck_at before the visitor's next
    event in the session (none after a session's last event: the visitor is
    gone, as the replay takes it), showing every offer at once (an
    offer_shown row) and observing the visitor's answer. Returns counts and,
    per offer, (about to ask, accepted)."""
    rng = np.random.default_rng(seed)
    ts = log["ts_ms"].to_numpy()
    vis = log["visitor"].to_numpy()
    ev = log["event"].to_numpy()
    page = log["page"].to_numpy()
    det = log["detail"].to_numpy()
    n = len(log)
    next_ts = np.full(n, -1, dtype=np.int64)  # The visitor's next row in
    sess = np.zeros(n, dtype=np.int64)        # the session, and sessions.
    last, n_sess = {}, 0
    for i in range(n):
        v = vis[i]
        if not v:
            continue
        j = last.get(v)
        if j is not None and ts[i] - ts[j] <= SESSION_MS:
            next_ts[j] = ts[i]
            sess[i] = sess[j]
        else:
            sess[i] = n_sess
            n_sess += 1
        last[v] = i
    helps = {}
    for i in np.flatnonzero(ev == "help_contact"):
        helps.setdefault(sess[i], []).append(ts[i])
    helped = set()
    current_page, gen, timers = {}, {}, []
    seq = 0
    counts = dict(offers=0, accepted=0, declined=0, ignored=0)
    answers = []

    def asks_after(s, t):
        return any(h > t for h in helps.get(s, ()))

    def decide(t, v, s, nxt):
        nonlocal seq
        d = engine.decide(t, v)
        if d.action == "offer":
            show(t, v, s, nxt)
        elif (d.recheck_at_ms is not None and nxt >= 0
              and t < d.recheck_at_ms < nxt):
            heapq.heappush(timers, (d.recheck_at_ms, seq, "recheck",
                                    (v, gen[v], s, nxt)))
            seq += 1

    def show(t, v, s, nxt):
        nonlocal seq
        p = current_page.get(v, "")
        engine.observe(t, v, "offer_shown", p, "chat")
        counts["offers"] += 1
        asking = asks_after(s, t)
        accept = ACCEPT_ASKING if asking else ACCEPT_OTHER
        u = rng.random()
        if u < accept:
            outcome, delay = "offer_accepted", 5_000
        elif u < accept + (1 - accept) * 0.45 / 0.8:
            outcome, delay = "offer_declined", 4_000
        else:
            outcome, delay = "offer_ignored", 20_000
        answers.append((asking, outcome == "offer_accepted"))
        at = t + delay
        if nxt >= 0 and at >= nxt:  # Answered before the next request.
            at = t + max(1, (nxt - t) // 2)
        heapq.heappush(timers, (at, seq, "answer", (v, outcome, p, s, nxt)))
        seq += 1

    def fire_until(t):
        while timers and timers[0][0] <= t:
            at, _, kind, payload = heapq.heappop(timers)
            if kind == "recheck":
                v, g, s, nxt = payload
                if gen[v] == g:
                    decide(at, v, s, nxt)
                continue
            v, outcome, p, s, nxt = payload
            gen[v] += 1
            engine.observe(at, v, outcome, p, "chat")
            counts[outcome.split("_")[1]] += 1
            if outcome == "offer_accepted" and asks_after(s, at):
                helped.add(s)
            decide(at, v, s, nxt)

    for i in range(n):
        t = int(ts[i])
        fire_until(t)
        v, e = vis[i], ev[i]
        if e == "help_contact" and sess[i] in helped:
            continue  # Helped in the chat instead.
        if e in ("page_view", "search"):
            current_page[v] = page[i]
        engine.observe(t, v, e, page[i], det[i])
        if v:
            gen[v] = gen.get(v, 0) + 1
            decide(t, v, sess[i], int(next_ts[i]))
    fire_until(2**62)
    return counts, answers


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """Week 2 of a simulated fortnight run in production by a policy
    trained on week 1, with both logs on."""
    tmp = tmp_path_factory.mktemp("offer_loop")
    log = beckon.simulate(days=14, seed=1, visitors_per_day=2000,
                          legacy_offer_share=0)
    day = (log["ts_ms"] - log["ts_ms"].min()) // 86_400_000
    week1 = log[day < 7].reset_index(drop=True)
    week2 = log[day >= 7].reset_index(drop=True)
    # The production policy waits for each group's dwell threshold (the
    # trainer's timing rule pinned): the figures below were measured with
    # it. A production policy trained with the default timing choice
    # (early offers) makes offers whose outcomes say less: the next
    # policy's validation AUC was 0.509, 0.565, 0.515, 0.552, 0.577 for
    # seeds 1-5 (tests/python/test_offer_outcome_loop.py's setup, with the
    # trainer's defaults here).
    policy = beckon.train(week1, target_offer_rate=0.2, name="production",
                          dwell_rule="quantile", early_offers="no")
    events, decisions = tmp / "events.csv", tmp / "decisions.jsonl"
    engine = beckon.Engine(policy, visitor_key=KEY, event_log=events,
                           decision_log=decisions)
    counts, answers = play_shop(engine, week2, seed=1)
    del engine  # Flushes and closes both logs.
    return dict(policy=policy, events=events, decisions=decisions,
                counts=counts, answers=answers)


def test_a_policy_learns_from_logged_offer_outcomes(production):
    counts = production["counts"]
    assert counts["offers"] > 1500
    assert counts["accepted"] > 300
    logged = beckon.read_events(production["events"])
    shown = logged[logged["event"] == "offer_shown"]
    assert len(shown) == counts["offers"]

    nxt = beckon.train(logged, labels="offer_outcomes", name="next")
    report = nxt.training
    print("offer outcomes: train", report["train_offer_outcomes"],
          "validation", report["validation_offer_outcomes"],
          "AUC train", round(report["train_auc"], 3),
          "validation", round(report["validation_auc"], 3))
    # Every answered offer is a sample, in one part or the other.
    assert (report["train_offer_outcomes"]
            + report["validation_offer_outcomes"]) == counts["offers"]
    assert (report["train_accepted_offers"]
            + report["validation_accepted_offers"]) == counts["accepted"]
    # Held-out AUC of "an offer now would be accepted". Measured on this
    # setup for seeds 1-5: 0.592, 0.613, 0.579, 0.585, 0.539 (train AUC
    # 0.61-0.63; the next policy's timing rule chosen by validation). The ceiling is low: the host's own "about to ask" flag,
    # which decides the answers, ranks them at 0.66 here (below), and
    # offers go only where the production policy already scored high.
    assert report["validation_auc"] > 0.53
    asking, accepted = map(np.asarray, zip(*production["answers"]))
    ceiling = beckon.roc_auc(asking.astype(float), accepted.astype(float))
    print("ceiling (the answers' own cause):", round(ceiling, 3))
    assert report["validation_auc"] < ceiling
    # The threshold is calibrated as with help contacts: the validation
    # replay of the logged days offers to the target share of sessions
    # (the counted offer points agree with the replay at offer_shown rows).
    assert abs(report["validation"]["offer_rate"] - 0.05) < 0.005
    # A valid policy, its label source on record, usable by an engine.
    assert beckon.Policy.from_bytes(nxt.to_bytes()) == nxt
    prov = nxt.to_dict()["provenance"]
    assert prov["options"]["labels"] == "offer_outcomes"
    assert "offer outcomes" in prov["notes"]
    engine = beckon.Engine(nxt)
    engine.observe(1_800_000_000_000, "v", "page_view", "/help/returns")
    assert 0 < engine.decide(1_800_000_060_000, "v").probability < 1


def test_the_replay_reads_the_production_decision_log(production):
    logged = beckon.read_events(production["events"])
    counts = production["counts"]
    # The production policy replayed on its own logs, against its own
    # decisions: the same decision at every moment.
    same = beckon.replay(production["policy"], logged,
                         decisions=production["decisions"], visitor_key=KEY,
                         trace=False).metrics
    agree = same["production"]
    assert agree["unknown_visitors"] == 0
    assert agree["matched"] == agree["production_decisions"] > 50_000
    assert agree["agreement"] == 1.0
    assert agree["offers_both"] == counts["offers"]
    assert agree["offers_production_only"] == agree["offers_replay_only"] == 0
    assert same["offers"] == counts["offers"]
    # How the visitors answered production's offers, from the event log.
    assert agree["production_offers"] == counts["offers"]
    assert agree["production_offers_accepted"] == counts["accepted"]
    assert agree["production_offers_declined"] == counts["declined"]
    assert agree["production_offers_ignored"] == counts["ignored"]
    assert agree["production_offers_unanswered"] == 0
    print("production against itself:", agree)

    # The next policy, against production.
    nxt = beckon.train(logged, labels="offer_outcomes", name="next")
    other = beckon.replay(nxt, logged, decisions=production["decisions"],
                          visitor_key=KEY, trace=False).metrics["production"]
    print("next policy against production:", other)
    assert other["matched"] == other["production_decisions"]
    assert 0 < other["agreement"] < 1
    assert (other["offers_both"] + other["offers_production_only"]
            == counts["offers"])
    assert (other["offered_sessions_both"]
            + other["offered_sessions_production_only"]) > 0

    # Another key finds none of production's visitors.
    with pytest.raises(beckon.FailedPreconditionError, match="visitor key"):
        beckon.replay(nxt, logged, decisions=production["decisions"],
                      visitor_key=(1, 2), trace=False)


def test_offer_outcome_errors(tmp_path, week):
    # Help contacts only, no offers shown: nothing to learn outcomes from.
    no_offers = week[~week["event"].str.startswith("offer_")]
    with pytest.raises(beckon.InvalidArgumentError, match="no offer_shown"):
        beckon.train(no_offers, labels="offer_outcomes")
    with pytest.raises(beckon.InvalidArgumentError,
                       match=r"the log has \d+ offer outcomes; at least "
                             r"1000000 are needed"):
        beckon.train(week, labels="offer_outcomes",
                     min_offer_outcomes=1_000_000)
    with pytest.raises(beckon.InvalidArgumentError, match="labels must be"):
        beckon.train(week, labels="accepted")
    # A malformed decision log names its file and line.
    bad = tmp_path / "decisions.jsonl"
    bad.write_text('{"ts_ms":1,"visitor_hash":"00000000000000ff",'
                   '"action":"offer","reason":"score"}\nnot json\n')
    with pytest.raises(beckon.InvalidArgumentError,
                       match=r"decisions.jsonl: line 2: not a decision log"):
        beckon.replay(beckon.Policy.default(), week, decisions=bad)
