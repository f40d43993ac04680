"""beckon.convert: the real-traffic logs (NASA, the e-shop clickstream) and a
web server's own access log, as the CLI's ``beckon convert`` makes them
(docs/real-logs.md)."""

import os

import pandas as pd
import pytest

import beckon

ACCESS_LOG = (
    '10.0.0.1 - - [01/Apr/2008:10:00:05 +0000] "GET /p/12 HTTP/1.1" 200 512 '
    '"https://www.bing.com/" "Mozilla/5.0"\n'
    '10.0.0.1 - - [01/Apr/2008:10:00:06 +0000] "GET /site.css HTTP/1.1" 200 '
    '99 "-" "Mozilla/5.0"\n'
    '66.249.66.1 - - [01/Apr/2008:10:00:10 +0000] "GET /p/13 HTTP/1.1" 200 '
    '10 "-" "Googlebot/2.1"\n'
    '10.0.0.2 - - [01/Apr/2008:12:00:11 +0200] "GET /cart HTTP/1.0" 200 7\n')


@pytest.fixture
def access_log(tmp_path):
    path = tmp_path / "access.log"
    path.write_text(ACCESS_LOG)
    return path


def test_convert_access_log(access_log, tmp_path):
    df = beckon.convert("access", access_log)
    assert list(df.columns) == list(beckon.EVENT_COLUMNS)
    assert list(df["page"]) == ["/p/12", "/cart"]
    assert list(df["visitor"]) == ["10.0.0.1", "10.0.0.2"]
    # 12:00:11+02:00 is 10:00:11 UTC.
    assert list(df["ts_ms"]) == [1207044005000, 1207044011000]
    assert list(df["detail"]) == ["https://www.bing.com/", ""]
    assert set(df["event"]) == {"page_view"}
    stats = df.attrs["convert"]
    assert stats["rows_read"] == 4 and stats["page_views"] == 2
    assert stats["skipped_not_page"] == 1 and stats["skipped_crawlers"] == 1
    # Crawlers kept on request; `out` writes the same rows as a log.
    kept = beckon.convert("access", access_log, keep_crawlers=True,
                          out=tmp_path / "access.csv")
    assert "/p/13" in set(kept["page"])
    pd.testing.assert_frame_equal(beckon.read_events(tmp_path / "access.csv"),
                                  kept)
    # A converted log trains or replays as any other: the default policy
    # replays it.
    assert beckon.replay(beckon.Policy.default(), kept,
                         trace=False).metrics["sessions"] == 3


def test_convert_errors_name_the_problem(access_log, tmp_path):
    with pytest.raises(beckon.InvalidArgumentError, match="kind must be"):
        beckon.convert("apache", access_log)
    with pytest.raises(beckon.InvalidArgumentError, match="access logs only"):
        beckon.convert("nasa", access_log, keep_crawlers=True)
    with pytest.raises(beckon.InvalidArgumentError, match="click_gap_s"):
        beckon.convert("eshop", access_log, click_gap_s=-1)
    with pytest.raises(beckon.NotFoundError, match="missing.log"):
        beckon.convert("access", tmp_path / "missing.log")
    bad = tmp_path / "bad.log"
    bad.write_text(ACCESS_LOG + "garbage\n")
    with pytest.raises(beckon.InvalidArgumentError,
                       match=r"bad.log: line 5: expected host"):
        beckon.convert("access", bad)
    skipped = beckon.convert("access", bad, lenient=True)
    assert len(skipped) == 2
    assert skipped.attrs["convert"]["malformed"] == 1
    assert "line 5" in skipped.attrs["convert"]["errors"][0]


def test_convert_real_logs_as_the_cli_does(data_dir, run_cli, tmp_path):
    for kind, name in (("nasa", "nasa_19950801.tsv"),
                       ("eshop", "eshop_clothing_2008_april_subset.csv")):
        src = os.path.join(data_dir, name)
        df = beckon.convert(kind, src)
        out = tmp_path / f"{kind}.csv"
        run_cli("convert", kind, "--in", src, "--out", out, "--quiet")
        pd.testing.assert_frame_equal(df, beckon.read_events(out))
        assert df.attrs["convert"]["page_views"] == len(df) > 1000
        assert df["ts_ms"].is_monotonic_increasing
    # The e-shop's synthetic gap between clicks is an option.
    src = os.path.join(data_dir, "eshop_clothing_2008_april_subset.csv")
    wide = beckon.convert("eshop", src, click_gap_s=60)
    first = wide[wide["visitor"] == wide["visitor"].iloc[0]]["ts_ms"]
    if len(first) > 1:
        assert (first.diff().dropna() % 60_000 == 0).all()
