"""The Python package and the beckon command-line tool agree: a policy
trained in Python is loaded and replayed by the CLI with identical metrics,
`inspect` prints what Policy.to_text/to_dict give, and logs the CLI writes
are read by Python. Needs $BECKON_CLI (skips otherwise)."""

import json
import os

import pandas as pd
import pytest

import beckon


@pytest.fixture(scope="module")
def saved(trained, week_split, tmp_path_factory):
    """The policy trained on days 1-6 and day 7, written to files."""
    folder = tmp_path_factory.mktemp("cli")
    policy, events = folder / "shop.policy", folder / "day7.csv"
    trained.save(policy)
    beckon.write_events(week_split[1], events)
    return policy, events


def test_cli_replay_equals_python_replay(run_cli, saved, trained, week_split):
    policy, events = saved
    out = run_cli("replay", "--policy", policy, "--events", events, "--json",
                  "--quiet")
    cli_metrics = json.loads(out.stdout)
    py_metrics = beckon.replay(trained, week_split[1], trace=False).metrics
    # Every key and value, the per-group list included, in the same order.
    assert list(cli_metrics) == list(py_metrics)
    assert cli_metrics == py_metrics
    assert cli_metrics["groups"] == py_metrics["groups"]
    assert cli_metrics["offers"] > 0


def test_cli_replay_of_the_whole_week_by_days(run_cli, trained, week_csv,
                                              week_split):
    # `--days 7` selects the same rows as the Python split (day 1 is the UTC
    # day of the first row).
    out = run_cli("replay", "--policy", "default", "--events", week_csv,
                  "--days", "7", "--json", "--quiet")
    assert json.loads(out.stdout) == beckon.replay(
        beckon.Policy.default(), week_split[1], trace=False).metrics


def test_cli_baseline_equals_fixed_dwell_policy(run_cli, saved, trained,
                                                week_split):
    policy, events = saved
    out = run_cli("replay", "--policy", policy, "--events", events,
                  "--fixed-dwell", "95.5", "--json", "--quiet")
    expected = beckon.replay(beckon.fixed_dwell_policy(95.5, base=trained),
                             week_split[1], trace=False).metrics
    assert json.loads(out.stdout) == expected


def test_cli_trace_equals_python_trace(run_cli, saved, trained, week_split,
                                       tmp_path):
    policy, events = saved
    trace_path = tmp_path / "trace.jsonl"
    run_cli("replay", "--policy", policy, "--events", events, "--trace",
            trace_path, "--quiet")
    lines = [json.loads(x) for x in trace_path.read_text().splitlines()]
    cli = pd.DataFrame(lines)
    t = beckon.replay(trained, week_split[1]).trace
    assert len(cli) == len(t) > 1000
    # Decision by decision, every field of docs/replay.md section 5.
    for col in ("ts_ms", "visitor", "recheck", "probability", "threshold",
                "reasons"):
        assert cli[col].tolist() == t[col].tolist(), col
    for col in ("action", "reason"):
        assert cli[col].tolist() == t[col].astype(str).tolist(), col
    expected = [None if pd.isna(x) else int(x) for x in t["recheck_at_ms"]]
    got = [None if x is None or pd.isna(x) else int(x)
           for x in cli["recheck_at_ms"].astype(object)]
    assert got == expected


def test_cli_inspect_prints_the_python_policy(run_cli, saved, trained):
    policy, _ = saved
    assert run_cli("inspect", policy).stdout == trained.to_text()
    assert json.loads(run_cli("inspect", policy, "--json").stdout) == \
        trained.to_dict()
    # And the default policy, by name.
    assert json.loads(run_cli("inspect", "default", "--json").stdout) == \
        beckon.Policy.default().to_dict()


def test_policy_trained_by_the_cli_loads_in_python(run_cli, week_csv,
                                                   trained, tmp_path):
    out = tmp_path / "cli.policy"
    run_cli("train", "--events", week_csv, "--days", "1-6", "--out", out,
            "--quiet")
    # The same trainer with the same defaults on the same rows.
    assert beckon.Policy.load(out) == trained


def test_cli_simulate_writes_what_python_simulates(run_cli, tmp_path):
    # One simulator: the same options give the same rows in both.
    out = tmp_path / "sim.csv"
    run_cli("simulate", "--days", "1", "--visitors-per-day", "400", "--seed",
            "21", "--out", out, "--quiet")
    pd.testing.assert_frame_equal(
        beckon.read_events(out),
        beckon.simulate(days=1, seed=21, visitors_per_day=400))


def test_cli_version_matches(run_cli):
    assert beckon.__version__ in run_cli("--version").stdout


def test_real_nasa_log_converted_by_the_cli(run_cli, data_dir, tmp_path):
    """The NASA KSC log (real paths, real timing) converted by the CLI is
    read by Python, and replaying it gives the same metrics in both."""
    src = os.path.join(data_dir, "nasa_19950801.tsv")
    if not os.path.exists(src):
        pytest.skip(f"{src} is absent")
    log = tmp_path / "nasa.csv"
    run_cli("convert", "nasa", "--in", src, "--out", log, "--quiet")
    df = beckon.read_events(log)
    assert len(df) > 5000 and set(df["event"]) == {"page_view"}
    assert df["ts_ms"].is_monotonic_increasing
    py = beckon.replay(beckon.Policy.default(), df, trace=False).metrics
    cli = json.loads(run_cli("replay", "--policy", "default", "--events",
                             log, "--json", "--quiet").stdout)
    assert cli == py
    # No help labels in a web server log: no help sessions, no hits.
    assert py["help_sessions"] == 0 and py["hits"] == 0
    assert py["sessions"] > 1000
