"""The batch API (Engine.observe_batch, observe_frame, decide_batch) against
the one-event API on the same events, and the batch error semantics."""

import numpy as np
import pandas as pd
import pytest

import beckon

#: Rows per batch in the equivalence test: small enough that decisions are
#: interleaved with observations hundreds of times over the day.
CHUNK = 150


def single_calls(engine, chunk):
    """The reference: one observe per row, then one decide per visitor row
    of the chunk (in row order, at the chunk's last time)."""
    for row in chunk.itertuples(index=False):
        engine.observe(int(row.ts_ms), row.visitor, row.event, row.page,
                       row.detail)
    now = int(chunk["ts_ms"].iloc[-1])
    out = []
    for v in chunk.loc[chunk["event"] != "agents", "visitor"]:
        d = engine.decide(now, v)
        out.append((d.action, d.reason, d.probability, d.threshold,
                    d.would_offer, d.recheck_at_ms))
    return out


def batch_calls(engine, chunk, k):
    """The same calls through the batch API: observe_frame, or
    observe_batch with numpy/list columns, then decide_batch."""
    if k % 3 == 0:
        ok = engine.observe_frame(chunk)
    elif k % 3 == 1:
        ok = engine.observe_batch(chunk["ts_ms"].to_numpy(),
                                  chunk["visitor"].to_numpy(),
                                  chunk["event"].tolist(),
                                  chunk["page"], chunk["detail"].tolist())
    else:
        ok = engine.observe_batch(*[chunk[c] for c in beckon.EVENT_COLUMNS])
    assert ok.dtype == bool and ok.all() and len(ok) == len(chunk)
    visitors = chunk.loc[chunk["event"] != "agents", "visitor"]
    now = int(chunk["ts_ms"].iloc[-1])
    d = engine.decide_batch(np.full(len(visitors), now, dtype=np.int64),
                            visitors)
    assert len(d) == len(visitors)
    return [(a, r, p, t, w, None if pd.isna(c) else int(c))
            for a, r, p, t, w, c in zip(d["action"], d["reason"],
                                        d["probability"], d["threshold"],
                                        d["would_offer"], d["recheck_at_ms"])]


def test_batch_api_matches_single_calls(one_day, trained):
    """A simulated day fed in chunks through the one-event API in one
    engine and through the batch API in another gives identical decisions
    (actions, reasons, probabilities, thresholds, recheck times), identical
    stats and identical snapshots. Decisions come at each chunk's end, so
    they interleave with the observations and their offers (recorded as
    made) change what later calls see."""
    one, many = beckon.Engine(trained), beckon.Engine(trained)
    single, batch = [], []
    for k, start in enumerate(range(0, len(one_day), CHUNK)):
        chunk = one_day.iloc[start:start + CHUNK]
        single += single_calls(one, chunk)
        batch += batch_calls(many, chunk, k)
    assert len(single) == len(batch) > 10_000
    for i, (a, b) in enumerate(zip(single, batch)):
        assert a == b, f"decision {i}: {a} != {b}"
    assert one.stats() == many.stats()
    assert one.snapshot() == many.snapshot()
    # The day exercises more than one kind of answer.
    actions = {a for a, *_ in single}
    assert actions == {"offer", "wait", "suppress"}
    assert len({r for _, r, *_ in single}) >= 5


def test_decide_batch_after_each_event_matches_decide(one_day, trained):
    """decide_batch of one row after every event equals decide: the
    smallest batch is the one-event call."""
    day = one_day.iloc[:1000]
    one, many = beckon.Engine(trained), beckon.Engine(trained)
    for row in day.itertuples(index=False):
        args = (int(row.ts_ms), row.visitor, row.event, row.page, row.detail)
        one.observe(*args)
        assert many.observe_batch([args[0]], [args[1]], [args[2]], [args[3]],
                                  [args[4]]).tolist() == [True]
        if row.event == "agents":
            continue
        d = one.decide(args[0], row.visitor)
        b = many.decide_batch([args[0]], [row.visitor]).iloc[0]
        assert (d.action, d.reason, d.probability, d.threshold) == \
               (b["action"], b["reason"], b["probability"], b["threshold"])
        assert d.recheck_at_ms == (None if pd.isna(b["recheck_at_ms"])
                                   else int(b["recheck_at_ms"]))
    assert one.stats() == many.stats()


def test_play_batch_matches_decide_then_observe_per_row(one_day, trained):
    """play_batch (decide for each row's visitor at its time, then observe
    the row) over a whole simulated day gives the decisions, stats and
    snapshot of one decide and one observe per row in order."""
    one, many = beckon.Engine(trained), beckon.Engine(trained)
    expected = []
    for row in one_day.itertuples(index=False):
        if row.event != "agents":
            d = one.decide(int(row.ts_ms), row.visitor)
            expected.append((d.action, d.reason, d.probability, d.threshold,
                             d.would_offer, d.recheck_at_ms))
        one.observe(int(row.ts_ms), row.visitor, row.event, row.page,
                    row.detail)
    got = many.play_frame(one_day)
    assert got["accepted"].all() and len(got) == len(one_day)
    decided = got[(one_day["event"] != "agents").to_numpy()]
    assert decided["action"].notna().all()
    assert got.loc[(one_day["event"] == "agents").to_numpy(),
                   "action"].isna().all()
    batch = [(a, r, p, t, w, None if pd.isna(c) else int(c))
             for a, r, p, t, w, c in zip(
                 decided["action"], decided["reason"], decided["probability"],
                 decided["threshold"], decided["would_offer"],
                 decided["recheck_at_ms"])]
    assert batch == expected
    assert one.stats() == many.stats()
    assert one.snapshot() == many.snapshot()
    assert {a for a, *_ in expected} == {"offer", "wait", "suppress"}


def test_play_batch_errors_and_decide_mask(t0):
    engine = beckon.Engine()
    # A malformed row: nothing played.
    with pytest.raises(beckon.InvalidArgumentError,
                       match="row 1: .*nothing was played"):
        engine.play_batch([t0, t0], ["a", "b"], ["page_view", "nonsense"],
                          ["/", "/"])
    assert engine.stats()["events_observed"] == 0
    # Decide only where asked.
    d = engine.play_batch([t0, t0 + 1, t0 + 2], ["a", "a", "a"],
                          ["page_view"] * 3, ["/", "/c/x", "/"],
                          decide=[False, True, False])
    assert d["action"].isna().tolist() == [True, False, True]
    assert d.loc[1, "reason"] == "dwell"
    # Time going backwards: raises naming the row, or skips it.
    with pytest.raises(beckon.InvalidArgumentError, match="row 0: deciding"):
        engine.play_batch([t0], ["a"], ["page_view"], ["/"])
    d = engine.play_batch([t0, t0 + 5], ["a", "a"], ["page_view"] * 2,
                          ["/", "/"], on_error="skip")
    assert d["accepted"].tolist() == [False, True]
    with pytest.raises(beckon.InvalidArgumentError, match="decide"):
        engine.play_batch([t0], ["a"], ["page_view"], ["/"], decide=[True, 1])


def test_decide_batch_frame_types(one_day):
    engine = beckon.Engine()
    day = one_day.iloc[:500]
    engine.observe_frame(day)
    visitors = day.loc[day["event"] != "agents", "visitor"].unique()
    now = int(day["ts_ms"].iloc[-1])
    d = engine.decide_batch(np.full(len(visitors), now), visitors)
    assert list(d.columns) == ["action", "reason", "probability", "threshold",
                               "would_offer", "recheck_at_ms"]
    assert isinstance(d["action"].dtype, pd.CategoricalDtype)
    assert list(d["action"].cat.categories) == list(beckon.ACTIONS)
    assert isinstance(d["reason"].dtype, pd.CategoricalDtype)
    assert list(d["reason"].cat.categories) == list(beckon.REASONS)
    assert d["probability"].dtype == np.float64
    assert d["threshold"].dtype == np.float64
    assert d["would_offer"].dtype == bool
    assert d["recheck_at_ms"].dtype == pd.Int64Dtype()
    # A wait on dwell says when to ask again (after now); others may not.
    waits = d[d["reason"] == "dwell"]
    assert len(waits) and (waits["recheck_at_ms"] > now).all()
    assert d["recheck_at_ms"].isna().any()
    # Empty batches are fine.
    empty = engine.decide_batch(np.zeros(0, dtype=np.int64), [])
    assert len(empty) == 0 and list(empty.columns) == list(d.columns)
    assert len(engine.observe_batch([], [], [])) == 0


# --- on_error ----------------------------------------------------------------------

def rows(t0):
    """Five well-formed events of two visitors."""
    return pd.DataFrame({
        "ts_ms": [t0, t0 + 1000, t0 + 2000, t0 + 3000, t0 + 4000],
        "visitor": ["a", "b", "a", "b", "a"],
        "event": ["page_view", "page_view", "search", "cart", "page_view"],
        "page": ["/", "/c/shoes", "/search", "/cart", "/help/faq"],
        "detail": ["", "", "0", "19.99", ""]})


def test_malformed_row_raises_before_anything_is_observed(t0):
    engine = beckon.Engine()
    before = engine.stats()
    df = rows(t0)
    df.loc[3, "event"] = "teleport"
    for on_error in ("raise", "skip"):
        with pytest.raises(beckon.InvalidArgumentError) as e:
            engine.observe_frame(df, on_error=on_error)
        msg = str(e.value)
        assert msg.startswith("row 3: ") and 'unknown event "teleport"' in msg
        assert "nothing was observed" in msg
        assert engine.stats() == before


def test_rejected_row_with_skip_returns_false_and_observes_the_rest(t0):
    engine = beckon.Engine()
    df = rows(t0)
    df.loc[2, "ts_ms"] = t0 - 5000  # before visitor a's first event
    ok = engine.observe_frame(df, on_error="skip")
    assert ok.tolist() == [True, True, False, True, True]
    s = engine.stats()
    assert s["events_observed"] == 4 and s["events_rejected"] == 1
    # The same rows minus the rejected one give the same state.
    ref = beckon.Engine()
    ref.observe_frame(df.drop(index=2))
    assert ref.snapshot() == engine.snapshot()


def test_rejected_row_with_raise_stops_there(t0):
    engine = beckon.Engine()
    df = rows(t0)
    df.loc[2, "ts_ms"] = t0 - 5000
    with pytest.raises(beckon.InvalidArgumentError) as e:
        engine.observe_frame(df)
    msg = str(e.value)
    assert msg.startswith("row 2: ") and "backwards" in msg
    assert "rows before it were observed" in msg
    s = engine.stats()
    assert s["events_observed"] == 2 and s["events_rejected"] == 1
    ref = beckon.Engine()
    ref.observe_frame(df.iloc[:2])
    assert ref.snapshot() == engine.snapshot()


def test_decide_batch_on_error(t0):
    engine = beckon.Engine()
    engine.observe_frame(rows(t0))
    times = np.array([t0 + 5000, t0 + 1000, t0 + 6000])  # row 1: before a's last event
    visitors = ["b", "a", "a"]
    d = engine.decide_batch(times, visitors, on_error="skip")
    assert pd.isna(d["action"].iloc[1]) and pd.isna(d["reason"].iloc[1])
    assert np.isnan(d["probability"].iloc[1])
    assert pd.isna(d["recheck_at_ms"].iloc[1])
    assert d["action"].iloc[[0, 2]].notna().all()
    assert sum(engine.stats()["decisions_by_action"].values()) == 2

    engine2 = beckon.Engine()
    engine2.observe_frame(rows(t0))
    with pytest.raises(beckon.InvalidArgumentError) as e:
        engine2.decide_batch(times, visitors)
    assert str(e.value).startswith("row 1: ") and "backwards" in str(e.value)
    assert "rows before it were decided" in str(e.value)
    # Row 0 was decided, row 2 was not.
    assert sum(engine2.stats()["decisions_by_action"].values()) == 1


def test_bad_on_error_value(t0):
    engine = beckon.Engine()
    with pytest.raises(beckon.InvalidArgumentError,
                       match="on_error must be 'raise' or 'skip', got 'ignore'"):
        engine.observe_frame(rows(t0), on_error="ignore")
    with pytest.raises(beckon.InvalidArgumentError, match="on_error"):
        engine.decide_batch([t0], ["a"], on_error=None)
    assert engine.stats()["events_observed"] == 0
