"""Shared fixtures of the beckon Python tests.

Run from the source tree with the built package on PYTHONPATH::

    BECKON_CLI=<build>/tools/beckon BECKON_DATA_DIR=../shared/data \
    PYTHONPATH=<build>/python python3 -m pytest -q tests/python

``BECKON_CLI`` (the ``beckon`` command-line tool) and ``BECKON_DATA_DIR``
(the folder of the public real-traffic data sets) are optional: the tests
that need them skip, saying which variable is missing.

The simulated logs are session-scoped and shared, so a test must never
modify them in place (take ``.copy()`` first).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import beckon

DAY_MS = 86_400_000

#: The week every training/replay test uses: small enough to train in about
#: a second, big enough for every gate and reason to occur.
WEEK = dict(days=7, seed=3, visitors_per_day=1500)


def day_of(events):
    """Day number of each row, 1 = the UTC day of the log's first row (as
    `beckon replay --days` counts them)."""
    ts = events["ts_ms"].to_numpy()
    return ts // DAY_MS - ts.min() // DAY_MS + 1


@pytest.fixture(scope="session")
def week():
    """Seven simulated days (about 83,000 rows)."""
    return beckon.simulate(**WEEK)


@pytest.fixture(scope="session")
def week_split(week):
    """(days 1-6, day 7) of `week`, each re-indexed from 0."""
    day = day_of(week)
    return (week[day <= 6].reset_index(drop=True),
            week[day == 7].reset_index(drop=True))


@pytest.fixture(scope="session")
def trained(week_split):
    """A policy trained on days 1-6 of `week` (defaults)."""
    return beckon.train(week_split[0])


@pytest.fixture(scope="session")
def one_day():
    """One simulated day (about 12,000 rows) with another seed."""
    return beckon.simulate(days=1, seed=11, visitors_per_day=1500)


@pytest.fixture(scope="session")
def week_csv(week, tmp_path_factory):
    """`week` written as a CSV event log; returns its path (a str)."""
    path = tmp_path_factory.mktemp("logs") / "week.csv"
    beckon.write_events(week, path)
    return str(path)


@pytest.fixture(scope="session")
def cli():
    """The path of the beckon command-line tool, from $BECKON_CLI."""
    path = os.environ.get("BECKON_CLI", "")
    if not path:
        pytest.skip("BECKON_CLI is not set (the path of the beckon "
                    "command-line tool); skipping the CLI cross-checks")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        resolved = shutil.which(path)
        if resolved is None:
            pytest.skip(f"BECKON_CLI={path!r} is not an executable file")
        path = resolved
    return path


@pytest.fixture(scope="session")
def run_cli(cli):
    """Runs the CLI with the given arguments; returns the CompletedProcess
    (stdout, stderr as text), failing the test with stderr on a non-zero
    exit."""
    def run(*args, check=True):
        proc = subprocess.run([cli, *map(str, args)], capture_output=True,
                              text=True, timeout=300)
        if check and proc.returncode != 0:
            pytest.fail(f"beckon {' '.join(map(str, args))} exited with "
                        f"{proc.returncode}:\n{proc.stderr}")
        return proc
    return run


@pytest.fixture(scope="session")
def data_dir():
    """The folder of the real data sets, from $BECKON_DATA_DIR."""
    path = os.environ.get("BECKON_DATA_DIR", "")
    if not path:
        pytest.skip("BECKON_DATA_DIR is not set (the folder of the public "
                    "real-traffic data sets); skipping real-data tests")
    if not os.path.isdir(path):
        pytest.skip(f"BECKON_DATA_DIR={path!r} does not exist; skipping "
                    "real-data tests")
    return path


@pytest.fixture
def t0():
    """A fixed time (ms since the epoch) that single-visitor tests start at."""
    return 1_700_000_000_000


def _stats_without_rejections(stats: dict) -> dict:
    s = dict(stats)
    s.pop("events_rejected")
    return s


@pytest.fixture(scope="session")
def stats_without_rejections():
    """Engine stats minus the one counter a rejected call may change
    (docs/concepts.md: a rejected call changes nothing apart from the
    events_rejected counter)."""
    return _stats_without_rejections


def _outcome(call):
    """(exception class, message) of `call()`, or (None, None) if it
    returned. The exception and its traceback are dropped before the
    caller asserts, so a failing assertion never renders the frames of a
    half-constructed object (see test_errors.py,
    test_failed_engine_construction_does_not_crash)."""
    try:
        call()
    except Exception as e:  # noqa: BLE001 - any outcome is reported
        return type(e), str(e)
    return None, None


@pytest.fixture(scope="session")
def outcome():
    return _outcome
