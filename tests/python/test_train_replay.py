"""beckon.train, replay, sweep, calibrate, and the model fitting helpers
fit_logistic and roc_auc (docs/trainer.md, docs/replay.md)."""

import numpy as np
import pandas as pd
import pytest

import beckon

METRIC_KEYS = ("sessions", "offered_sessions", "offers", "help_sessions",
               "hits", "precision", "recall", "offer_rate", "median_lead_s",
               "offers_after_decline", "offers_without_agents", "events",
               "decisions", "rechecks", "groups")
GROUP_KEYS = ("pattern", "sessions", "offered_sessions", "offers",
              "help_sessions", "hits", "precision", "recall", "offer_rate",
              "median_lead_s")


def assert_same_report(a: dict, b: dict):
    """Two training reports are equal (their per-group frames too)."""
    a, b = dict(a), dict(b)
    pd.testing.assert_frame_equal(a.pop("groups"), b.pop("groups"))
    assert a == b


@pytest.fixture(scope="module")
def day7_replay(trained, week_split):
    return beckon.replay(trained, week_split[1])


# --- train ---------------------------------------------------------------------

def test_train_report(trained, week_split):
    assert isinstance(trained, beckon.Policy)
    assert trained.name == "beckon-trained"
    assert trained != beckon.Policy.default()
    report = trained.training
    assert set(report) == {"train_auc", "validation_auc", "train_samples",
                           "train_sessions", "validation_sessions",
                           "train_help_sessions", "validation_help_sessions",
                           "warnings", "validation", "labels",
                           "train_offer_outcomes", "train_accepted_offers",
                           "validation_offer_outcomes",
                           "validation_accepted_offers", "timing_candidates",
                           "group_changes", "groups", "hits_without_splits",
                           "hits_with_splits"}
    # A sound model on a week of simulated traffic: above every trust floor.
    assert report["warnings"] == []
    assert report["train_help_sessions"] >= 100
    assert report["validation_help_sessions"] >= 30
    assert report["labels"] == "help_contact"
    # The simulator's legacy widget offers: counted, not learned from.
    assert report["train_offer_outcomes"] > report["train_accepted_offers"] > 0
    # The model separates help seekers from others on this log well above
    # chance (the simulator's stuck visitors leave clear traces).
    assert 0.7 < report["train_auc"] <= 1
    assert 0.7 < report["validation_auc"] <= 1
    assert report["train_samples"] > 0
    assert report["train_sessions"] > report["validation_sessions"] > 0
    validation = report["validation"]
    for key in METRIC_KEYS:
        assert key in validation, key
    assert validation["sessions"] == report["validation_sessions"]
    # The threshold is calibrated on the validation part to the target
    # offer rate (5% by default); the bisection gets close.
    assert validation["offer_rate"] == pytest.approx(0.05, abs=0.01)
    # Groups are learned from the log: their views are counted.
    assert (trained.groups["views"].astype(int) > 0).any()


def test_train_report_per_group_frame(trained):
    """The training report's per-group figures, as a DataFrame: the
    policy's groups in order, how each came to be, and the validation
    replay's counts on it."""
    g = trained.training["groups"]
    assert isinstance(g, pd.DataFrame)
    assert list(g["pattern"]) == list(trained.groups["pattern"])
    assert list(g.columns[:5]) == ["pattern", "role", "dwell_threshold_s",
                                   "help_rate", "views"]
    val = {x["pattern"]: x for x in trained.training["validation"]["groups"]}
    for _, row in g.iterrows():
        v = val.get(row["pattern"])
        if v is None:  # Not seen in the validation part: zero counts.
            assert row["validation_sessions"] == 0
            continue
        assert row["validation_sessions"] == v["sessions"]
        assert row["validation_offers"] == v["offers"]
        assert row["validation_hits"] == v["hits"]
        assert row["validation_precision"] == pytest.approx(v["precision"])
    # The frame's offers add up to the validation replay's, less those made
    # on unlisted pages (no group row).
    unlisted = val.get("(unlisted)", {}).get("offers", 0)
    assert g["validation_offers"].sum() + unlisted == \
        trained.training["validation"]["offers"]
    pooled = {c["pattern"]: c["from"]
              for c in trained.training["group_changes"]
              if c["kind"] == "pooled"}
    for _, row in g.iterrows():
        assert row["change"] == ("pooled" if row["pattern"] in pooled else "")
        assert row["change_from"] == pooled.get(row["pattern"], "")
    assert g["validation_hits"].dtype == np.int64


def test_policy_paths_are_accepted_where_a_policy_is(trained, week_split,
                                                     tmp_path):
    path = tmp_path / "shop.policy"
    trained.save(path)
    day = week_split[1]
    by_policy = beckon.replay(trained, day, trace=False).metrics
    assert beckon.replay(path, day, trace=False).metrics == by_policy
    assert beckon.replay(str(path), day, trace=False).metrics == by_policy
    assert beckon.calibrate(str(path), day, 0.05)[1] == \
        beckon.calibrate(trained, day, 0.05)[1]
    engine = beckon.Engine(path)
    assert engine.policy == trained
    engine.set_policy(str(path))
    assert engine.policy == trained
    text = tmp_path / "shop.txtpb"
    text.write_text(trained.to_text())
    assert beckon.fixed_dwell_policy(60, base=text) == \
        beckon.fixed_dwell_policy(60, base=trained)


def test_time_split(week, week_csv):
    day = 86_400_000
    train, test = beckon.time_split(week, test_days=1)
    visitors = test[test["visitor"] != ""]
    # The split is at the last day's midnight: the test part's sessions all
    # start on day 7 (the first day's rows are the earlier part's).
    assert visitors["ts_ms"].min() // day == week["ts_ms"].min() // day + 6
    assert train["ts_ms"].is_monotonic_increasing
    assert test["ts_ms"].is_monotonic_increasing
    # No session is cut in two, one agents row is in both parts.
    assert len(train) + len(test) == len(week) + 1
    assert test.iloc[0]["event"] == "agents"
    assert not set(train["visitor"]) - {""} >= set(visitors["visitor"])
    # By fraction: as the trainer splits its validation part.
    a, b = beckon.time_split(week, test_fraction=0.2)
    assert 0.15 < (len(b) / len(week)) < 0.25
    # A path gives the same parts as the frame.
    p_train, p_test = beckon.time_split(week_csv, test_days=1)
    pd.testing.assert_frame_equal(p_test, test)
    assert len(p_train) == len(train)
    two, one = beckon.time_split(week, test_days=2)
    assert len(one) > len(test)
    for bad, match in ((dict(), "one of"),
                       (dict(test_days=1, test_fraction=0.2), "one of"),
                       (dict(test_days=0), "test_days"),
                       (dict(test_days=1.5), "test_days"),
                       (dict(test_fraction=1.0), "test_fraction"),
                       (dict(at_ms=0, session_timeout_s=0),
                        "session_timeout_s")):
        with pytest.raises(beckon.InvalidArgumentError, match=match):
            beckon.time_split(week, **bad)
    early, late = beckon.time_split(week, at_ms=0)
    assert len(early) == 0 and len(late) == len(week)


def test_train_from_path_equals_train_from_frame(trained, week_split,
                                                 tmp_path):
    path = tmp_path / "days1-6.csv"
    beckon.write_events(week_split[0], path)
    from_path = beckon.train(str(path))
    assert from_path.to_bytes() == trained.to_bytes()
    assert_same_report(from_path.training, trained.training)


def test_train_is_deterministic(trained, week_split):
    again = beckon.train(week_split[0])
    assert again.to_bytes() == trained.to_bytes()
    assert_same_report(again.training, trained.training)


def test_train_options_take_effect(week_split):
    # Pages the default policy does not know ("/dept/..." instead of
    # "/c/...") become new groups, most viewed first, while the policy has
    # fewer than max_groups groups; the base groups always stay
    # (docs/trainer.md, section on page groups).
    log = week_split[0].copy()
    log["page"] = log["page"].str.replace("^/c/", "/dept/", regex=True)
    p = beckon.train(log, name="shop-a", target_offer_rate=0.1,
                     max_groups=14)
    assert p.name == "shop-a"
    assert p.training["validation"]["offer_rate"] == pytest.approx(0.1,
                                                                   abs=0.02)
    base_patterns = beckon.Policy.default().groups["pattern"].tolist()
    patterns = p.groups["pattern"].tolist()
    assert len(patterns) == 14
    assert patterns[:len(base_patterns)] == base_patterns
    added = p.groups.iloc[len(base_patterns):]
    assert added["pattern"].str.startswith("/dept/").all()
    views = added["views"].astype(int).tolist()
    assert views == sorted(views, reverse=True)
    assert p.group_of(added["pattern"].iloc[0]) == added["pattern"].iloc[0]
    # The options are recorded in the policy's provenance, as strings.
    options = p.to_dict()["provenance"]["options"]
    assert options["max_groups"] == "14"
    assert float(options["target_offer_rate"]) == 0.1
    # The offer-rate cap: the target times the headroom chosen on
    # validation (at least the default 1.5; recorded), which keeps at least
    # 98% of the uncapped validation offers.
    assert float(options["offer_cap_headroom"]) == 1.5
    validation = p.to_dict()["provenance"]["validation"]
    h = validation["offer_cap_headroom"]
    assert h >= 1.5
    assert p.to_dict()["gates"]["max_offer_share"] == pytest.approx(min(1, 0.1 * h))
    assert validation["capped_offer_rate"] >= 0.98 * validation["offer_rate"]


def test_train_keeps_the_base_gates(week_split):
    # docs/trainer.md: the trainer does not learn gates; they come from the
    # base policy, but for the offer-rate cap it sets from its target.
    text = beckon.Policy.default().to_text()
    base = beckon.Policy.from_text(text.replace("min_gap_s: 300",
                                                "min_gap_s: 777"))
    # max_offer_cap_cost=0.5: the first step of the headroom ladder holds.
    p = beckon.train(week_split[0], base=base, offer_cap_headroom=2,
                     max_offer_cap_cost=0.5)
    gates = p.to_dict()["gates"]
    assert gates["min_gap_s"] == "777"
    assert gates["max_offer_share"] == pytest.approx(0.1)  # 0.05 x 2
    assert (p.to_dict()["provenance"]["validation"]["max_offer_share"]
            == pytest.approx(0.1))


def test_train_rejects_bad_options(week_split):
    small = week_split[0].iloc[:2000]
    with pytest.raises(beckon.InvalidArgumentError,
                       match="unknown train option 'colour'"):
        beckon.train(small, colour="red")
    with pytest.raises(beckon.InvalidArgumentError, match="dwell_rule"):
        beckon.train(small, dwell_rule="median")
    with pytest.raises(beckon.InvalidArgumentError, match="early_offers"):
        beckon.train(small, early_offers="sometimes")
    with pytest.raises(beckon.InvalidArgumentError, match="target_offer_rate"):
        beckon.train(small, target_offer_rate=2.0)
    with pytest.raises(beckon.InvalidArgumentError, match="validation_fraction"):
        beckon.train(small, validation_fraction=0.9)
    with pytest.raises(beckon.InvalidArgumentError, match="l2"):
        beckon.train(small, l2="strong")
    with pytest.raises(beckon.InvalidArgumentError,
                       match="offer_cap_headroom"):
        beckon.train(small, offer_cap_headroom=0.5)
    # Every option is checked by the trainer's one option table
    # (TrainSpec), with its range in the message.
    for kwargs, message in (
            (dict(max_groups=1.5), "max_groups must be a whole number in"),
            (dict(max_groups=True), "max_groups: expected a whole number"),
            (dict(min_group_views=2**70), "min_group_views must be"),
            (dict(min_path_lift=0.5), r"min_path_lift must be in \[1, "),
            (dict(split_groups=1), "split_groups: expected a string"),
            (dict(labels="stars"), '"help_contact", "offer_outcomes" or '
                                   '"both"'),
            (dict(name=""), "name must be non-empty"),
            (dict(min_dwell_threshold_s=60, max_dwell_threshold_s=30),
             "max_dwell_threshold_s")):
        with pytest.raises(beckon.InvalidArgumentError, match=message):
            beckon.train(small, **kwargs)


def test_every_trainer_option_is_a_keyword_recorded_in_the_provenance(
        week_split):
    """The keywords are TrainSpec's fields: each one given is what the
    trained policy's provenance records (train_spec and the text map)."""
    given = dict(min_group_views=60, max_groups=150, min_split_z=5.0,
                 help_rate_prior_views=40.0, dwell_rule="quantile",
                 dwell_quantile=0.5, early_offers="no",
                 min_dwell_contacts=15, min_dwell_threshold_s=4.0,
                 max_dwell_threshold_s=1200.0, max_path_length=2,
                 min_path_support=25, min_path_lift=2.5, max_path_rules=10,
                 l2=2.0, max_offer_cap_cost=0.05, min_offer_outcomes=90,
                 min_validation_auc=0.55, min_help_sessions=50,
                 min_validation_help_sessions=20)
    p = beckon.train(week_split[0], **given)
    prov = p.to_dict()["provenance"]
    for key, value in given.items():
        assert prov["options"][key] == (value if isinstance(value, str)
                                        else f"{value:g}"), key
        # (64-bit integers are strings in protobuf's JSON.)
        spec = prov["train_spec"][key]
        assert (spec == value if isinstance(value, str)
                else float(spec) == value), key


def test_train_without_help_contacts_says_why(week_split):
    no_help = week_split[0][week_split[0]["event"] != "help_contact"]
    with pytest.raises(beckon.Error, match="no help_contact events") as e:
        beckon.train(no_help)
    assert "learns from them" in str(e.value)


def test_train_on_an_empty_log_says_why(week_split):
    with pytest.raises(beckon.Error, match="no visitor events"):
        beckon.train(week_split[0].iloc[:0])


# --- replay ----------------------------------------------------------------------

def test_replay_metrics(day7_replay, week_split):
    m = day7_replay.metrics
    day7 = week_split[1]
    for key in METRIC_KEYS:
        assert key in m, key
    for key in ("sessions", "offered_sessions", "offers", "help_sessions",
                "hits", "offers_after_decline", "offers_without_agents",
                "events", "decisions", "rechecks"):
        assert isinstance(m[key], int), key
    # The definitions of docs/replay.md, section 3.
    assert m["events"] == len(day7)
    assert m["precision"] == pytest.approx(m["hits"] / m["offered_sessions"])
    assert m["recall"] == pytest.approx(m["hits"] / m["help_sessions"])
    assert m["offer_rate"] == pytest.approx(m["offered_sessions"] / m["sessions"])
    assert m["offers"] >= m["offered_sessions"] >= m["hits"] > 0
    assert m["median_lead_s"] > 0
    # Gates that must hold in any replay.
    assert m["offers_after_decline"] == 0
    assert m["offers_without_agents"] == 0
    # Every session holds at least one visitor row; help sessions are
    # sessions with a help_contact row.
    visitors = day7[day7["event"] != "agents"]
    assert m["sessions"] >= visitors["visitor"].nunique()
    contacts = day7[day7["event"] == "help_contact"]
    assert m["help_sessions"] <= len(contacts)
    assert m["help_sessions"] >= contacts["visitor"].nunique()
    # Decisions: one after each visitor row, plus the rechecks.
    assert m["decisions"] == len(visitors) + m["rechecks"]


def test_replay_groups(day7_replay, trained):
    m = day7_replay.metrics
    groups = m["groups"]
    assert isinstance(groups, list) and groups
    for g in groups:
        assert tuple(g) == GROUP_KEYS
    patterns = [g["pattern"] for g in groups]
    assert set(patterns) <= set(trained.groups["pattern"]) | {"(unlisted)"}
    sessions = [g["sessions"] for g in groups]
    assert sessions == sorted(sessions, reverse=True)  # most first
    # Offers are made on some group's page; first offers likewise.
    assert sum(g["offers"] for g in groups) == m["offers"]
    assert sum(g["offered_sessions"] for g in groups) == m["offered_sessions"]
    assert sum(g["hits"] for g in groups) == m["hits"]
    frame = day7_replay.groups
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(GROUP_KEYS)
    assert frame["pattern"].tolist() == patterns


def test_replay_trace(day7_replay):
    m, t = day7_replay.metrics, day7_replay.trace
    assert list(t.columns) == ["ts_ms", "visitor", "recheck", "action",
                               "reason", "probability", "threshold",
                               "recheck_at_ms", "reasons"]
    assert t["ts_ms"].dtype == np.int64
    assert t["visitor"].dtype == object
    assert t["recheck"].dtype == bool
    assert list(t["action"].cat.categories) == list(beckon.ACTIONS)
    assert list(t["reason"].cat.categories) == list(beckon.REASONS)
    assert t["probability"].dtype == np.float64
    assert t["threshold"].dtype == np.float64
    assert t["recheck_at_ms"].dtype == pd.Int64Dtype()
    assert all(isinstance(r, list) for r in t["reasons"].head(100))
    # The trace is the decisions the metrics count.
    assert len(t) == m["decisions"]
    assert int(t["recheck"].sum()) == m["rechecks"]
    assert int((t["action"] == "offer").sum()) == m["offers"]
    assert t["action"].notna().all() and t["reason"].notna().all()
    assert t["probability"].between(0, 1).all()
    # In time order, and a recheck_at lies after its decision.
    assert (np.diff(t["ts_ms"].to_numpy()) >= 0).all()
    has = t["recheck_at_ms"].notna()
    assert (t.loc[has, "recheck_at_ms"] > t.loc[has, "ts_ms"]).all()
    # An offer says why.
    offers = t[t["action"] == "offer"]
    assert offers["reasons"].map(len).min() >= 1
    assert (offers["probability"] >= offers["threshold"]).all()


def test_replay_without_trace(day7_replay, trained, week_split):
    r = beckon.replay(trained, week_split[1], trace=False)
    assert r.trace is None
    assert r.metrics == day7_replay.metrics
    text = repr(r)
    assert text.startswith("<beckon.ReplayResult ")
    assert f"sessions={r.metrics['sessions']}" in text


def test_replay_of_a_path_equals_replay_of_the_frame(day7_replay, trained,
                                                     week_split, tmp_path):
    path = tmp_path / "day7.csv"
    beckon.write_events(week_split[1], path)
    r = beckon.replay(trained, str(path), trace=True)
    assert r.metrics == day7_replay.metrics
    pd.testing.assert_frame_equal(r.trace, day7_replay.trace)


def test_replay_sorts_rows_by_time(day7_replay, trained, week_split):
    # Rows may come in any order; replay sorts them by time, keeping the
    # given order for equal times. Reversing a day and sorting stably is
    # only the same as the original where no two rows share a time, so the
    # expected result is the replay of the stably-sorted reversal.
    rev = week_split[1].iloc[::-1]
    r = beckon.replay(trained, rev, trace=False)
    ref = beckon.replay(trained, rev.sort_values("ts_ms", kind="stable"),
                        trace=False)
    assert r.metrics == ref.metrics
    assert r.metrics["sessions"] == day7_replay.metrics["sessions"]


def test_replay_state_carries_declines_from_day_to_day(trained, week_split,
                                                       tmp_path):
    days16, day7 = week_split
    state = tmp_path / "d16.state"
    beckon.replay(trained, days16, trace=False, save_state=state)
    assert state.exists() and state.stat().st_size > 0
    # The saved state is an engine snapshot: an engine given the key file
    # saved beside it (private) can load it.
    key = tmp_path / "d16.state.key"
    assert (key.stat().st_mode & 0o777) == 0o600
    engine = beckon.Engine(trained, visitor_key_file=key)
    engine.load_state(str(state))
    assert engine.stats()["memory_records"] > 0
    fresh = beckon.replay(trained, day7)
    carried = beckon.replay(trained, day7, load_state=state)
    # Visitors who declined on days 1-6 are still not offered on day 7.
    declined = lambda r: int((r.trace["reason"] == "declined").sum())
    assert declined(carried) > declined(fresh)
    assert carried.metrics["offers_after_decline"] == 0
    with pytest.raises(beckon.NotFoundError):
        beckon.replay(trained, day7, load_state=tmp_path / "missing.state")


def test_replay_of_an_empty_log(trained, week_split):
    r = beckon.replay(trained, week_split[1].iloc[:0])
    assert r.metrics["sessions"] == 0 and r.metrics["decisions"] == 0
    assert r.metrics["precision"] == 0 and r.metrics["recall"] == 0
    assert len(r.trace) == 0


def test_empty_replay_keeps_the_column_types(day7_replay, trained,
                                             week_split):
    # A replay of no rows returns frames of the same shape and types as any
    # other replay (empty, not untyped).
    r = beckon.replay(trained, week_split[1].iloc[:0])
    assert list(r.trace.columns) == list(day7_replay.trace.columns)
    assert r.trace.dtypes.to_dict() == day7_replay.trace.dtypes.to_dict()
    assert list(r.groups.columns) == list(GROUP_KEYS)


def test_default_and_baseline_policies_replay(week_split):
    day7 = week_split[1]
    for p in (beckon.Policy.default(), beckon.fixed_dwell_policy(120)):
        m = beckon.replay(p, day7, trace=False).metrics
        assert m["sessions"] > 0 and m["offers"] > 0
        assert m["offers_after_decline"] == 0
        assert m["offers_without_agents"] == 0
    # The baseline offers at most once per session.
    m = beckon.replay(beckon.fixed_dwell_policy(120), day7, trace=False).metrics
    assert m["offers"] == m["offered_sessions"]


# --- sweep, calibrate ------------------------------------------------------------

def test_sweep(trained, week_split):
    day7 = week_split[1]
    s = beckon.sweep(trained, day7)
    assert list(s.columns)[:5] == ["threshold", "offer_rate", "precision",
                                   "recall", "median_lead_s"]
    assert {"offers", "offered_sessions", "hits", "sessions"} <= set(s.columns)
    # The default grid is where the policy's scores are: the 5%..95%
    # quantiles of its decisions' probabilities on the day.
    probs = beckon.replay(trained, day7).trace.probability.to_numpy()
    probs = probs[(probs > 0) & (probs < 1)]
    grid = s["threshold"].to_numpy()
    assert 5 <= len(grid) <= 19 and (np.diff(grid) > 0).all()
    assert grid[0] == pytest.approx(np.quantile(probs, 0.05), abs=1e-6)
    assert grid[-1] == pytest.approx(np.quantile(probs, 0.95), abs=1e-6)
    rates = s["offer_rate"].to_numpy()
    # A higher bar never offers to more sessions on this day.
    assert (np.diff(rates) <= 0).all()
    assert rates[0] > rates[-1]
    assert s["offers"].dtype == np.int64
    # Each row is the replay at that threshold.
    row = s.iloc[5]
    m = beckon.replay(trained.with_threshold(float(row["threshold"])), day7,
                      trace=False).metrics
    for key in ("offer_rate", "precision", "recall", "median_lead_s",
                "offers", "offered_sessions", "hits", "sessions"):
        assert row[key] == m[key], key
    # Given thresholds are kept in the given order.
    s2 = beckon.sweep(trained, day7, thresholds=[0.6, 0.2])
    assert s2["threshold"].tolist() == [0.6, 0.2]
    assert s2["offer_rate"].iloc[0] <= s2["offer_rate"].iloc[1]


def test_offer_rate_curve(trained, week_split):
    """The curve at 1, 2, 5, 10, 20% and one rate past what the policy can
    reach: each point is the calibrated replay, an unreachable rate says so,
    and the sessions the policy never offers are counted by reason."""
    day7 = week_split[1]
    curve = beckon.offer_rate_curve(trained, day7,
                                    list(beckon.CURVE_RATES) + [0.8])
    pts = curve.points
    assert pts["target_offer_rate"].tolist() == list(beckon.CURVE_RATES) + [0.8]
    assert 0 < curve.max_offer_rate < 0.8
    assert (pts["offer_rate"] <= curve.max_offer_rate + 1e-12).all()
    # Low rates are reached (to within a few of the day's 1,500 sessions);
    # 80% is not, and is reported as such.
    assert pts["reachable"].iloc[:3].all()
    assert not pts["reachable"].iloc[-1]
    assert pts["offer_rate"].iloc[-1] < 0.8
    assert pts["reachable"].tolist() == (
        pts["target_offer_rate"] <= curve.max_offer_rate
        + np.maximum(0.001, 0.05 * pts["target_offer_rate"])).tolist()
    for _, row in pts.iloc[:3].iterrows():
        assert row["offer_rate"] == pytest.approx(row["target_offer_rate"],
                                                  rel=0.1)
        # The baseline is matched to the rate the policy reached.
        assert row["baseline_offer_rate"] == pytest.approx(row["offer_rate"],
                                                           abs=0.01)
    assert curve.unoffered_by_reason
    assert set(curve.unoffered_by_reason) <= set(beckon.REASONS)
    assert sum(curve.unoffered_by_reason.values()) > 0
    assert 0 < curve.recall_area <= 1 and 0 < curve.baseline_recall_area <= 1
    # sweep(rates=) gives the same points.
    s = beckon.sweep(trained, day7, rates=[0.05])
    assert s["offer_rate"].iloc[0] == pts["offer_rate"].iloc[2]
    with pytest.raises(beckon.InvalidArgumentError, match="not both"):
        beckon.sweep(trained, day7, [0.5], rates=[0.05])
    with pytest.raises(beckon.InvalidArgumentError, match="offer rates"):
        beckon.offer_rate_curve(trained, day7, [1.5])


def test_calibrate_threshold(trained, week_split):
    day7 = week_split[1]
    tuned, setting, metrics = beckon.calibrate(trained, day7, 0.03)
    assert isinstance(tuned, beckon.Policy)
    assert tuned.decision_threshold == pytest.approx(setting)
    assert metrics["offer_rate"] == pytest.approx(0.03, abs=0.006)
    # The metrics are those of replaying the tuned policy.
    assert beckon.replay(tuned, day7, trace=False).metrics == metrics
    # A higher target needs a lower threshold.
    _, higher, _ = beckon.calibrate(trained, day7, 0.08)
    assert higher < setting


def test_calibrate_fixed_dwell(trained, week_split):
    day7 = week_split[1]
    tuned, seconds, metrics = beckon.calibrate(trained, day7, 0.05,
                                               fixed_dwell=True)
    assert seconds > 0
    assert tuned == beckon.fixed_dwell_policy(seconds, base=trained)
    assert metrics["offer_rate"] == pytest.approx(0.05, abs=0.01)
    assert beckon.replay(tuned, day7, trace=False).metrics == metrics


# --- fit_logistic, roc_auc ---------------------------------------------------------

@pytest.fixture(scope="module")
def separable():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    z = X @ np.array([2.0, -1.0, 0.5]) + 0.3
    y = (z + rng.normal(scale=0.5, size=400) > 0).astype(float)
    return X, y


def test_fit_logistic(separable):
    X, y = separable
    m = beckon.fit_logistic(X, y)
    assert isinstance(m, beckon.LogisticModel)
    assert m.weights.shape == (3,) and isinstance(m.bias, float)
    assert 0 < m.iterations <= 100
    p = m.predict_proba(X)
    assert p.shape == (400,) and ((p > 0) & (p < 1)).all()
    assert beckon.roc_auc(p, y) > 0.9
    # The signs of the true weights are recovered.
    assert np.sign(m.weights).tolist() == [1.0, -1.0, 1.0]
    # At the optimum of log-loss + 0.5 * l2 * |w|^2 (bias free) the
    # gradient vanishes: X'(p - y) + l2 w = 0 and sum(p - y) = 0.
    assert np.abs(X.T @ (p - y) + 1.0 * m.weights).max() < 1e-6
    assert abs((p - y).sum()) < 1e-6
    np.testing.assert_allclose(m.decision_function(X), X @ m.weights + m.bias)
    assert "3 features" in repr(m)


def test_fit_logistic_l2_and_weights(separable):
    X, y = separable
    loose = beckon.fit_logistic(X, y, l2=0.01)
    tight = beckon.fit_logistic(X, y, l2=100.0)
    assert np.linalg.norm(tight.weights) < np.linalg.norm(loose.weights)
    # Weight 2 on a row is the row given twice.
    w = np.ones(len(y))
    w[:50] = 2
    weighted = beckon.fit_logistic(X, y, sample_weight=w)
    doubled = beckon.fit_logistic(np.vstack([X, X[:50]]),
                                  np.concatenate([y, y[:50]]))
    np.testing.assert_allclose(weighted.weights, doubled.weights, rtol=1e-6)
    assert weighted.bias == pytest.approx(doubled.bias, rel=1e-6)


def test_fit_logistic_rejects_bad_input(separable):
    X, y = separable
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(beckon.InvalidArgumentError, match=r"x\[3\]\[1\] is not finite"):
        beckon.fit_logistic(bad, y)
    labels = y.copy()
    labels[5] = 2
    with pytest.raises(beckon.InvalidArgumentError, match=r"y\[5\] must be 0 or 1"):
        beckon.fit_logistic(X, labels)
    with pytest.raises(beckon.InvalidArgumentError, match="one label per row"):
        beckon.fit_logistic(X, y[:-1])
    with pytest.raises(beckon.InvalidArgumentError, match="2-dimensional"):
        beckon.fit_logistic(X[:, 0], y)
    with pytest.raises(beckon.InvalidArgumentError, match="sample_weight"):
        beckon.fit_logistic(X, y, sample_weight=np.ones(3))
    with pytest.raises(beckon.InvalidArgumentError, match="l2"):
        beckon.fit_logistic(X, y, l2=-1)
    m = beckon.fit_logistic(X, y)
    with pytest.raises(beckon.InvalidArgumentError, match=r"\(n, 3\)"):
        m.predict_proba(X[:, :2])


def test_roc_auc():
    # Hand-computed: of the four (positive, negative) pairs, three are
    # ordered right.
    assert beckon.roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert beckon.roc_auc([0.1, 0.9], [0, 1]) == 1.0
    assert beckon.roc_auc([0.9, 0.1], [0, 1]) == 0.0
    assert beckon.roc_auc([0.5, 0.5], [0, 1]) == 0.5  # ties count half
    assert beckon.roc_auc([0.2, 0.5], [1, 1]) == 0.5  # one class only
    with pytest.raises(beckon.InvalidArgumentError, match="0 or 1"):
        beckon.roc_auc([0.5, 0.2], [1, 3])
    with pytest.raises(beckon.InvalidArgumentError, match="not finite"):
        beckon.roc_auc([np.nan, 0.2], [1, 0])
    with pytest.raises(beckon.InvalidArgumentError, match="one length"):
        beckon.roc_auc([0.5, 0.2, 0.1], [1, 0])


def test_train_warns_below_the_trust_floors(week_split):
    """A model below a documented floor is returned with a TrainingWarning
    per floor, in policy.training["warnings"] and in the provenance."""
    events = week_split[0]
    # Two days: enough to train, too few help sessions for the floors as
    # set here (raised above what the log holds, so the test does not hang
    # on how many the simulator happens to make).
    two_days = events[events.ts_ms < events.ts_ms.min() + 2 * 86_400_000]
    with pytest.warns(beckon.TrainingWarning) as caught:
        p = beckon.train(two_days, min_help_sessions=10**6,
                         min_validation_help_sessions=10**6,
                         min_validation_auc=0.999)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 3, messages
    assert any("validation AUC" in m and "min_validation_auc" in m
               for m in messages)
    assert any("help sessions in the training part" in m for m in messages)
    assert any("help sessions in the validation part" in m for m in messages)
    assert p.training["warnings"] == messages
    assert "warnings:" in p.to_text()
    # Floors at 0 warn of nothing.
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", beckon.TrainingWarning)
        q = beckon.train(two_days, min_help_sessions=0,
                         min_validation_help_sessions=0, min_validation_auc=0)
    assert q.training["warnings"] == []
    with pytest.raises(beckon.InvalidArgumentError, match="min_validation_auc"):
        beckon.train(two_days, min_validation_auc=1.5)


def test_train_reports_the_timing_rules_it_tried(week_split):
    """Issue 13: waiting times chosen by validation hits; every rule tried
    is in the report, as in the policy's provenance."""
    train = week_split[0]
    auto = beckon.train(train)
    t = pd.DataFrame(auto.training["timing_candidates"])
    assert len(t) == 14
    assert list(t.columns[:4]) == ["name", "early_offers", "chosen", "hits"]
    assert t["chosen"].sum() == 1
    kept = t[t["chosen"]].iloc[0]
    assert kept["hits"] == t["hits"].max()
    assert kept["hits"] == auto.training["validation"]["hits"]
    prov = auto.to_dict()["provenance"]
    assert [c["name"] for c in prov["timing_candidates"]] == list(t["name"])
    model = auto.to_dict()["model"]
    assert bool(model["allow_before_dwell_threshold"]) == bool(
        kept["early_offers"])
    pinned = beckon.train(train, dwell_rule="separation", early_offers="no")
    p = pd.DataFrame(pinned.training["timing_candidates"])
    assert list(p["name"]) == ["separation"] and bool(p["chosen"][0])


def test_scarce_agents_bar_flat_raised_or_chosen(week_split):
    """Issue 13: scarce_agents="flat" (default) drops the base's raised
    bar for scarce agents, "raise" keeps it in proportion, "auto" keeps
    the one with more validation hits and reports the other's."""
    train = week_split[0]
    fast = dict(dwell_rule="quantile", early_offers="no")
    flat = beckon.train(train, **fast)
    g = flat.to_dict()["gates"]
    assert g["plenty_agents"] == 1
    assert g["threshold_at_one_agent"] == pytest.approx(
        flat.decision_threshold)
    t = flat.training["timing_candidates"][0]
    assert t["flat_bar"] is True and t["other_bar_hits"] is None
    assert flat.to_dict()["provenance"]["options"]["scarce_agents"] == "flat"

    raised = beckon.train(train, scarce_agents="raise", **fast)
    g = raised.to_dict()["gates"]
    th = raised.decision_threshold
    assert g["plenty_agents"] == 4
    assert g["threshold_at_one_agent"] == pytest.approx(th + 0.5 * (1 - th))
    assert raised.training["timing_candidates"][0]["flat_bar"] is False

    auto = beckon.train(train, scarce_agents="auto", **fast)
    a = auto.training["timing_candidates"][0]
    hits = {True: flat.training["timing_candidates"][0]["hits"],
            False: raised.training["timing_candidates"][0]["hits"]}
    assert a["flat_bar"] == (hits[True] > hits[False])
    assert a["hits"] == hits[a["flat_bar"]]
    assert a["other_bar_hits"] == hits[not a["flat_bar"]]
    with pytest.raises(beckon.InvalidArgumentError, match="scarce_agents"):
        beckon.train(train, scarce_agents="sometimes")


def test_varied_shop_and_split_groups():
    """Issue 13: the varied shop (groups the default rules do not match)
    and the trainer's opt-in group splits, reported per change."""
    df = beckon.simulate(days=3, seed=4, visitors_per_day=3000, shop="varied")
    pages = set(df["page"])
    assert "/checkout/payment" in pages and "/service/returns" in pages
    assert not any(p.startswith("/p/") for p in pages)
    assert df.equals(beckon.simulate(days=3, seed=4, visitors_per_day=3000,
                                     shop="varied"))
    with pytest.raises(beckon.InvalidArgumentError, match="shop"):
        beckon.simulate(days=1, shop="nope")
    fast = dict(dwell_rule="quantile", early_offers="no")
    split = beckon.train(df, split_groups="yes", **fast)
    changes = pd.DataFrame(split.training["group_changes"])
    # The per-group frame says how each group came to be, both ways for a
    # group split out and then pooled.
    frame = split.training["groups"].set_index("pattern")
    for pattern, rows in changes.groupby("pattern"):
        assert frame.loc[pattern, "change"] == "+".join(rows["kind"])
        assert frame.loc[pattern, "change_from"] == "; ".join(rows["from"])
    assert frame.loc["/checkout/address", "change"].startswith("split")
    splits = changes[changes["kind"] == "split"]
    assert "/checkout/address" in set(splits["pattern"])
    assert set(splits["from"]) == {"/checkout/*"}
    assert (splits["views"] >= 50).all() and (splits["from_views"] >= 50).all()
    address = splits[splits["pattern"] == "/checkout/address"].iloc[0]
    assert address["normal_dwell_s"] > 1.5 * address["from_normal_dwell_s"]
    assert "normal dwell" in address["reason"]
    d = split.to_dict()
    assert d["url_rules"][0]["match"] in set(splits["pattern"])
    assert len(d["provenance"]["group_changes"]) == len(changes)
    kept = beckon.train(df, **fast)
    assert not any(c["kind"] == "split"
                   for c in kept.training["group_changes"])
    with pytest.raises(beckon.InvalidArgumentError, match="split_groups"):
        beckon.train(df, split_groups="maybe")
    # "auto": both ways, the policy with more validation hits kept.
    auto = beckon.train(df, split_groups="auto", **fast)
    hits_with = split.training["validation"]["hits"]
    hits_without = kept.training["validation"]["hits"]
    assert auto.training["hits_with_splits"] == hits_with
    assert auto.training["hits_without_splits"] == hits_without
    assert auto.training["validation"]["hits"] == max(hits_with, hits_without)
    assert list(auto.groups["pattern"]) == list(
        (split if hits_with > hits_without else kept).groups["pattern"])
    assert auto.to_dict()["provenance"]["options"]["split_groups"] == "auto"


# One day is too little for the trust floors; the warnings are not the point.
@pytest.mark.filterwarnings("ignore::beckon.TrainingWarning")
def test_merge_groups_joins_thin_templates_and_says_so():
    """Issue 13: merge_groups="yes" merges the varied shop's thin category
    templates into one group the engine matches, each merge reported, and
    the per-group frame shows the merged group with what it took in."""
    df = beckon.simulate(days=3, seed=4, visitors_per_day=3000, shop="varied")
    fast = dict(dwell_rule="quantile", early_offers="no")
    merged = beckon.train(df, merge_groups="yes", **fast)
    changes = pd.DataFrame(merged.training["group_changes"])
    m = changes[changes["kind"] == "merged"]
    assert len(m) >= 5
    assert "merged:category" in set(m["from"])
    assert (m["views"] < m["from_views"]).all()
    assert m["reason"].str.contains("fewer than min_dwell_contacts").all()
    patterns = set(merged.groups["pattern"])
    assert not patterns & set(m["pattern"])
    assert "merged:category" in patterns
    assert set(merged.group_of(["/shop/women", "/shop/men"])) == {
        "merged:category"}
    frame = merged.training["groups"].set_index("pattern")
    cat = m[m["from"] == "merged:category"]
    assert frame.loc["merged:category", "change"].startswith("merged")
    assert frame.loc["merged:category", "change_from"].split("; ")[
        :len(cat)] == list(cat["pattern"])
    assert merged.to_dict()["provenance"]["options"]["merge_groups"] == "yes"
    kept = beckon.train(df, **fast)
    assert not any(c["kind"] == "merged"
                   for c in kept.training["group_changes"])
    assert "/shop/women" in set(kept.groups["pattern"])
    with pytest.raises(beckon.InvalidArgumentError, match="merge_groups"):
        beckon.train(df, merge_groups="maybe")


def test_progress_on_stderr_or_to_a_callable(week_split, capsys):
    day = week_split[1]
    fast = dict(dwell_rule="quantile", early_offers="no")
    policy = beckon.train(day, progress=True, **fast)
    err = capsys.readouterr().err
    # One line per stage, with the time so far.
    assert "beckon.train [" in err and "split at" in err
    assert "timing chosen: quantile 0.60" in err
    lines = []
    again = beckon.train(day, progress=lines.append, **fast)
    assert again == policy  # Progress changes nothing learned.
    assert any("path rules:" in x for x in lines)
    assert capsys.readouterr().err == ""  # The callable got them instead.
    result = beckon.replay(policy, day, trace=False, progress=True)
    err = capsys.readouterr().err
    n = result.metrics["events"]
    assert f"beckon.replay: 100.0% ({n}/{n} events)" in err
    assert err.endswith("\n")
    # A callable's exception stops nothing in C++ but is raised after.
    def fail(_):
        raise RuntimeError("progress failed")
    with pytest.raises(RuntimeError, match="progress failed"):
        beckon.replay(policy, day, progress=fail)
    with pytest.raises(TypeError, match="progress must be a bool"):
        beckon.train(day, progress="yes")
    # Without progress nothing is written.
    beckon.replay(policy, day, trace=False)
    assert capsys.readouterr().err == ""


def test_the_options_table_in_the_docs_is_the_trainers(tmp_path):
    """docs/trainer.md section 11 lists every option of the one option
    table with its default, range and flag, as beckon.TRAIN_OPTIONS has
    them."""
    import pathlib
    doc = (pathlib.Path(__file__).resolve().parents[2] / "docs" /
           "trainer.md").read_text()
    section = doc[doc.index("## 11. Options"):doc.index("## 12. Errors")]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    assert [o["name"] for o in beckon.TRAIN_OPTIONS] == list(rows)
    for o in beckon.TRAIN_OPTIONS:
        name, default, rng, flag, _ = rows[o["name"]]
        assert default.strip('`"') == o["default"], name
        assert rng == o["range"], name
        assert flag == "`--" + o["name"].replace("_", "-") + "`", name

