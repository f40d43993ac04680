"""Engine.metrics_text read by a real Prometheus text-format parser
(prometheus_client, Debian's python3-prometheus-client): every family
parses, with the types and the figures the engine's stats say."""

import threading

import pytest

import beckon

parser = pytest.importorskip(
    "prometheus_client.parser",
    reason="prometheus_client is not installed (Debian: "
           "python3-prometheus-client; scripts/setup.sh installs it)")

MIN = 60_000


def families(engine):
    return {f.name: f for f in
            parser.text_string_to_metric_families(engine.metrics_text())}


def value(family, **labels):
    for s in family.samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise KeyError(labels)


def test_metrics_parse_with_the_engines_figures(t0):
    engine = beckon.Engine(beckon.Policy.default())

    def play():
        for i in range(200):
            v = f"v{i}"
            engine.observe(t0, v, "page_view", "/help/returns")
            engine.decide(t0 + 1_000, v)
            engine.decide(t0 + 10 * MIN, v)

    # On a thread of its own, whose count of calls starts at zero.
    worker = threading.Thread(target=play)
    worker.start()
    worker.join()
    fams = families(engine)
    stats = engine.stats()
    assert fams["beckon_info"].type == "gauge"
    info = fams["beckon_info"].samples[0]
    assert info.labels["store"] == "memory" and info.value == 1
    assert len(info.labels["policy_version"]) == 16
    decisions = fams["beckon_decisions"]  # the parser drops _total
    assert decisions.type == "counter"
    for reason, n in stats["decisions_by_reason"].items():
        assert value(decisions, reason=reason) == n
    assert value(decisions, action="offer", reason="score") > 0
    offers = fams["beckon_offers"]
    assert sum(s.value for s in offers.samples) == \
        stats["decisions_by_action"]["offer"]
    assert value(offers, group="/help/*") > 0
    assert fams["beckon_events_observed"].samples[0].value == \
        stats["events_observed"]
    assert fams["beckon_sessions_live"].type == "gauge"
    assert fams["beckon_sessions_live"].samples[0].value == \
        stats["live_sessions"]
    for name in ("beckon_observe_duration_seconds",
                 "beckon_decide_duration_seconds"):
        h = fams[name]
        assert h.type == "histogram"
        buckets = [s for s in h.samples if s.name.endswith("_bucket")]
        counts = [s.value for s in buckets]
        assert counts == sorted(counts)  # cumulative
        assert buckets[-1].labels["le"] == "+Inf"
        total = [s.value for s in h.samples if s.name.endswith("_count")][0]
        assert buckets[-1].value == total
    # 200 observes and 400 decides on this thread: one in 64 of each timed.
    assert value(fams["beckon_decide_duration_seconds"], le="+Inf") == 6
    assert value(fams["beckon_observe_duration_seconds"], le="+Inf") == 3
