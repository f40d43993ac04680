"""The production loop: an engine in production logs what it sees (the
event log) and what it decides (the decision log); the logs read back,
join, and train the next policy, which goes into the live engine.

    simulate -> engine with both logs -> read_events + read_decision_log
    -> train on the logged events -> set_policy into the live engine
"""

import numpy as np

import beckon


def test_logged_production_trains_the_next_policy(week, tmp_path):
    events_path = tmp_path / "events.csv"
    decisions_path = tmp_path / "decisions.jsonl"
    key = (11, 13)
    production = beckon.Engine(visitor_key=key, event_log=events_path,
                               decision_log=decisions_path)
    # Production: every request is decided, then recorded.
    played = production.play_frame(week)
    assert played["accepted"].all()

    # The event log holds what the engine accepted, row for row.
    logged = beckon.read_events(events_path)
    assert len(logged) == len(week)
    for column in ("ts_ms", "visitor", "event", "page"):
        assert logged[column].tolist() == week[column].tolist(), column
    # Money reads back exactly (the shortest form that parses back).
    money = week["event"].isin(["cart", "purchase"])
    assert np.array_equal(logged.loc[money, "detail"].astype(float),
                          week.loc[money, "detail"].astype(float))

    # The decision log: one line per decision, joined to the visitors
    # through the visitor hash of an engine with the same key.
    decisions = beckon.read_decision_log(decisions_path)
    decided = played[played["action"].notna()]
    assert len(decisions) == len(decided)
    assert decisions["action"].tolist() == decided["action"].tolist()
    probe = beckon.Engine(visitor_key=key)
    by_hash = {probe.visitor_hash(v): v for v in week["visitor"].unique()
               if v}
    visitors = [by_hash[int(h)] for h in decisions["visitor_hash"]]
    assert visitors == week.loc[decided.index, "visitor"].tolist()
    offers = decisions[decisions["action"] == "offer"]
    assert len(offers) > 50
    # Offers made before the visitor asked for help in that session, from
    # the logs alone: the figure a shop reads off its production logs.
    contacts = logged[logged["event"] == "help_contact"]
    first_contact = contacts.groupby("visitor")["ts_ms"].min()
    offer_visitors = [by_hash[int(h)] for h in offers["visitor_hash"]]
    before = sum(1 for v, t in zip(offer_visitors, offers["ts_ms"])
                 if v in first_contact.index and t < first_contact[v])
    assert 0 < before < len(offers)
    # Holdout decisions are marked in the log.
    held = decisions[decisions["reason"] == "holdout"]
    assert len(held) > 0 and held["would_offer"].all()

    # The next policy, trained on the logged events, goes into the live
    # engine; its decisions say so, and the visitors it knows stay.
    nxt = beckon.train(logged, name="next")
    live_before = production.stats()["live_sessions"]
    production.set_policy(nxt)
    assert production.stats()["live_sessions"] == live_before
    last = int(week["ts_ms"].max())
    d = production.decide(last + 1_000, week["visitor"].iloc[-1])
    assert d.policy_name == "next"
    del production
    after = beckon.read_decision_log(decisions_path)
    assert len(after) == len(decisions) + 1
    assert after["policy"].iloc[-1] == "next"
    assert set(after["policy"].iloc[:-1]) == {"beckon-default"}
