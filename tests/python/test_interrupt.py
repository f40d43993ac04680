"""Long calls stay responsive: Ctrl-C (SIGINT) stops a long training with
KeyboardInterrupt, and training and replay release the GIL so that other
Python threads keep running meanwhile."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import beckon

#: A log big enough that training takes a few seconds (about 1.8 million
#: rows; 28 days x 8000 visitors trains in roughly 3 s on two cores).
BIG = dict(days=28, seed=5, visitors_per_day=8000)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_interrupts_training():
    """The child simulates a big log, says READY, and trains. SIGINT half a
    second later must end the training with KeyboardInterrupt (the child
    catches it and prints INTERRUPTED), soon after the signal; and the
    interpreter is usable afterwards (a short replay works)."""
    code = textwrap.dedent(f"""
        import sys, time, beckon
        df = beckon.simulate(**{BIG!r})
        print("READY", flush=True)
        start = time.monotonic()
        try:
            beckon.train(df)
        except KeyboardInterrupt:
            took = time.monotonic() - start
            m = beckon.replay(beckon.Policy.default(), df.iloc[:2000],
                              trace=False).metrics
            print("INTERRUPTED %.3f %d" % (took, m["events"]), flush=True)
            sys.exit(0)
        print("FINISHED %.3f" % (time.monotonic() - start), flush=True)
        sys.exit(3)
    """)
    child = subprocess.Popen([sys.executable, "-c", code],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=dict(os.environ))
    try:
        ready = child.stdout.readline()
        assert ready.strip() == "READY", child.stderr.read()
        time.sleep(0.5)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
        latency = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # FINISHED (exit 3) would mean the training ended before the signal:
    # the log would then be too small for this test.
    assert child.returncode == 0, f"exit {child.returncode}: {out}{err[-2000:]}"
    word, took, events = out.split()
    assert word == "INTERRUPTED"
    assert events == "2000"
    # Interrupted about half a second in, and the child was gone within a
    # few seconds of the signal, sooner than the whole training.
    assert float(took) < 5.0
    assert latency < 5.0


def count_while(call):
    """Runs `call` in this thread while another thread counts as fast as
    it can; returns (count during the call / seconds, count alone /
    seconds)."""
    count = [0]
    stop = threading.Event()

    def counter():
        while not stop.is_set():
            count[0] += 1

    thread = threading.Thread(target=counter)
    thread.start()
    try:
        time.sleep(0.1)
        c, t = count[0], time.perf_counter()
        time.sleep(0.3)
        alone = (count[0] - c) / (time.perf_counter() - t)
        c, t = count[0], time.perf_counter()
        call()
        busy = (count[0] - c) / (time.perf_counter() - t)
    finally:
        stop.set()
        thread.join()
    return busy, alone


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """Four days of 4000 visitors as a CSV file (read in C++, so the call
    under test does no Python work of its own)."""
    path = tmp_path_factory.mktemp("gil") / "big.csv"
    beckon.simulate(days=4, seed=4, visitors_per_day=4000, path=path)
    return str(path)


def test_replay_releases_the_gil(big_csv):
    # Holding the GIL for the whole replay would stop the counter (it can
    # only run at switch points the C++ call never reaches); released, the
    # counter keeps a good part of its own speed.
    busy, alone = count_while(
        lambda: beckon.replay(beckon.Policy.default(), big_csv, trace=False))
    assert busy > 0.2 * alone, (busy, alone)


def test_train_releases_the_gil(big_csv):
    busy, alone = count_while(lambda: beckon.train(big_csv))
    assert busy > 0.2 * alone, (busy, alone)


def test_batches_release_the_gil(week):
    engine = beckon.Engine()
    busy, alone = count_while(lambda: engine.observe_batch(
        week["ts_ms"].to_numpy(), week["visitor"].to_numpy(),
        week["event"].to_numpy(), week["page"].to_numpy(),
        week["detail"].to_numpy()))
    # The columns are read under the GIL, the events observed without it.
    assert busy > 0.1 * alone, (busy, alone)
    assert engine.stats()["events_observed"] > 0
