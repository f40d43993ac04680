"""beckon.Policy and beckon.fixed_dwell_policy: loading, saving, encodings,
equality, hashing, pickling, page groups, and the package's constants."""

import copy
import math
import pickle
import re

import numpy as np
import pandas as pd
import pytest

import beckon


@pytest.fixture(scope="module")
def default():
    return beckon.Policy.default()


# --- The built-in default policy ---------------------------------------------

def test_default_policy_is_named_and_has_a_threshold(default):
    assert isinstance(default, beckon.Policy)
    assert default.name == "beckon-default"
    assert 0 < default.decision_threshold < 1
    # The property reads the model's field.
    assert default.decision_threshold == \
        default.to_dict()["model"]["decision_threshold"]
    # Policy() with no argument wraps the default too.
    assert beckon.Policy() == default


def test_default_policy_provenance_names_the_version(default):
    # The default policy's provenance records the library version that
    # made it, so a saved default can be traced to its release.
    assert beckon.__version__ in default.to_dict()["provenance"]["created_by"]


def test_repr_is_readable(default):
    r = repr(default)
    assert r.startswith("<beckon.Policy ")
    assert "'beckon-default'" in r
    n = len(default.to_dict()["groups"])
    assert f"{n} groups" in r
    assert "decision threshold 0.5" in r  # the default's threshold is 0.5
    assert default.decision_threshold == 0.5


def test_groups_frame_lists_the_policy_groups_in_order(default):
    g = default.groups
    assert isinstance(g, pd.DataFrame)
    for col in ("pattern", "role", "dwell_threshold_s", "help_rate"):
        assert col in g.columns
    listed = default.to_dict()["groups"]
    assert list(g["pattern"]) == [x["pattern"] for x in listed]
    assert len(set(g["pattern"])) == len(g)  # patterns are unique
    assert (g["dwell_threshold_s"] > 0).all()
    assert g["help_rate"].between(0, 1).all()
    # Roles are plain names, the policy's enum without its prefix.
    assert list(g["role"]) == [x["role"][len("ROLE_"):].lower()
                               for x in listed]
    assert set(g["role"]) <= {"landing", "category", "product", "search",
                              "help", "cart", "checkout", "account", "other"}
    assert g.set_index("pattern").loc["/checkout/*", "role"] == "checkout"


def test_to_dict_has_every_top_level_field(default):
    d = default.to_dict()
    # Every field present (JSON of `beckon inspect --json`, proto names).
    for key in ("format_version", "name", "provenance", "url_rules",
                "groups", "unlisted", "path_rules", "model", "gates",
                "session"):
        assert key in d, key
    assert d["name"] == default.name
    assert d["format_version"] == 1
    # A fresh dict each call: changing it does not change the policy.
    d["name"] = "changed"
    assert default.to_dict()["name"] == "beckon-default"


# --- Encodings and files -------------------------------------------------------

def test_bytes_round_trip_and_determinism(default, trained):
    for p in (default, trained):
        data = p.to_bytes()
        assert isinstance(data, bytes) and data
        assert p.to_bytes() == data  # deterministic encoding
        q = beckon.Policy.from_bytes(data)
        assert q == p
        assert q.to_bytes() == data
        # bytearray and memoryview are accepted as bytes.
        assert beckon.Policy.from_bytes(bytearray(data)) == p
        assert beckon.Policy.from_bytes(memoryview(data)) == p


def test_text_round_trip(default, trained):
    for p in (default, trained):
        text = p.to_text()
        assert isinstance(text, str)
        assert f'name: "{p.name}"' in text
        assert beckon.Policy.from_text(text) == p


def test_from_text_of_an_edited_policy(default):
    # Text format is the editable form: a changed field reads back changed,
    # everything else stays.
    text = default.to_text().replace('name: "beckon-default"',
                                     'name: "edited"')
    p = beckon.Policy.from_text(text)
    assert p.name == "edited"
    assert p != default
    assert p.to_dict()["groups"] == default.to_dict()["groups"]


def test_save_and_load_binary(tmp_path, trained):
    path = tmp_path / "shop.policy"
    trained.save(path)  # a pathlib.Path is accepted
    assert path.read_bytes() == trained.to_bytes()
    assert beckon.Policy.load(path) == trained
    assert beckon.Policy.load(str(path)) == trained
    # Saving again replaces the file.
    beckon.Policy.default().save(str(path))
    assert beckon.Policy.load(path) == beckon.Policy.default()
    assert not list(tmp_path.glob("*.tmp"))  # no temporary left behind


def test_load_reads_text_format(tmp_path, trained):
    path = tmp_path / "shop.txtpb"
    path.write_text(trained.to_text())
    assert beckon.Policy.load(path) == trained


def test_training_report_is_not_saved_or_pickled(trained):
    assert isinstance(trained.training, dict)
    assert beckon.Policy.from_bytes(trained.to_bytes()).training is None
    assert pickle.loads(pickle.dumps(trained)).training is None


# --- Equality, hashing, pickling ---------------------------------------------

def test_equality_and_hash_follow_the_encoding(default, trained):
    a = beckon.Policy.default()
    assert a == default and not (a != default)
    assert hash(a) == hash(default)
    assert trained != default
    assert len({default, a, trained}) == 2
    assert default != "beckon-default"  # other types are never equal
    assert (default == 1) is False
    # A different threshold is a different policy.
    assert default.with_threshold(0.3) != default


def test_pickle_round_trip(default, trained):
    for p in (default, trained):
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            q = pickle.loads(pickle.dumps(p, protocol=protocol))
            assert isinstance(q, beckon.Policy)
            assert q == p
            assert hash(q) == hash(p)
            assert q.to_bytes() == p.to_bytes()
    assert copy.deepcopy(trained) == trained
    assert copy.copy(trained) == trained


def test_policy_is_immutable(default):
    with pytest.raises(AttributeError):
        default.name = "x"
    with pytest.raises(AttributeError):
        default.decision_threshold = 0.1


# --- with_threshold, group_of --------------------------------------------------

def test_with_threshold_changes_only_the_threshold(default):
    p = default.with_threshold(0.25)
    assert p.decision_threshold == 0.25
    assert default.decision_threshold == 0.5  # the original is untouched
    a, b = p.to_dict(), default.to_dict()
    # include/beckon/replay.h: the threshold at one free agent keeps its
    # place between the threshold and 1 (0.75 is halfway from 0.5 to 1, so
    # it becomes halfway from 0.25 to 1).
    assert a["gates"].pop("threshold_at_one_agent") == pytest.approx(0.625)
    b["gates"].pop("threshold_at_one_agent")
    a["model"].pop("decision_threshold")
    b["model"].pop("decision_threshold")
    assert a == b  # nothing else changed


def test_group_of_maps_urls_as_the_engine_does(default):
    # URL rules of the default policy (docs/policy-format.md): the first
    # match wins; "/returns..." pages belong to the group "/help/returns".
    assert default.group_of("/") == "/"
    assert default.group_of("/help/faq") == "/help/*"
    assert default.group_of("/returns/policy") == "/help/returns"
    assert default.group_of("/p/10001") == "/p/*"
    assert default.group_of("/p/10001?colour=red") == "/p/*"
    assert default.group_of("/nowhere/at/all") == "(unlisted)"
    pages = ["/cart", "/checkout/payment", "/zzz"]
    out = default.group_of(pages)
    assert isinstance(out, np.ndarray) and out.dtype == object
    assert list(out) == ["/cart", "/checkout/*", "(unlisted)"]
    # Any iterable of strings: a tuple, a pandas Series, a generator.
    assert list(default.group_of(tuple(pages))) == list(out)
    assert list(default.group_of(pd.Series(pages))) == list(out)
    assert list(default.group_of(p for p in pages)) == list(out)
    assert default.group_of([]).shape == (0,)


def test_group_of_names_only_groups_of_the_policy(default, week):
    pages = week["page"].unique()
    groups = set(default.group_of(pages))
    assert groups <= set(default.groups["pattern"]) | {"(unlisted)"}
    # The simulated shop uses pages of most groups.
    assert len(groups) >= 8


# --- The fixed-dwell baseline --------------------------------------------------

def test_fixed_dwell_policy_shape(default):
    f = beckon.fixed_dwell_policy(60)
    d = f.to_dict()
    # docs/replay.md section 7: no URL rules, groups or path rules; every
    # page is unlisted with dwell threshold T; once per session.
    assert d["url_rules"] == [] and d["groups"] == [] and d["path_rules"] == []
    assert d["unlisted"]["dwell_threshold_s"] == 60
    assert d["gates"]["max_offers_per_session"] == 1
    assert f.group_of("/help/faq") == "(unlisted)"
    assert "60" in f.name
    # Other gates come from the base (the default policy if none given).
    base_gates = default.to_dict()["gates"]
    for key in ("decline_cooldown_s", "ignored_cap", "min_gap_s",
                "holdout_fraction"):
        assert d["gates"][key] == base_gates[key], key
    assert d["session"] == default.to_dict()["session"]


def test_groups_frame_of_a_policy_without_groups():
    # The baseline has no groups: its frame is empty but has the same
    # columns, so code that filters or joins on them still works.
    g = beckon.fixed_dwell_policy(60).groups
    assert len(g) == 0
    for col in ("pattern", "role", "dwell_threshold_s", "help_rate"):
        assert col in g.columns, col


def test_fixed_dwell_policy_takes_the_base_gates(default):
    text = default.to_text().replace("min_gap_s: 300", "min_gap_s: 123")
    assert text != default.to_text()
    base = beckon.Policy.from_text(text)
    f = beckon.fixed_dwell_policy(90.5, base=base)
    assert f.to_dict()["gates"]["min_gap_s"] == "123"
    assert f.to_dict()["unlisted"]["dwell_threshold_s"] == 90.5
    assert f != beckon.fixed_dwell_policy(90.5)
    assert beckon.fixed_dwell_policy(90.5) == beckon.fixed_dwell_policy(90.5)


def test_fixed_dwell_policy_rejects_bad_seconds():
    for bad in (0, -1, math.nan, math.inf, 86400 * 2):
        with pytest.raises(beckon.InvalidArgumentError, match="fixed dwell"):
            beckon.fixed_dwell_policy(bad)


# --- Constants -----------------------------------------------------------------

def test_version_is_a_release_string():
    assert isinstance(beckon.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-][0-9A-Za-z.]+)?",
                        beckon.__version__)


def test_constants_match_the_documented_names():
    # docs/event-log.md: the ten event names.
    assert set(beckon.EVENT_TYPES) == {
        "page_view", "search", "cart", "help_contact", "offer_shown",
        "offer_accepted", "offer_declined", "offer_ignored", "purchase",
        "agents"}
    assert len(beckon.EVENT_TYPES) == 10
    assert beckon.EVENT_COLUMNS == ("ts_ms", "visitor", "event", "page",
                                    "detail")
    assert beckon.ACTIONS == ("offer", "wait", "suppress")
    # docs/replay.md section 5: the reason codes.
    assert set(beckon.REASONS) == {
        "score", "dwell", "below_threshold", "no_session", "declined",
        "ignored", "engaged", "session_cap", "min_gap", "holdout",
        "no_agents", "rate_cap", "store_unavailable", "offer_rate_cap"}
    # Reason numbers are those of the C ABI (beckon_reason).
    assert beckon.REASONS.index("rate_cap") == 11
    assert beckon.REASONS.index("store_unavailable") == 12
    assert beckon.REASONS.index("offer_rate_cap") == 13
    assert len(beckon.REASONS) == 14
    for c in (beckon.EVENT_TYPES, beckon.ACTIONS, beckon.REASONS):
        assert isinstance(c, tuple)


def test_all_names_exist():
    for name in beckon.__all__:
        assert hasattr(beckon, name), name
    for cls in (beckon.InvalidArgumentError, beckon.NotFoundError,
                beckon.PermissionDeniedError, beckon.FailedPreconditionError,
                beckon.ResourceExhaustedError, beckon.CancelledError,
                beckon.InternalError, beckon.UnavailableError,
                beckon.AbortedError):
        assert issubclass(cls, beckon.Error)
        assert isinstance(cls.code, str) and cls.code
    assert issubclass(beckon.Error, Exception)
    assert issubclass(beckon.InvalidArgumentError, ValueError)
    assert issubclass(beckon.NotFoundError, FileNotFoundError)
    assert issubclass(beckon.PermissionDeniedError, PermissionError)
    assert issubclass(beckon.ResourceExhaustedError, MemoryError)
    assert issubclass(beckon.UnavailableError, ConnectionError)
    assert beckon.UnavailableError.code == "unavailable"
    assert beckon.AbortedError.code == "aborted"


def test_from_dict_reads_what_to_dict_writes(default):
    """Policy.from_dict: the dict of to_dict, edited, back to a policy;
    bad dicts raise naming the problem."""
    assert beckon.Policy.from_dict(default.to_dict()) == default
    d = default.to_dict()
    d["groups"][0]["dwell_threshold_s"] = 12.5
    edited = beckon.Policy.from_dict(d)
    assert edited != default
    assert edited.to_dict()["groups"][0]["dwell_threshold_s"] == 12.5
    trained = beckon.train(beckon.simulate(days=3, seed=2,
                                           visitors_per_day=1500),
                           dwell_rule="quantile", early_offers="no")
    assert beckon.Policy.from_dict(trained.to_dict()) == trained
    with pytest.raises(beckon.InvalidArgumentError, match="nope"):
        beckon.Policy.from_dict({"nope": 1})
    bad = default.to_dict()
    bad["groups"][0]["help_rate"] = 2
    with pytest.raises(beckon.InvalidArgumentError, match="help_rate"):
        beckon.Policy.from_dict(bad)
    bad["groups"][0]["help_rate"] = float("nan")
    with pytest.raises(ValueError):
        beckon.Policy.from_dict(bad)
    with pytest.raises(TypeError, match="dict"):
        beckon.Policy.from_dict("{}")
