"""Event logs: beckon.read_events, beckon.write_events and beckon.simulate
(docs/event-log.md, docs/simulator.md)."""

import os

import numpy as np
import pandas as pd
import pytest

import beckon

HEADER = "ts_ms,visitor,event,page,detail\n"


def write_text(path, text):
    path.write_bytes(text.encode("utf-8"))
    return path


def assert_event_frame(df):
    """The column types read_events and simulate promise."""
    assert list(df.columns) == list(beckon.EVENT_COLUMNS)
    assert df["ts_ms"].dtype == np.int64
    for col in beckon.EVENT_COLUMNS[1:]:
        assert df[col].dtype == object, col
        assert all(isinstance(v, str) for v in df[col]), col


# --- read_events -----------------------------------------------------------------

def test_read_events_stops_at_max_row_bytes(tmp_path):
    """A row longer than max_row_bytes fails naming its line, lenient or
    not, without the reader buffering it; a longer limit reads it."""
    row = "1700000000000,v1,page_view,/" + "a" * 28 + ",\n"  # 58 bytes.
    path = write_text(tmp_path / "long.csv", HEADER + row + ",,,,,," * 10000)
    for lenient in (False, True):
        with pytest.raises(beckon.InvalidArgumentError,
                           match="line 2: the row is longer than 57 bytes"):
            beckon.read_events(path, lenient=lenient, max_row_bytes=57)
    one = write_text(tmp_path / "one.csv", HEADER + row)
    assert len(beckon.read_events(one, max_row_bytes=58)) == 1
    with pytest.raises(beckon.InvalidArgumentError,
                       match="line 3: expected 5 columns, got 60001"):
        beckon.read_events(path, max_row_bytes=1 << 20)
    with pytest.raises(beckon.InvalidArgumentError, match="max_row_bytes"):
        beckon.read_events(path, max_row_bytes=0)


def test_times_in_seconds_raise_naming_the_column_and_the_fix(tmp_path):
    """A log written in epoch seconds (every event in January 1970 as
    milliseconds) is refused, by the reader and by the functions that take
    a DataFrame, naming the column and the fix; allow_small_epoch=True
    accepts it."""
    rows = ["1700000000,v1,page_view,/help/faq,", "1700000030,v1,page_view,/,"]
    path = write_text(tmp_path / "seconds.csv", HEADER + "\n".join(rows) + "\n")
    with pytest.raises(beckon.InvalidArgumentError,
                       match=r"line 2: column ts_ms: 1700000000 looks like "
                             r"epoch seconds.*multiply the column by 1000.*"
                             r"allow_small_epoch=True"):
        beckon.read_events(path)
    df = beckon.read_events(path, allow_small_epoch=True)
    assert list(df.ts_ms) == [1700000000, 1700000030]
    # A DataFrame in seconds, handed to replay: the same guard, by row.
    policy = beckon.Policy.default()
    with pytest.raises(beckon.InvalidArgumentError,
                       match=r"row 0: column ts_ms: 1700000000 looks like "
                             r"epoch seconds"):
        beckon.replay(policy, df)
    with pytest.raises(beckon.InvalidArgumentError, match="epoch seconds"):
        beckon.replay(policy, path)
    with pytest.raises(beckon.InvalidArgumentError, match="epoch seconds"):
        beckon.sweep(policy, df)
    with pytest.raises(beckon.InvalidArgumentError, match="epoch seconds"):
        beckon.train(df)
    assert beckon.replay(policy, df, allow_small_epoch=True).metrics[
        "sessions"] == 1
    # Milliseconds pass as they are.
    ms = df.assign(ts_ms=df.ts_ms * 1000)
    assert beckon.replay(policy, ms).metrics["sessions"] == 1


def test_times_in_microseconds_raise_with_the_fix(tmp_path):
    path = write_text(tmp_path / "micros.csv",
                      HEADER + "1700000000000000,v1,page_view,/,\n")
    for allow in (False, True):
        with pytest.raises(beckon.InvalidArgumentError,
                           match=r"line 2: column ts_ms: 1700000000000000 "
                                 r"looks like epoch microseconds.*divide"):
            beckon.read_events(path, allow_small_epoch=allow)


def test_read_events_refuses_a_fifo_at_once(tmp_path):
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    with pytest.raises(beckon.InvalidArgumentError,
                       match="it is a FIFO, not a regular file"):
        beckon.read_events(fifo)
    with pytest.raises(beckon.InvalidArgumentError,
                       match="it is a character device"):
        beckon.read_events("/dev/zero")


def test_read_events_types_and_values(tmp_path):
    path = write_text(tmp_path / "log.csv", HEADER +
                      "1700000000000,v1,page_view,/help/faq,https://www.google.com/\n"
                      "1700000001000,v1,search,/search?q=x,0\n"
                      "1700000002000,v1,cart,/cart,59.90\n"
                      "1700000003000,,agents,,3\n"
                      "1700000004000,v2,help_contact,/contact,chat\n")
    df = beckon.read_events(path)
    assert_event_frame(df)
    assert len(df) == 5
    assert df["ts_ms"].tolist() == [1700000000000 + 1000 * i for i in range(5)]
    assert df["visitor"].tolist() == ["v1", "v1", "v1", "", "v2"]
    assert df["event"].tolist() == ["page_view", "search", "cart", "agents",
                                    "help_contact"]
    # detail is kept as written (a referrer, a count, a money value, ...).
    assert df["detail"].tolist() == ["https://www.google.com/", "0", "59.90",
                                     "3", "chat"]
    assert df.attrs["skipped"] == 0 and df.attrs["errors"] == []


def test_read_events_parses_rfc4180_quoting_crlf_and_bom(tmp_path):
    text = ("\ufeff" + HEADER.replace("\n", "\r\n") +
            '1700000000000,v1,page_view,"/p/a,b","http://x/?q=""y"""\r\n'
            '1700000000500,"v 2",page_view,"/multi\nline",\r\n')
    df = beckon.read_events(write_text(tmp_path / "q.csv", text))
    assert df["page"].tolist() == ["/p/a,b", "/multi\nline"]
    assert df["detail"].tolist() == ['http://x/?q="y"', ""]
    assert df["visitor"].tolist() == ["v1", "v 2"]


def test_read_events_sorts_nothing_and_keeps_file_order(tmp_path):
    # The reader returns rows as they are in the file (replay and train sort
    # them by time themselves).
    path = write_text(tmp_path / "o.csv", HEADER +
                      "1700000005000,b,page_view,/,\n"
                      "1700000001000,a,page_view,/,\n")
    assert beckon.read_events(path)["visitor"].tolist() == ["b", "a"]


def test_read_events_strict_error_names_file_and_line(tmp_path):
    path = write_text(tmp_path / "bad.csv", HEADER +
                      "1700000000000,v1,page_view,/,\n"
                      "1700000001000,v1,page_veiw,/x,\n")
    with pytest.raises(beckon.InvalidArgumentError) as e:
        beckon.read_events(path)
    # Lines count the header as line 1 (docs/event-log.md).
    assert "bad.csv: line 3" in str(e.value)
    assert 'unknown event "page_veiw"' in str(e.value)


def test_read_events_lenient_skips_and_counts(tmp_path):
    path = write_text(tmp_path / "bad.csv", HEADER +
                      "1700000000000,v1,page_view,/,\n"
                      "1700000001000,v1,page_veiw,/x,\n"
                      "1700000002000,v1,search,/search,many\n"
                      "1700000003000,v2,cart,/cart,12.5\n")
    df = beckon.read_events(path, lenient=True)
    assert_event_frame(df)
    assert df["event"].tolist() == ["page_view", "cart"]
    assert df.attrs["skipped"] == 2
    errors = df.attrs["errors"]
    assert len(errors) == 2
    assert "line 3" in errors[0] and "page_veiw" in errors[0]
    assert "line 4" in errors[1] and "search detail must be a count" in errors[1]


def test_read_events_lenient_keeps_the_first_ten_errors(tmp_path):
    rows = "".join(f"17000000{i:05d},v{i},nonsense,/,\n" for i in range(25))
    rows += "1700000099999,ok,page_view,/,\n"
    df = beckon.read_events(write_text(tmp_path / "many.csv", HEADER + rows),
                            lenient=True)
    assert df["visitor"].tolist() == ["ok"]
    assert df.attrs["skipped"] == 25
    assert len(df.attrs["errors"]) == 10  # docs/event-log.md: the first ten


def test_read_events_bad_header_fails_even_when_lenient(tmp_path):
    path = write_text(tmp_path / "h.csv", "a,b,c\n1,2,3\n")
    for lenient in (False, True):
        with pytest.raises(beckon.InvalidArgumentError,
                           match='header must be "ts_ms,visitor,event,page,detail", '
                                 'found "a,b,c"'):
            beckon.read_events(path, lenient=lenient)


def test_read_events_missing_file(tmp_path):
    path = tmp_path / "nowhere.csv"
    with pytest.raises(beckon.NotFoundError, match="nowhere.csv") as e:
        beckon.read_events(path)
    assert isinstance(e.value, FileNotFoundError)


def test_read_events_of_an_empty_log(tmp_path):
    # A log with a header and no rows is a valid, empty log; its frame has
    # the same column types as any other (so code that concatenates or
    # filters frames does not meet float columns).
    df = beckon.read_events(write_text(tmp_path / "e.csv", HEADER))
    assert len(df) == 0
    assert_event_frame(df)


# --- write_events ------------------------------------------------------------------

def test_write_then_read_round_trip(tmp_path, one_day):
    path = tmp_path / "day.csv"
    beckon.write_events(one_day, path)
    back = beckon.read_events(path)
    pd.testing.assert_frame_equal(back, one_day, check_like=False)


def test_write_quotes_what_needs_quoting(tmp_path):
    df = pd.DataFrame({
        "ts_ms": [1700000000000, 1700000000001],
        "visitor": ["a,b", 'q"uote'],
        "event": ["page_view", "page_view"],
        "page": ["/x\ny", "/plain"],
        "detail": ['http://r/?a="1",b', ""]})
    path = tmp_path / "q.csv"
    beckon.write_events(df, path)
    text = path.read_text()
    assert text.startswith(HEADER)
    assert ",/plain," in text  # plain fields are not quoted
    pd.testing.assert_frame_equal(beckon.read_events(path), df)


def test_write_accepts_numbers_none_and_missing_columns(tmp_path):
    # Numbers are written as their str(); None and NaN as empty; absent
    # page/detail columns as empty. (Object columns: a numeric pandas column
    # with a NaN would be float, and str(3.0) is not a count.)
    df = pd.DataFrame({"ts_ms": np.array([1700000000000, 1700000001000],
                                         dtype=np.int64),
                       "visitor": pd.Series([12345, "v2"], dtype=object),
                       "event": ["search", "page_view"],
                       "page": ["/search", None],
                       "detail": pd.Series([3, np.nan], dtype=object)})
    path = tmp_path / "n.csv"
    beckon.write_events(df, path)
    back = beckon.read_events(path)
    assert back["visitor"].tolist() == ["12345", "v2"]
    assert back["page"].tolist() == ["/search", ""]
    assert back["detail"].tolist() == ["3", ""]

    only3 = {"ts_ms": [1700000000000], "visitor": ["v"], "event": ["page_view"]}
    beckon.write_events(only3, tmp_path / "m.csv")  # a mapping of columns
    back = beckon.read_events(tmp_path / "m.csv")
    assert back["page"].tolist() == [""] and back["detail"].tolist() == [""]


def test_write_bad_row_names_the_row_and_writes_nothing(tmp_path):
    df = pd.DataFrame({"ts_ms": [1700000000000, 1700000001000, 1700000002000],
                       "visitor": ["a", "b", "c"],
                       "event": ["page_view", "page_view", "teleport"],
                       "page": ["/", "/", "/"], "detail": ["", "", ""]})
    path = tmp_path / "w.csv"
    with pytest.raises(beckon.InvalidArgumentError,
                       match='row 2: unknown event "teleport"'):
        beckon.write_events(df, path)
    assert not path.exists()
    # An existing file is left as it was.
    path.write_text("keep me")
    with pytest.raises(beckon.InvalidArgumentError, match="row 2"):
        beckon.write_events(df, path)
    assert path.read_text() == "keep me"


def test_write_missing_required_column(tmp_path):
    df = pd.DataFrame({"ts_ms": [1700000000000], "visitor": ["a"]})
    with pytest.raises(beckon.InvalidArgumentError,
                       match=r"lack the column\(s\) event"):
        beckon.write_events(df, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_write_into_a_missing_folder_fails_cleanly(tmp_path, one_day):
    # An OS-level failure is an OSError subclass and a beckon.Error whose
    # message names the file and the OS's reason.
    target = tmp_path / "missing" / "x.csv"
    with pytest.raises(beckon.Error) as e:
        beckon.write_events(one_day.head(3), target)
    assert isinstance(e.value, OSError)
    assert str(target) in str(e.value)
    assert "No such file or directory" in str(e.value)
    assert not target.parent.exists()


# --- simulate ------------------------------------------------------------------------

def test_simulate_frame_and_stats(week):
    assert_event_frame(week)
    ts = week["ts_ms"].to_numpy()
    assert (np.diff(ts) >= 0).all()  # in time order
    assert set(week["event"]) <= set(beckon.EVENT_TYPES)
    stats = week.attrs["stats"]
    for key in ("events", "agents_rows", "sessions", "stuck_asked",
                "offers_shown", "offers_accepted", "offers_declined",
                "offers_ignored", "purchases"):
        assert isinstance(stats[key], int), key
    # The ground-truth counts agree with the rows themselves.
    counts = week["event"].value_counts()
    assert stats["events"] == len(week)
    assert stats["agents_rows"] == counts["agents"]
    assert stats["offers_shown"] == counts["offer_shown"]
    assert stats["offers_accepted"] == counts["offer_accepted"]
    assert stats["offers_declined"] == counts["offer_declined"]
    assert stats["offers_ignored"] == counts["offer_ignored"]
    assert stats["purchases"] == counts["purchase"]
    # agents rows have no visitor; every other row has one.
    agents = week["event"] == "agents"
    assert (week.loc[agents, "visitor"] == "").all()
    assert (week.loc[~agents, "visitor"] != "").all()


def test_simulate_is_deterministic_for_a_seed():
    a = beckon.simulate(days=1, seed=42, visitors_per_day=300)
    b = beckon.simulate(days=1, seed=42, visitors_per_day=300)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["stats"] == b.attrs["stats"]
    c = beckon.simulate(days=1, seed=43, visitors_per_day=300)
    assert not a.equals(c)


def test_simulate_options_change_the_log():
    base = beckon.simulate(days=1, seed=5, visitors_per_day=300)
    more = beckon.simulate(days=2, seed=5, visitors_per_day=300)
    day = 86_400_000
    span = lambda df: (df["ts_ms"].max() - df["ts_ms"].min()) / day
    # Sessions begun before midnight may run a little past it.
    assert 0.9 < span(base) < 1.1
    assert 1.9 < span(more) < 2.1
    assert len(more) > len(base)
    # No legacy widget: no offer rows at all.
    none = beckon.simulate(days=1, seed=5, visitors_per_day=300,
                           legacy_offer_share=0.0)
    assert not none["event"].isin(["offer_shown", "offer_declined",
                                   "offer_ignored", "offer_accepted"]).any()
    assert none.attrs["stats"]["offers_shown"] == 0
    start = 1_600_000_000_000
    shifted = beckon.simulate(days=1, seed=5, visitors_per_day=300,
                              start_ms=start)
    assert start <= shifted["ts_ms"].min() < start + day
    assert shifted["ts_ms"].max() < start + 1.1 * day


def test_simulate_rejects_unknown_and_bad_options():
    with pytest.raises(beckon.InvalidArgumentError,
                       match="unknown simulate option 'colour'"):
        beckon.simulate(days=1, colour="red")
    with pytest.raises(beckon.InvalidArgumentError, match="days"):
        beckon.simulate(days=0)
    with pytest.raises(beckon.InvalidArgumentError, match="give_up_share"):
        beckon.simulate(days=1, give_up_share="lots")
    with pytest.raises(beckon.InvalidArgumentError, match="give_up_share"):
        beckon.simulate(days=1, give_up_share=float("nan"))


def test_simulate_path_writes_a_readable_log(tmp_path):
    path = tmp_path / "sim.csv"
    df = beckon.simulate(days=1, seed=9, visitors_per_day=200, path=path)
    assert path.exists()
    pd.testing.assert_frame_equal(beckon.read_events(path), df)
    pd.testing.assert_frame_equal(
        df, beckon.simulate(days=1, seed=9, visitors_per_day=200))


def test_simulated_rows_are_all_accepted_by_an_engine(one_day):
    # What the simulator writes, the engine observes without complaint.
    engine = beckon.Engine()
    ok = engine.observe_frame(one_day)
    assert ok.dtype == bool and ok.all() and len(ok) == len(one_day)
    # events_observed counts visitor events; agents rows are not counted
    # (docs/concepts.md, Statistics).
    agents = int((one_day["event"] == "agents").sum())
    assert agents > 0
    assert engine.stats()["events_observed"] == len(one_day) - agents
    assert engine.stats()["events_rejected"] == 0


# --- A real log (public data, if present) ------------------------------------------

def test_real_nasa_log_round_trips(data_dir, tmp_path):
    """Real navigation (NASA KSC web server, 1 August 1995) turned into
    page_view rows in pandas, written, read back, and observed by an
    engine: real URLs (odd characters, long query strings) survive the
    format, and the engine takes every row."""
    src = os.path.join(data_dir, "nasa_19950801.tsv")
    if not os.path.exists(src):
        pytest.skip(f"{src} is absent")
    raw = pd.read_csv(src, sep="\t", dtype=str, keep_default_na=False,
                      quoting=3)
    raw.columns = [c.strip().lower() for c in raw.columns]
    assert {"host", "time", "method", "url", "response"} <= set(raw.columns)
    path_part = raw["url"].str.split("?", n=1).str[0].str.lower()
    pages = raw[(raw["method"] == "GET") &
                raw["response"].isin(["200", "304"]) &
                (path_part.str.endswith((".html", ".htm", "/")) |
                 path_part.str.startswith("/htbin/")) &
                (raw["host"].str.len().between(1, 128))]
    df = pd.DataFrame({"ts_ms": pages["time"].astype(np.int64) * 1000,
                       "visitor": pages["host"], "event": "page_view",
                       "page": pages["url"], "detail": ""})
    df = df.sort_values("ts_ms", kind="stable").reset_index(drop=True)
    assert len(df) > 5000
    path = tmp_path / "nasa.csv"
    beckon.write_events(df, path)
    back = beckon.read_events(path)
    pd.testing.assert_frame_equal(back, df)
    engine = beckon.Engine()
    assert engine.observe_frame(back).all()
    stats = engine.stats()
    assert stats["events_observed"] == len(df)
    # Sessions are cut with a 30-minute gap: fewer than the rows, more than
    # the distinct hosts (docs: about 2,774 sessions by a similar rule).
    assert df["visitor"].nunique() <= stats["sessions_started"] < len(df)
