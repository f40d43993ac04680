"""beckon.label: a helpdesk export joined onto an event log, and the
labelled NASA route (convert -> label -> train -> replay -> compare) with a
helpdesk export DERIVED from the converted log (scripts/derive_helpdesk.py;
docs/real-logs.md)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import beckon

HERE = os.path.dirname(os.path.abspath(__file__))
DERIVE = os.path.join(HERE, "..", "..", "scripts", "derive_helpdesk.py")

EVENTS = """ts_ms,visitor,event,page,detail
1700000000000,v1,page_view,/,
1700000030000,v1,page_view,/help/sizes,
1700000200000,v1,page_view,/p/1,
1700000000000,v2,page_view,/c/shoes,
"""


@pytest.fixture
def small(tmp_path):
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    return tmp_path, events


def test_label_joins_at_the_time_on_the_page(small):
    tmp, events = small
    chats = tmp / "chats.csv"
    chats.write_text("visitor,start,channel\n"
                     "v1,2023-11-14T22:14:20.250Z,chat\n"
                     "v1,2023-11-14T22:14:20.250Z,chat\n"
                     "ghost,1700000000000,\n")
    with pytest.warns(UserWarning, match="1 of 3 contacts match no session"):
        df = beckon.label(events, chats, path=tmp / "out.csv")
    st = df.attrs["label"]
    assert (st["contacts_read"], st["attached"], st["unmatched"],
            st["duplicates"]) == (3, 1, 1, 1)
    assert st["unmatched_contacts"] == [(4, "ghost", 1700000000000,
                                         "unknown visitor")]
    help_rows = df[df.event == "help_contact"]
    assert help_rows.to_dict("records") == [
        {"ts_ms": 1700000060250, "visitor": "v1", "event": "help_contact",
         "page": "/help/sizes", "detail": "chat"}]
    assert df.ts_ms.is_monotonic_increasing
    assert beckon.read_events(tmp / "out.csv").equals(df.reset_index(
        drop=True))


def test_label_errors_name_file_line_column(small):
    tmp, events = small
    bad = tmp / "bad.csv"
    bad.write_text("visitor,start\nv1,1700000060\n")
    with pytest.raises(beckon.InvalidArgumentError,
                       match=r'bad.csv: line 2: column "start": '
                             r'"1700000060" looks like epoch seconds'):
        beckon.label(events, bad)
    with pytest.warns(UserWarning, match="match no session"):
        df = beckon.label(events, bad, allow_small_epoch=True)
    assert df.attrs["label"]["unmatched"] == 1  # 1970: no session then.
    stray = tmp / "stray.csv"
    stray.write_text("session,start\nzz,1700000000000\n")
    with pytest.raises(beckon.InvalidArgumentError,
                       match="1 of 1 contacts match no session"):
        beckon.label(events, stray, on_unmatched="raise")
    with pytest.raises(beckon.InvalidArgumentError, match="on_unmatched"):
        beckon.label(events, stray, on_unmatched="drop")


def test_label_tolerance(small):
    tmp, events = small
    late = tmp / "late.csv"
    # 2000 s after v2's only view: past the 30 min session, within 5 more.
    late.write_text("visitor,start\nv2,1700002000000\n")
    assert beckon.label(events, late).attrs["label"]["attached"] == 1
    with pytest.warns(UserWarning):
        df = beckon.label(events, late, tolerance_s=0)
    assert df.attrs["label"]["attached"] == 0


def test_untrained_error_points_at_label(data_dir, run_cli, tmp_path):
    nasa = tmp_path / "nasa.csv"
    run_cli("convert", "nasa", "--in", os.path.join(data_dir,
            "nasa_19950801.tsv"), "--out", nasa, "--quiet")
    with pytest.raises(beckon.Error, match="beckon label"):
        beckon.train(str(nasa))


def test_nasa_labelled_route(data_dir, run_cli, tmp_path):
    nasa = tmp_path / "nasa.csv"
    chats = tmp_path / "nasa-chats.csv"
    run_cli("convert", "nasa", "--in", os.path.join(data_dir,
            "nasa_19950801.tsv"), "--out", nasa, "--quiet")
    subprocess.run([sys.executable, DERIVE, "--kind", "nasa", "--events",
                    str(nasa), "--out", str(chats)], check=True)
    with pytest.warns(UserWarning, match="match no session"):
        labelled = beckon.label(nasa, chats)
    st = labelled.attrs["label"]
    assert st["attached"] >= 80
    assert 1 <= st["unmatched"] <= st["attached"] // 50 + 1
    assert st["attached"] + st["unmatched"] + st["duplicates"] == \
        st["contacts_read"]
    policy = beckon.train(labelled)
    val = policy.training["validation"]
    print(f"NASA validation: offer rate {val['offer_rate']:.4f}, "
          f"recall {val['recall']:.3f}")
    assert 0.005 <= val["offer_rate"] <= 0.25
    assert val["hits"] > 0
    r = beckon.replay(policy, labelled, trace=False)
    assert 0.005 <= r.metrics["offer_rate"] <= 0.25
    assert r.metrics["hits"] > 0
    # The fixed rule at the policy's own offer rate finds fewer askers.
    _, seconds, base = beckon.calibrate(policy, labelled,
                                        r.metrics["offer_rate"],
                                        fixed_dwell=True)
    print(f"NASA in-sample: policy offer rate {r.metrics['offer_rate']:.4f} "
          f"recall {r.metrics['recall']:.3f}; fixed rule T {seconds:.0f} s "
          f"offer rate {base['offer_rate']:.4f} recall {base['recall']:.3f}")
    assert r.metrics["recall"] > base["recall"]
