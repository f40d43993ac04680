"""Bad input: every error is a beckon.Error subclass of the right kind (an
InvalidArgumentError is a ValueError, a NotFoundError a FileNotFoundError),
its message names the problem, a rejected call changes no state, and
nothing crashes the interpreter."""

import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import beckon


def raises_invalid(match):
    """pytest.raises for InvalidArgumentError, which is also a ValueError."""
    return pytest.raises(beckon.InvalidArgumentError, match=match)


@pytest.fixture
def engine(t0):
    """An engine holding one visitor 'v' (last event at t0 + 10 s) and a
    decline of visitor 'd'."""
    e = beckon.Engine()
    e.observe(t0, "v", "page_view", "/c/shoes")
    e.observe(t0 + 10_000, "v", "page_view", "/p/10001")
    e.observe(t0, "d", "offer_declined", "/", "chat")
    return e


@pytest.fixture
def unchanged(engine, stats_without_rejections):
    """Asserts, after the test body, that the engine's state and counters
    are as they were (apart from events_rejected)."""
    snap, stats = engine.snapshot(), stats_without_rejections(engine.stats())
    yield
    assert engine.snapshot() == snap
    assert stats_without_rejections(engine.stats()) == stats


def test_error_classes():
    assert issubclass(beckon.InvalidArgumentError, beckon.Error)
    assert issubclass(beckon.InvalidArgumentError, ValueError)
    assert issubclass(beckon.NotFoundError, beckon.Error)
    assert issubclass(beckon.NotFoundError, FileNotFoundError)
    assert beckon.InvalidArgumentError.code == "invalid_argument"
    assert beckon.NotFoundError.code == "not_found"
    with pytest.raises(ValueError):
        beckon.Policy.from_text("nonsense")
    with pytest.raises(OSError):
        beckon.Policy.load("/nonexistent/dir/p.policy")


# --- Policies ------------------------------------------------------------------------

def test_malformed_policy_bytes():
    with raises_invalid("not a binary policy message"):
        beckon.Policy.from_bytes(b"\xff\xff garbage")
    good = beckon.Policy.default().to_bytes()
    with raises_invalid("invalid policy"):
        beckon.Policy.from_bytes(good[:-7])  # truncated
    with raises_invalid("format_version"):
        beckon.Policy.from_bytes(b"")  # no version: not this format


def test_bad_policy_text_names_line_and_field():
    with raises_invalid(r'line 1, column \d+: .*no field named "colour"'):
        beckon.Policy.from_text("colour: 3")
    text = beckon.Policy.default().to_text().replace(
        "decision_threshold: 0.5", "decision_threshold: 1.5")
    with raises_invalid(r"model\.decision_threshold: must be in \(0, 1\), got 1\.5"):
        beckon.Policy.from_text(text)


def test_bad_policy_file(tmp_path):
    path = tmp_path / "junk.policy"
    path.write_bytes(b"\x00\x01junk")
    with raises_invalid("junk.policy: neither a binary policy nor policy text"):
        beckon.Policy.load(path)
    with raises_invalid("directory"):
        beckon.Policy.load(tmp_path)


def test_missing_files(tmp_path):
    missing = tmp_path / "absent.file"
    calls = [
        lambda: beckon.Policy.load(missing),
        lambda: beckon.read_events(missing),
        lambda: beckon.train(str(missing)),
        lambda: beckon.replay(beckon.Policy.default(), str(missing)),
        lambda: beckon.Engine().load_state(str(missing)),
    ]
    for call in calls:
        with pytest.raises(beckon.NotFoundError, match="absent.file") as e:
            call()
        assert isinstance(e.value, FileNotFoundError)
        assert isinstance(e.value, beckon.Error)


def test_with_threshold_out_of_range():
    p = beckon.Policy.default()
    for bad in (1.5, 0, 1, -0.1, math.nan):
        with raises_invalid(r"decision threshold must be in \(0, 1\)"):
            p.with_threshold(bad)
    with raises_invalid(r"got 1\.5"):
        p.with_threshold(1.5)


# --- Single events -------------------------------------------------------------------

def test_unknown_event_name(engine, unchanged, t0):
    with raises_invalid('unknown event "page_veiw"'):
        engine.observe(t0 + 20_000, "v", "page_veiw", "/")
    with raises_invalid('unknown event ""'):
        engine.observe(t0 + 20_000, "v", "", "/")


def test_time_going_backwards(engine, unchanged, t0):
    before = engine.stats()["events_rejected"]
    with raises_invalid("time went backwards for visitor"):
        engine.observe(t0 + 5_000, "v", "page_view", "/")
    assert engine.stats()["events_rejected"] == before + 1


def test_decide_before_the_visitors_last_event(engine, unchanged, t0):
    with raises_invalid("time went backwards"):
        engine.decide(t0 + 9_999, "v")


def test_visitor_id_length(engine, unchanged, t0):
    with raises_invalid("visitor is 129 bytes, longer than 128"):
        engine.observe(t0 + 20_000, "x" * 129, "page_view", "/")
    # Bytes, not characters: 43 three-byte characters are 129 bytes.
    with raises_invalid("129 bytes"):
        engine.observe(t0 + 20_000, "\u20ac" * 43, "page_view", "/")
    with raises_invalid("at most 128"):
        engine.decide(t0 + 20_000, "x" * 200)
    # A huge number as an id is its decimal digits: too long as well.
    with raises_invalid("201 bytes"):
        engine.observe(t0 + 20_000, 10 ** 200, "page_view", "/")


def test_128_byte_visitor_is_fine(t0):
    e = beckon.Engine()
    e.observe(t0, "x" * 128, "page_view", "/")
    assert e.decide(t0 + 1, "x" * 128).reason != "no_session"


def test_empty_visitor(engine, unchanged, t0):
    with raises_invalid("visitor is empty"):
        engine.observe(t0 + 20_000, "", "page_view", "/")
    with raises_invalid("visitor id is empty"):
        engine.decide(t0 + 20_000, "")
    with raises_invalid("an agents row must have an empty visitor"):
        engine.observe(t0 + 20_000, "v", "agents", "", 3)


def test_bad_details(engine, unchanged, t0):
    t = t0 + 20_000
    with raises_invalid(r'search detail must be a count \(an integer >= 0\), got "-1"'):
        engine.observe(t, "v", "search", "/search", -1)
    with raises_invalid('search detail must be a count.*got "many"'):
        engine.observe(t, "v", "search", "/search", "many")
    for bad in ("nan", "inf", "-3.5", "1e3", 1e15):
        with raises_invalid("cart detail must be a money value"):
            engine.observe(t, "v", "cart", "/cart", bad)
    # A float NaN reads as "no value", which a cart row must have.
    with raises_invalid("cart detail must be a money value"):
        engine.observe(t, "v", "cart", "/cart", float("nan"))
    with raises_invalid("purchase detail must be a money value"):
        engine.observe(t, "v", "purchase", "/checkout/done", "free")
    with raises_invalid(r"help_contact detail must be a channel .*got \"pigeon\""):
        engine.observe(t, "v", "help_contact", "/", "pigeon")
    with raises_invalid("agents detail must be a count"):
        engine.observe(t, "", "agents", "", -1)


def test_bad_timestamps(engine, unchanged, t0):
    with raises_invalid(r"ts_ms out of range \[0, 253402300799999\]: -5"):
        engine.observe(-5, "v", "page_view", "/")
    with raises_invalid("out of range"):
        engine.observe(2 ** 62, "v", "page_view", "/")
    with raises_invalid("ts_ms must be whole milliseconds, got 1.5"):
        engine.observe(1.5, "v", "page_view", "/")
    with raises_invalid("ts_ms must be whole milliseconds"):
        engine.observe(float("nan"), "v", "page_view", "/")
    with raises_invalid("ts_ms must be whole milliseconds"):
        engine.decide(float(t0) + 0.5, "v")
    with raises_invalid("ts_ms is out of range"):
        engine.observe(2 ** 63, "v", "page_view", "/")
    with raises_invalid("ts_ms must be an integer, got a bool"):
        engine.observe(True, "v", "page_view", "/")
    with raises_invalid("ts_ms must be an integer, got str"):
        engine.observe("1700000000000", "v", "page_view", "/")
    with raises_invalid("out of range"):
        engine.expire(-1)


def test_whole_float_and_numpy_timestamps_are_accepted(t0):
    e = beckon.Engine()
    e.observe(float(t0), "v", "page_view", "/")
    e.observe(np.int64(t0 + 1), "v", "page_view", "/")
    assert e.decide(np.uint32(0) + t0 + 2, "v").reason != "no_session"
    assert e.stats()["events_observed"] == 2


def test_wrong_types(engine, unchanged, t0):
    t = t0 + 20_000
    with raises_invalid("detail must be a string or a number, got dict"):
        engine.observe(t, "v", "cart", "/cart", {"value": 3})
    with raises_invalid("visitor must be a string or a number, got list"):
        engine.observe(t, ["v"], "page_view", "/")
    with raises_invalid("visitor must be a string or a number, got bool"):
        engine.observe(t, True, "page_view", "/")
    with raises_invalid("page must be a string or a number, got object"):
        engine.observe(t, "v", "page_view", object())


def test_policy_arguments_must_be_policies(week_split):
    day = week_split[1].iloc[:200]
    # The functions that take a policy say what they wanted, as the
    # Engine does, instead of failing on a missing attribute.
    for call in (lambda: beckon.replay(42, day),
                 lambda: beckon.sweep(None, day),
                 lambda: beckon.calibrate(b"x", day, 0.05),
                 lambda: beckon.train(day, base=1.5),
                 lambda: beckon.fixed_dwell_policy(60, base=[])):
        with pytest.raises(TypeError, match="Policy or the path"):
            call()
    # A str or PathLike is a policy file: a missing one is named.
    for call in (lambda: beckon.replay("missing.policy", day),
                 lambda: beckon.offer_rate_curve("missing.policy", day),
                 lambda: beckon.train(day, base="missing.policy")):
        with pytest.raises(beckon.NotFoundError, match="missing.policy"):
            call()


def test_engine_options_out_of_range(outcome):
    # Negative or oversized options are bad values like 0 or 3 shards are,
    # and say which option is wrong.
    for kwargs, name in ((dict(max_sessions=0), "max_sessions"),
                         (dict(shards=3), "shards"),
                         (dict(max_sessions=-1), "max_sessions"),
                         (dict(max_memory_records=-5), "max_memory_records"),
                         (dict(shards=-2), "shards"),
                         (dict(max_sessions=2 ** 70), "max_sessions"),
                         (dict(visitor_key=(-1, 2)), "visitor_key"),
                         (dict(visitor_key=(2 ** 64, 0)), "visitor_key")):
        cls, message = outcome(lambda: beckon.Engine(**kwargs))
        assert cls is beckon.InvalidArgumentError, (kwargs, cls, message[:200])
        assert name in message, (kwargs, message[:200])


def test_failed_engine_construction_does_not_crash():
    """An Engine whose construction failed is left in the traceback's
    frames (as `self` of __init__). Tools that show locals (pytest,
    debuggers, traceback with capture_locals) repr it: that must not crash
    the interpreter. Run in a child process so that a crash is reported."""
    code = textwrap.dedent("""
        import sys, traceback, beckon
        for kwargs in (dict(shards=3), dict(max_sessions=0),
                       dict(max_sessions=-1)):
            try:
                beckon.Engine(**kwargs)
            except Exception:
                tb = traceback.TracebackException(*sys.exc_info(),
                                                  capture_locals=True)
                "".join(tb.format())
        print("OK")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ))
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", \
        f"exit {proc.returncode}: {proc.stderr[-1500:]}"


# --- Batches -------------------------------------------------------------------------

def batch(t0, n=3):
    return ([t0 + 20_000 + i for i in range(n)], [f"b{i}" for i in range(n)],
            ["page_view"] * n)


def test_nan_and_fractional_timestamps_in_a_batch(engine, unchanged, t0):
    ts, v, e = batch(t0)
    with raises_invalid("row 1: ts_ms must be whole milliseconds, got nan"):
        engine.observe_batch(np.array([ts[0], np.nan, ts[2]]), v, e)
    with raises_invalid(r"row 2: ts_ms must be whole milliseconds, got 1700000020002\.5"):
        engine.observe_batch(np.array(ts, dtype=float) + [0, 0, 0.5], v, e)
    with raises_invalid("row 0: ts_ms must be whole milliseconds, got inf"):
        engine.observe_batch([math.inf, ts[1], ts[2]], v, e)
    with raises_invalid("ts_ms must be integers, got dtype"):
        engine.observe_batch(["1", "2", "3"], v, e)
    with raises_invalid("one-dimensional"):
        engine.observe_batch(np.zeros((3, 1)), v, e)
    with raises_invalid("row 1: ts_ms must be whole milliseconds"):
        engine.decide_batch(np.array([ts[0], np.nan]), ["v", "v"])


def test_timestamps_beyond_int64_in_a_batch(engine, unchanged, t0):
    # A value just above int64 (a uint64 column) is refused as what it is,
    # not reinterpreted as a negative number.
    with raises_invalid("ts_ms") as e:
        engine.observe_batch(np.array([2 ** 63], dtype=np.uint64), ["v"],
                             ["page_view"])
    assert "-9223372036854775808" not in str(e.value)
    with raises_invalid("ts_ms"):
        engine.observe_batch([2 ** 64], ["v"], ["page_view"])


def test_malformed_batch_rows_name_the_row(engine, unchanged, t0):
    ts, v, e = batch(t0)
    with raises_invalid(r"row 2: .*129 bytes.*\(nothing was observed\)"):
        engine.observe_batch(ts, v[:2] + ["y" * 129], e)
    with raises_invalid("row 1: visitor is empty"):
        engine.observe_batch(ts, ["a", None, "c"], e)
    with raises_invalid("row 1: detail must be a string or a number, got dict"):
        engine.observe_batch(ts, v, ["cart"] * 3, ["/cart"] * 3,
                             ["1", {"a": 1}, "2"])
    with raises_invalid('row 0: unknown event "nope"'):
        engine.observe_batch(ts, v, ["nope", "page_view", "page_view"])
    with raises_invalid('row 2: search detail must be a count.*got "-4"'):
        engine.observe_batch(ts, v, ["search"] * 3, ["/search"] * 3,
                             [0, 1, -4])
    with raises_invalid("visitor has 2 rows, ts_ms has 3"):
        engine.observe_batch(ts, v[:2], e)
    with raises_invalid("visitor has 2 rows, ts_ms has 3"):
        engine.decide_batch(ts, v[:2])


def test_backwards_row_in_a_batch(engine, t0):
    ts, v, e = batch(t0)
    v[1] = "v"  # visitor v's last event is at t0 + 10 s
    ts[1] = t0
    before = engine.stats()
    ok = engine.observe_batch(ts, v, e, on_error="skip")
    assert ok.tolist() == [True, False, True]
    after = engine.stats()
    assert after["events_observed"] == before["events_observed"] + 2
    assert after["events_rejected"] == before["events_rejected"] + 1


# --- Restore ---------------------------------------------------------------------------

def test_restore_of_garbage_changes_nothing(engine, unchanged, tmp_path):
    with raises_invalid("snapshot"):
        engine.restore(b"garbage")
    good = engine.snapshot()
    with raises_invalid("snapshot"):
        engine.restore(good[: len(good) // 2])
    path = tmp_path / "bad.state"
    path.write_bytes(b"\x08\x01garbage")
    with pytest.raises(beckon.Error):
        engine.load_state(str(path))


# --- Functions over logs -------------------------------------------------------------

def test_sweep_thresholds_must_be_in_the_open_unit_interval(week_split):
    day = week_split[1].iloc[:500]
    p = beckon.Policy.default()
    for bad in ([0.5, 1.0], [0.0], [-0.2], [math.nan], [1.5]):
        with raises_invalid(r"thresholds must be in \(0, 1\)"):
            beckon.sweep(p, day, bad)
    with raises_invalid("non-empty"):
        beckon.sweep(p, day, [])


def test_calibrate_target_out_of_range(week_split):
    day = week_split[1].iloc[:500]
    for bad in (0, 1.5, -0.1):
        with raises_invalid("target offer rate must be in"):
            beckon.calibrate(beckon.Policy.default(), day, bad)


def test_bad_rows_in_a_frame_given_to_train_or_replay(week_split):
    day = week_split[1].iloc[:300].copy()
    day.loc[day.index[7], "event"] = "teleport"
    for call in (lambda: beckon.train(day),
                 lambda: beckon.replay(beckon.Policy.default(), day),
                 lambda: beckon.sweep(beckon.Policy.default(), day, [0.5])):
        with raises_invalid('row 7: unknown event "teleport"'):
            call()
    with raises_invalid(r"lack the column\(s\) ts_ms, visitor, event"):
        beckon.replay(beckon.Policy.default(), [1, 2, 3])
    with raises_invalid(r"lack the column\(s\) event"):
        beckon.replay(beckon.Policy.default(), day[["ts_ms", "visitor"]])


# --- No crash ------------------------------------------------------------------------------

def test_random_bytes_never_crash_the_interpreter():
    """Random and mutated policy and snapshot bytes, in a child process so
    that a crash shows as a failed test with the child's output: every
    outcome is a value or a beckon.Error."""
    code = textwrap.dedent("""
        import random, beckon
        rng = random.Random(7)
        policy = beckon.Policy.default().to_bytes()
        engine = beckon.Engine()
        engine.observe(1700000000000, "v", "page_view", "/")
        engine.observe(1700000000000, "d", "offer_declined", "/", "chat")
        snap = engine.snapshot()
        errors = 0
        for i in range(3000):
            for good, load in ((policy, beckon.Policy.from_bytes),
                               (snap, beckon.Engine().restore)):
                data = bytearray(good)
                if i % 3 == 0:
                    data = bytearray(rng.randbytes(rng.randrange(64)))
                else:
                    for _ in range(rng.randrange(1, 6)):
                        data[rng.randrange(len(data))] = rng.randrange(256)
                    if i % 3 == 2:
                        data = data[:rng.randrange(len(data))]
                try:
                    load(bytes(data))
                except beckon.Error:
                    errors += 1
        print("OK", errors)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("OK ")
    assert int(proc.stdout.split()[1]) > 1000  # most of them were refused
