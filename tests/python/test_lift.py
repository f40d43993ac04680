"""The measured lift through Python (docs/uplift.md): a simulated shop whose
widget is a beckon policy with treatment effects, its truth, and the
replay's lift from its decision log."""

import json
import math

import pandas as pd
import pytest

import beckon


def with_holdout(fraction, policy=None):
    d = (policy or beckon.Policy.default()).to_dict()
    d["gates"]["holdout_fraction"] = fraction
    return beckon.Policy.from_dict(d)


def first_per_visitor(truth):
    return (truth.sort_values("session_start_ms", kind="stable")
            .drop_duplicates("visitor"))


def test_simulated_widget_lift_matches_the_truth(tmp_path):
    policy = with_holdout(0.5)
    log_path = tmp_path / "decisions.jsonl"
    df = beckon.simulate(1, seed=11, visitors_per_day=4000,
                         widget_policy=policy, treatment_effects=True,
                         decision_log=log_path)
    truth = df.attrs["truth"]
    assert list(truth.columns) == list(beckon.TRUTH_COLUMNS)
    assert len(truth) == df.attrs["stats"]["eligible_sessions"] > 300
    assert set(truth["arm"]) == {"offered", "holdout"}
    assert set(truth["type"]) <= {"lost_cause", "sure_thing", "persuadable",
                                  "sleeping_dog"}
    # What happened is the arm's potential outcome.
    held = truth["arm"] == "holdout"
    expected = truth["purchase_if_not"].where(held,
                                              truth["purchase_if_offered"])
    assert (truth["purchased"] == expected).all()
    assert "agents" not in set(df["event"])
    assert (log_path.parent / (log_path.name + ".key")).exists()

    result = beckon.replay(policy, df, trace=False, decisions=log_path,
                           visitor_key_file=str(log_path) + ".key")
    assert result.metrics["production"]["agreement"] == 1.0
    lift = result.lift
    overall = lift.iloc[0]
    assert overall["group"] == "(all)"
    first = first_per_visitor(truth)
    arms = first.groupby("arm")["purchased"]
    assert overall["offered_arm"] == arms.size()["offered"]
    assert overall["holdout_arm"] == arms.size()["holdout"]
    assert overall["purchase_rate_offered"] == pytest.approx(
        arms.mean()["offered"])
    assert overall["purchase_rate_holdout"] == pytest.approx(
        arms.mean()["holdout"])
    assert overall["purchase_rate_ci_low"] < overall["purchase_rate_lift"] \
        < overall["purchase_rate_ci_high"]
    # The groups' arms add up to the whole.
    groups = lift.iloc[1:]
    assert groups["offered_arm"].sum() == overall["offered_arm"]
    assert groups["holdout_arm"].sum() == overall["holdout_arm"]
    assert result.metrics["lift"]["from_decision_log"] is True


def test_no_lift_without_a_holdout():
    df = beckon.simulate(1, seed=3, visitors_per_day=300)
    result = beckon.replay(with_holdout(0.0), df, trace=False)
    assert result.lift is None
    assert "lift" not in result.metrics


def test_an_arm_too_small_gives_no_interval():
    # One visitor in each arm at most: means, but no interval (NaN).
    df = beckon.simulate(1, seed=3, visitors_per_day=40,
                         widget_policy=with_holdout(0.5))
    result = beckon.replay(with_holdout(0.5), df, trace=False)
    lift = result.lift
    assert lift is not None
    small = lift[(lift["offered_arm"] < 2) | (lift["holdout_arm"] < 2)]
    assert len(small) > 0
    assert small["purchase_rate_ci_low"].map(math.isnan).all()


def test_simulator_errors_name_the_option(tmp_path):
    with pytest.raises(beckon.InvalidArgumentError,
                       match="treatment_effects must come with a "
                             "widget_policy"):
        beckon.simulate(1, visitors_per_day=10, treatment_effects=True)
    with pytest.raises(beckon.InvalidArgumentError,
                       match="decision_log needs widget_policy"):
        beckon.simulate(1, visitors_per_day=10,
                        decision_log=tmp_path / "d.jsonl")
    capped = beckon.Policy.default().to_dict()
    capped["gates"]["max_offer_share"] = 0.05
    with pytest.raises(beckon.InvalidArgumentError,
                       match="max_offer_share 0"):
        beckon.simulate(1, visitors_per_day=10,
                        widget_policy=beckon.Policy.from_dict(capped))
    with pytest.raises(TypeError):
        beckon.simulate(1, visitors_per_day=10, widget_policy=42)


def test_cli_simulates_and_measures_the_same_lift(run_cli, tmp_path):
    policy = with_holdout(0.5)
    policy_path, events = tmp_path / "h50.policy", tmp_path / "sim.csv"
    truth_path, decisions = tmp_path / "truth.csv", tmp_path / "d.jsonl"
    policy.save(policy_path)
    out = run_cli("simulate", "--days", "1", "--seed", "11",
                  "--widget-policy", policy_path, "--treatment-effects",
                  "--truth", truth_path, "--decision-log", decisions,
                  "--out", events)
    assert "sessions with an eligible moment" in out.stderr
    # The CLI writes what Python simulates: the log and the truth.
    df = beckon.simulate(1, seed=11, widget_policy=policy,
                         treatment_effects=True)
    beckon.write_events(df, tmp_path / "py.csv")
    assert (tmp_path / "py.csv").read_bytes() == events.read_bytes()
    truth = pd.read_csv(truth_path, keep_default_na=False)
    expected = df.attrs["truth"]
    assert list(truth.columns) == list(beckon.TRUTH_COLUMNS)
    assert truth["visitor"].tolist() == expected["visitor"].tolist()
    assert truth["type"].tolist() == expected["type"].tolist()
    assert truth["purchased"].tolist() == expected["purchased"].astype(
        int).tolist()
    # The replay's lift, in JSON and as text.
    args = ("replay", "--policy", policy_path, "--events", events,
            "--decisions", decisions, "--visitor-key-file",
            str(decisions) + ".key", "--quiet")
    metrics = json.loads(run_cli(*args, "--json").stdout)
    py = beckon.replay(policy, events, trace=False, decisions=decisions,
                       visitor_key_file=str(decisions) + ".key").metrics
    assert metrics["lift"] == py["lift"]
    text = run_cli(*args).stdout
    assert "lift (docs/uplift.md)" in text
    assert "purchase rate" in text
    # Without the decision log the CLI says what the estimate lacks.
    bare = run_cli("replay", "--policy", policy_path, "--events", events,
                   "--quiet").stdout
    assert "without production's decision log" in bare
    # Flags that need another flag say which.
    proc = run_cli("simulate", "--days", "1", "--treatment-effects", "--out",
                   tmp_path / "x.csv", check=False)
    assert proc.returncode != 0
    assert "--treatment-effects needs --widget-policy" in proc.stderr


def ran_policy():
    """The policy that ran: the default model at a low threshold, half the
    visitors held out."""
    d = with_holdout(0.5).to_dict()
    d["model"]["decision_threshold"] = 0.2
    return beckon.Policy.from_dict(d)


@pytest.fixture(scope="module")
def ran_log(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uplift")
    decisions = folder / "decisions.jsonl"
    df = beckon.simulate(3, seed=21, widget_policy=ran_policy(),
                         treatment_effects=True, decision_log=decisions)
    return df, decisions


def test_train_uplift_learns_a_policy_that_scores_by_uplift(ran_log):
    df, decisions = ran_log
    policy = beckon.train_uplift(ran_policy(), df, decisions=decisions,
                                 visitor_key_file=str(decisions) + ".key",
                                 target_offer_rate=0.05)
    report = policy.training
    assert report["offered_arm"] > 500 and report["holdout_arm"] > 500
    assert report["decision_log"] is True
    assert report["warnings"] == []
    assert report["offer_rate"] == pytest.approx(0.05, abs=0.002)
    assert report["base_offer_rate"] > report["offer_rate"]
    assert len(report["qini_curve"]) == 21
    assert report["qini_area"] > 2 * report["qini_random_sd"]
    uplift = policy.to_dict()["model"]["uplift"]
    assert uplift["outcome"] == "purchase"
    assert uplift["min_uplift"] == pytest.approx(report["min_uplift"])
    assert {w["feature"] for w in uplift["weights"]} == set(report["weights"])
    # The replay ranks by the uplift; the decisions say why they wait.
    result = beckon.replay(policy, df, decisions=decisions,
                           visitor_key_file=str(decisions) + ".key")
    assert result.metrics["lift"]["qini"]["ranked_by"] == "uplift"
    reasons = result.trace["reasons"].map(lambda r: r[0])
    assert reasons.str.startswith("expected purchase uplift").any()
    # Asking for more than the policy that ran offered warns.
    with pytest.warns(beckon.TrainingWarning, match="only chooses among"):
        beckon.train_uplift(ran_policy(), df, decisions=decisions,
                            visitor_key_file=str(decisions) + ".key",
                            target_offer_rate=0.5)


def test_train_uplift_errors(ran_log):
    df, decisions = ran_log
    with pytest.raises(beckon.FailedPreconditionError, match="no holdout"):
        beckon.train_uplift(with_holdout(0.0), df)
    with pytest.raises(beckon.InvalidArgumentError,
                       match="target_offer_rate must be in"):
        beckon.train_uplift(ran_policy(), df, target_offer_rate=0)


def test_cli_train_uplift_writes_what_python_trains(run_cli, ran_log,
                                                    tmp_path):
    df, decisions = ran_log
    ran_path, events = tmp_path / "ran.policy", tmp_path / "ran.csv"
    ran_policy().save(ran_path)
    beckon.write_events(df, events)
    out = tmp_path / "up.policy"
    proc = run_cli("train-uplift", "--policy", ran_path, "--events", events,
                   "--decisions", decisions, "--visitor-key-file",
                   str(decisions) + ".key", "--target-offer-rate", "0.05",
                   "--out", out, "--quiet")
    assert "uplift = 2 sigmoid(" in proc.stdout
    assert "Qini area" in proc.stdout
    py = beckon.train_uplift(ran_policy(), df, decisions=decisions,
                             visitor_key_file=str(decisions) + ".key",
                             target_offer_rate=0.05)
    assert beckon.Policy.load(out).to_bytes() == py.to_bytes()
    text = run_cli("replay", "--policy", out, "--events", events,
                   "--decisions", decisions, "--visitor-key-file",
                   str(decisions) + ".key", "--quiet").stdout
    assert "ranking" in text and "by uplift" in text


def test_evaluate_estimates_another_policy_off_policy(ran_log, run_cli,
                                                      tmp_path):
    df, decisions = ran_log
    key = str(decisions) + ".key"
    target = beckon.train_uplift(ran_policy(), df, decisions=decisions,
                                 visitor_key_file=key,
                                 target_offer_rate=0.05)
    e = beckon.evaluate(target, df, logged_policy=ran_policy(),
                        decisions=decisions, visitor_key_file=key)
    assert e["supported"] is True and e["why"] == ""
    assert e["visitors"] == len(e["rows"]) > 1000
    assert list(e["rows"].columns) == list(beckon.OFF_POLICY_COLUMNS)
    assert e["min_propensity"] == pytest.approx(0.5)
    for k in ("ips", "snips", "doubly_robust"):
        v = e[k]
        assert v["ci_low"] < v["value"] < v["ci_high"]
    # The rows give the same IPS by hand.
    rows = e["rows"][e["rows"]["supported"]]
    match = rows["logged_offer"] == rows["target_offer"]
    ips = (match * rows["purchased"] / rows["propensity"]).mean()
    assert e["ips"]["value"] == pytest.approx(ips)
    # The CLI prints the same figures.
    target_path, ran_path = tmp_path / "t.policy", tmp_path / "r.policy"
    events = tmp_path / "e.csv"
    target.save(target_path)
    ran_policy().save(ran_path)
    beckon.write_events(df, events)
    cli = json.loads(run_cli("evaluate", "--policy", target_path,
                             "--logged-policy", ran_path, "--events", events,
                             "--decisions", decisions, "--visitor-key-file",
                             key, "--json", "--quiet").stdout)
    assert cli["doubly_robust"] == pytest.approx(e["doubly_robust"])
    assert cli["ips"] == pytest.approx(e["ips"])
    with pytest.raises(beckon.FailedPreconditionError, match="no holdout"):
        beckon.evaluate(target, df, logged_policy=with_holdout(0.0))


def test_exploration_logs_its_offer_probability(tmp_path):
    d = with_holdout(0.5).to_dict()
    d["model"]["exploration"] = {"share": 0.4, "floor": 0.05,
                                 "salt": "py-test"}
    policy = beckon.Policy.from_dict(d)
    log = tmp_path / "d.jsonl"
    engine = beckon.Engine(policy, decision_log=log)
    t0 = 1_700_000_000_000
    explored = 0
    for i in range(400):
        v = f"v{i}"
        engine.observe(t0, v, "page_view", "/p/1")
        decision = engine.decide(t0 + 200_000, v)
        assert decision.probability < decision.threshold
        assert decision.offer_probability == pytest.approx(0.4 * 0.5)
        explored += decision.action == "offer"
        if decision.action == "offer":
            assert decision.reasons[0].startswith("exploring: probability")
    # 40% of the half not held out: about 80 (sd about 8).
    assert 50 < explored < 110
    del engine  # Closes the file.
    frame = beckon.read_decision_log(log)
    assert len(frame) == 400
    assert frame["offer_probability"].tolist() == pytest.approx([0.2] * 400)
    # Bad settings name the field.
    d["model"]["exploration"]["floor"] = 0.9
    with pytest.raises(beckon.InvalidArgumentError,
                       match="model.exploration.floor"):
        beckon.Policy.from_dict(d)


def test_train_uplift_by_value(ran_log, run_cli, tmp_path):
    df, decisions = ran_log
    key = str(decisions) + ".key"
    policy = beckon.train_uplift(ran_policy(), df, decisions=decisions,
                                 visitor_key_file=key, target_offer_rate=0.05,
                                 by_value=True)
    report = policy.training
    orders = df[df.event == "purchase"].detail.astype(float)
    assert report["by_value"] is True
    assert report["mean_order_value"] == pytest.approx(orders.mean())
    uplift = policy.to_dict()["model"]["uplift"]
    assert uplift["by_value"] is True
    assert uplift["mean_order_value"] == pytest.approx(orders.mean())
    assert report["offer_rate"] == pytest.approx(0.05, abs=0.003)
    # The CLI's --by-value writes the same policy.
    ran_path, events = tmp_path / "ran.policy", tmp_path / "ran.csv"
    ran_policy().save(ran_path)
    beckon.write_events(df, events)
    out = tmp_path / "v.policy"
    proc = run_cli("train-uplift", "--policy", ran_path, "--events", events,
                   "--decisions", decisions, "--visitor-key-file", key,
                   "--by-value", "--out", out, "--quiet")
    assert "added revenue; mean order" in proc.stdout
    assert beckon.Policy.load(out).to_bytes() == policy.to_bytes()
