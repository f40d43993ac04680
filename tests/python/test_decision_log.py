"""The decision log from Python: Engine(decision_log=...) appends one JSON
line per decision, read_decision_log reads it back, and Engine.visitor_hash
joins it with the event log's visitor ids."""

import json

import pytest

import beckon


def test_decision_log_round_trip(tmp_path, t0):
    path = tmp_path / "decisions.jsonl"
    engine = beckon.Engine(beckon.Policy.default(), visitor_key=(7, 9),
                           decision_log=path)
    visitors = [f"v{i}" for i in range(50)]
    for v in visitors:
        engine.observe(t0, v, "page_view", "/help/returns")
    made = [engine.decide(t0 + 120_000, v) for v in visitors]
    made.append(engine.decide(t0, "nobody"))
    del engine  # Closes the file.
    log = beckon.read_decision_log(path)
    assert list(log.columns) == list(beckon.DECISION_LOG_COLUMNS)
    assert len(log) == len(made)
    assert list(log["action"]) == [d.action for d in made]
    assert list(log["reason"]) == [d.reason for d in made]
    assert list(log["probability"]) == [d.probability for d in made]
    assert log["ts_ms"].iloc[-1] == t0
    assert log["group"].iloc[0] == "/help/*" and log["group"].iloc[-1] == ""
    assert log["recheck_at_ms"].isna().iloc[-1]
    assert set(log["policy_version"]) == {made[0].policy_version}
    # Joined with the visitor ids by an engine with the same key.
    probe = beckon.Engine(visitor_key=(7, 9))
    hashes = {probe.visitor_hash(v): v for v in visitors + ["nobody"]}
    assert [hashes[int(h)] for h in log["visitor_hash"]] == \
        visitors + ["nobody"]
    # Holdout decisions are marked.
    held = log[log["reason"] == "holdout"]
    assert held["would_offer"].all()


def test_decision_log_errors(tmp_path):
    with pytest.raises(beckon.InvalidArgumentError, match="decision_log_path"):
        beckon.Engine(decision_log=tmp_path / "no-such-dir" / "d.jsonl")
    bad = tmp_path / "bad.jsonl"
    good = json.dumps({"ts_ms": 1, "visitor_hash": "00000000000000ff",
                       "action": "wait", "reason": "dwell",
                       "probability": 0.1, "threshold": 0.5,
                       "would_offer": False, "recheck_at_ms": None,
                       "group": "/", "policy": "", "policy_version": "x"})
    bad.write_text(good + "\n" + good.replace('"wait"', '"maybe"') + "\n")
    with pytest.raises(beckon.InvalidArgumentError,
                       match="line 2: .*unknown action"):
        beckon.read_decision_log(bad)
    bad.write_text(good + "\n{\"ts_ms\": 3}\n")
    with pytest.raises(beckon.InvalidArgumentError, match="line 2: .*missing"):
        beckon.read_decision_log(bad)
    bad.write_text("not json\n")
    with pytest.raises(beckon.InvalidArgumentError, match="line 1"):
        beckon.read_decision_log(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert len(beckon.read_decision_log(empty)) == 0
