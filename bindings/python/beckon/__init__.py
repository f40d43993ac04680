"""beckon: decide when an online shop should offer help, and tune it.

The same C++ engine that runs in production, driven from Python::

    import beckon
    events = beckon.simulate(days=30, seed=1)          # a pandas DataFrame
    train = events[events.ts_ms < events.ts_ms.quantile(0.8)]
    policy = beckon.train(train, target_offer_rate=0.05)
    result = beckon.replay(policy, events[events.ts_ms >= ...])
    result.metrics["precision"], result.trace.head()
    policy.save("shop.policy")                         # production loads this

Event logs are DataFrames with the columns of the event log format
(``ts_ms, visitor, event, page, detail``; docs/event-log.md). Every function
that takes events also takes a path to a CSV event log, read in C++.

Errors raise a subclass of :class:`beckon.Error` carrying the C++ message.
Long calls (batches, reading and simulating logs, training, replay, sweeps)
release the GIL; training, replay, sweeps, calibration, model fitting and
the engine's batch calls stop on Ctrl-C with KeyboardInterrupt.
docs/python.md is the guide.
"""

from __future__ import annotations

import math
import os
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from . import _beckon
from ._beckon import (  # noqa: F401  (re-exported)
    AbortedError,
    CancelledError,
    Decision,
    Error,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnavailableError,
)

__version__: str = _beckon.version()

__all__ = [
    "ACTIONS", "DECISION_LOG_COLUMNS", "EVENT_COLUMNS", "EVENT_TYPES",
    "REASONS",
    "AbortedError", "CancelledError", "Decision", "Engine", "Error",
    "FailedPreconditionError", "InternalError", "InvalidArgumentError",
    "LogisticModel", "NotFoundError", "PermissionDeniedError", "Policy",
    "ReplayResult", "ResourceExhaustedError", "TrainingWarning",
    "UnavailableError",
    "CONVERT_KINDS", "CURVE_RATES", "TRAIN_OPTIONS", "OfferRateCurve", "calibrate", "convert",
    "fit_logistic",
    "offer_rate_curve",
    "fixed_dwell_policy", "label", "read_decision_log", "read_events",
    "replay",
    "roc_auc", "simulate", "TRUTH_COLUMNS",
    "sweep", "time_split", "train", "train_uplift", "write_events",
    "evaluate", "OFF_POLICY_COLUMNS",
]

class TrainingWarning(UserWarning):
    """A trained model below a trust floor (docs/trainer.md): :func:`train`
    returns it, and warns once per floor it fell below."""


#: The columns of an event log DataFrame, in order.
EVENT_COLUMNS = ("ts_ms", "visitor", "event", "page", "detail")
#: Event names, by event type code.
EVENT_TYPES: tuple = tuple(_beckon.EVENT_TYPES)
#: Action names, by action code ("offer", "wait", "suppress").
ACTIONS: tuple = tuple(_beckon.ACTIONS)
#: Reason codes, by reason number ("score", "no_session", ...).
REASONS: tuple = tuple(_beckon.REASONS)

PathLike = Union[str, "os.PathLike[str]"]
Events = Any  # A pandas DataFrame with EVENT_COLUMNS, or a path to a CSV log.
#: Wherever a function takes a policy it takes a :class:`Policy` or the
#: path of a policy file (binary, or text format ``*.txtpb``).
PolicyLike = Union["Policy", str, "os.PathLike[str]"]


def _policy_arg(policy, name: str = "policy") -> "Policy":
    """A policy argument as a beckon.Policy: a Policy itself, or the path
    of a policy file (str or os.PathLike), loaded as :meth:`Policy.load`
    does. Anything else raises TypeError naming the argument."""
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, (str, os.PathLike)):
        return Policy.load(policy)
    raise TypeError(f"{name} must be a beckon.Policy or the path of a policy "
                    f"file, got {type(policy).__name__}")


def _impl_of(policy, name: str = "policy"):
    """The C++ policy of a policy argument (see _policy_arg)."""
    return _policy_arg(policy, name)._impl


class _Progress:
    """Progress of a long call on stderr, tqdm-like (``progress=True``):
    the trainer's stages as lines with the time so far, a replay's share of
    events on one line redrawn at most every 0.2 s. Given a callable
    instead, passes it each line of text."""

    def __init__(self, what: str, sink=None):
        import time
        self._clock = time.monotonic
        self._what = what
        self._t0 = self._clock()
        self._last = -1.0
        self._sink = sink
        self._open = False

    def _write(self, text: str, end: str) -> None:
        if self._sink is not None:
            self._sink(text)
            return
        import sys
        sys.stderr.write(("\r" if end == "" or self._open else "") + text + end)
        sys.stderr.flush()
        self._open = end == ""

    def message(self, text: str) -> None:
        self._write(f"{self._what} [{self._clock() - self._t0:6.1f} s] {text}",
                    "\n")

    def count(self, done: int, total: int) -> None:
        now = self._clock()
        if done < total and now - self._last < 0.2:
            return
        self._last = now
        pct = 100.0 * done / total if total else 100.0
        self._write(f"{self._what}: {pct:5.1f}% ({done}/{total} events) "
                    f"[{now - self._t0:.1f} s]", "\n" if done >= total else "")


def _progress_of(progress, what: str) -> Optional[_Progress]:
    """The reporter for a `progress` argument: None for False/None, stderr
    for True, the callable itself (given lines of text) otherwise."""
    if progress is None or progress is False:
        return None
    if progress is True:
        return _Progress(what)
    if callable(progress):
        return _Progress(what, progress)
    raise TypeError(f"progress must be a bool or a callable, got "
                    f"{type(progress).__name__}")


def _pd():
    import pandas  # Imported lazily: the engine alone does not need pandas.
    return pandas


# --- Policies -----------------------------------------------------------------

_GROUP_COLUMNS = ["pattern", "role", "dwell_threshold_s", "help_rate", "views"]


def _role_name(role: str) -> str:
    """ "ROLE_CHECKOUT" -> "checkout" (a policy's role, as the CLI names it)."""
    return role[len("ROLE_"):].lower() if role.startswith("ROLE_") else role


class Policy:
    """A policy: learned thresholds, model weights and business gates.

    Immutable. Make one with :meth:`default`, :meth:`load`,
    :meth:`from_bytes`, :meth:`from_text` or :func:`train`; every load
    validates and raises :class:`InvalidArgumentError` naming the bad field.
    Policies pickle (as their binary encoding) and compare equal when their
    encodings are equal.
    """

    __slots__ = ("_impl", "training")

    def __init__(self, impl: Optional[_beckon.Policy] = None):
        """Wraps the built-in default policy (or a policy from _beckon)."""
        self._impl = impl if impl is not None else _beckon.Policy.default()
        #: For a policy returned by :func:`train`: the training report (a
        #: dict with ``train_auc``, ``validation_auc``, ``train_samples``,
        #: ``train_sessions``, ``validation_sessions``, ``validation``,
        #: the metrics of the validation replay, ``timing_candidates``,
        #: ``group_changes``, ``warnings``, and ``groups``, the per-group
        #: figures as a DataFrame). None otherwise; it is not
        #: saved or pickled (the policy's provenance keeps the essentials).
        self.training: Optional[dict] = None

    @classmethod
    def default(cls) -> "Policy":
        """Returns the built-in default policy (hand-set; no training)."""
        return cls(_beckon.Policy.default())

    @classmethod
    def load(cls, path: PathLike) -> "Policy":
        """Reads a policy file: binary protobuf, or text format (*.txtpb)."""
        return cls(_beckon.Policy.load(os.fspath(path)))

    @classmethod
    def from_bytes(cls, data: bytes) -> "Policy":
        """Parses the binary protobuf encoding (as written by :meth:`save`)."""
        return cls(_beckon.Policy.from_bytes(bytes(data)))

    @classmethod
    def from_text(cls, text: str) -> "Policy":
        """Parses protobuf text format (as printed by :meth:`to_text`)."""
        return cls(_beckon.Policy.from_text(text))

    def save(self, path: PathLike) -> None:
        """Writes the binary encoding to `path`, replacing it atomically."""
        self._impl.save(os.fspath(path))

    def to_bytes(self) -> bytes:
        """Returns the binary protobuf encoding (deterministic)."""
        return self._impl.to_bytes()

    def to_text(self) -> str:
        """Returns protobuf text format (readable, diffable)."""
        return self._impl.to_text()

    @classmethod
    def from_dict(cls, d: dict) -> "Policy":
        """Builds a policy from a dict in the form :meth:`to_dict` returns
        (proto field names; absent fields take their defaults) and
        validates it: ``Policy.from_dict(p.to_dict()) == p``. An unknown
        field or a bad value raises :class:`InvalidArgumentError` naming
        it."""
        import json
        if not isinstance(d, dict):
            raise TypeError(f"from_dict takes a dict, got {type(d).__name__}")
        return cls(_beckon.Policy.from_json(json.dumps(d, allow_nan=False)))

    def to_dict(self) -> dict:
        """Returns the policy as a dict (the JSON of `beckon inspect --json`:
        proto field names, every field present)."""
        import json
        return json.loads(self._impl.to_json())

    @property
    def name(self) -> str:
        """The policy's name ("" if none)."""
        return self._impl.name

    @property
    def groups(self):
        """The page groups as a DataFrame (pattern, role, dwell_threshold_s,
        help_rate, views), one row per group, in policy order. ``role`` is
        the plain name ("checkout", "help", ...: the policy's ROLE_CHECKOUT
        without its prefix, lower case)."""
        pd = _pd()
        frame = pd.DataFrame(self.to_dict().get("groups", []),
                             columns=_GROUP_COLUMNS)
        frame["role"] = [_role_name(r) for r in frame["role"]]
        # Protobuf's JSON writes 64-bit integers as strings.
        return frame.astype({"views": "int64", "dwell_threshold_s": "float64",
                             "help_rate": "float64", "role": object})

    @property
    def decision_threshold(self) -> float:
        """The model's decision threshold (probability at or above which
        the engine offers, before the agent gates)."""
        return self._impl.decision_threshold

    def group_of(self, pages: Union[str, Iterable[str]]):
        """Returns the page group pattern of a URL, or of each URL as a numpy
        array ("(unlisted)" where no group matches), as the engine maps them."""
        if isinstance(pages, str):
            return self._impl.group_of([pages])[0]
        return np.asarray(self._impl.group_of(_strings(pages)),
                          dtype=object)

    def with_threshold(self, threshold: float) -> "Policy":
        """Returns a copy with the decision threshold set (in (0, 1))."""
        return Policy(_beckon.with_threshold(self._impl, float(threshold)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Policy):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __reduce__(self):
        return (Policy.from_bytes, (self.to_bytes(),))

    def __repr__(self) -> str:
        return self._impl.summary()


def fixed_dwell_policy(seconds: float,
                       base: Optional[PolicyLike] = None) -> Policy:
    """Returns the fixed-rule baseline: offer once per session after
    `seconds` on any page, under `base`'s gates (default: the default
    policy's), so both are replayed by the same engine."""
    base = base if base is not None else Policy.default()
    return Policy(_beckon.fixed_dwell_policy(_impl_of(base, "base"),
                                             float(seconds)))


# --- Events -------------------------------------------------------------------

def read_events(path: PathLike, *, lenient: bool = False,
                max_row_bytes: int = 1 << 20, allow_small_epoch: bool = False):
    """Reads a CSV event log into a DataFrame with EVENT_COLUMNS.

    ``ts_ms`` is int64; the other columns are strings (``detail`` as written:
    a referrer, a count, a money value or a channel). Strict by default: a
    bad row raises :class:`InvalidArgumentError` naming its line. With
    ``lenient=True`` bad rows are skipped; ``df.attrs["skipped"]`` counts
    them and ``df.attrs["errors"]`` keeps the first messages.

    A row longer than `max_row_bytes` (1 MiB by default, >= 1; far above
    any good row) raises :class:`InvalidArgumentError` naming its line, in
    lenient mode too: the reader never buffers a whole row. `path` must be
    a regular file: a FIFO, device or directory raises
    :class:`InvalidArgumentError` at once.

    A ``ts_ms`` below 10^11 (before 1973-03-03 in milliseconds) looks like
    epoch seconds and raises :class:`InvalidArgumentError` naming the line,
    the column and the fix (multiply by 1000), unless
    ``allow_small_epoch=True`` (a log on a clock that starts near 0); one
    that is epoch microseconds is refused likewise (divide by 1000).
    :func:`train`, :func:`replay`, :func:`sweep` and :func:`calibrate` apply
    the same check to the events they are given, with the same keyword.
    """
    if not 1 <= int(max_row_bytes) < 2**63:
        raise InvalidArgumentError(
            f"max_row_bytes must be in [1, 2**63), got {max_row_bytes}")
    cols, skipped, errors = _beckon.read_events(os.fspath(path), bool(lenient),
                                                int(max_row_bytes),
                                                bool(allow_small_epoch))
    df = _frame(cols)
    df.attrs["skipped"] = skipped
    df.attrs["errors"] = list(errors)
    return df


#: The columns of a decision log DataFrame (read_decision_log), in order.
DECISION_LOG_COLUMNS = ("ts_ms", "visitor_hash", "action", "reason",
                        "probability", "threshold", "would_offer",
                        "recheck_at_ms", "group", "policy", "policy_version",
                        "offer_probability")
# Read as 0 when a line lacks them (logs written before they existed).
_DECISION_LOG_OPTIONAL = ("offer_probability",)


def read_decision_log(path: PathLike):
    """Reads a decision log (Engine(decision_log=...), the C ABI's
    beckon_engine_options_set_decision_log, Engine::Options::
    decision_log_path) into a DataFrame with DECISION_LOG_COLUMNS:
    ``visitor_hash`` as an unsigned 64-bit integer (join it with an event
    log's ids through :meth:`Engine.visitor_hash` of an engine with the same
    visitor key), ``recheck_at_ms`` a nullable Int64, ``action`` and
    ``reason`` categoricals. A line that is not a decision raises
    :class:`InvalidArgumentError` naming its number and what is wrong."""
    import json
    rows = []
    with open(os.fspath(path), "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                d = json.loads(raw)
                if not isinstance(d, dict):
                    raise ValueError("not a JSON object")
                missing = [c for c in DECISION_LOG_COLUMNS
                           if c not in d and c not in _DECISION_LOG_OPTIONAL]
                if missing:
                    raise ValueError(f"missing {', '.join(missing)}")
                if d["action"] not in ACTIONS or d["reason"] not in REASONS:
                    raise ValueError(f"unknown action or reason "
                                     f"{d['action']!r}/{d['reason']!r}")
                rows.append((int(d["ts_ms"]), int(d["visitor_hash"], 16),
                             d["action"], d["reason"],
                             float(d["probability"]), float(d["threshold"]),
                             bool(d["would_offer"]), d["recheck_at_ms"],
                             str(d["group"]), str(d["policy"]),
                             str(d["policy_version"]),
                             float(d.get("offer_probability", 0.0))))
            except (ValueError, TypeError) as e:
                raise InvalidArgumentError(
                    f"{os.fspath(path)}: line {number}: not a decision log "
                    f"line: {e}") from None
    pd = _pd()
    cols = list(zip(*rows)) if rows else [[] for _ in DECISION_LOG_COLUMNS]
    df = pd.DataFrame({
        "ts_ms": np.asarray(cols[0], dtype=np.int64),
        "visitor_hash": np.asarray(cols[1], dtype=np.uint64),
        "action": pd.Categorical(cols[2], categories=ACTIONS),
        "reason": pd.Categorical(cols[3], categories=REASONS),
        "probability": np.asarray(cols[4], dtype=np.float64),
        "threshold": np.asarray(cols[5], dtype=np.float64),
        "would_offer": np.asarray(cols[6], dtype=bool),
        "recheck_at_ms": pd.array(list(cols[7]), dtype="Int64"),
        "group": list(cols[8]), "policy": list(cols[9]),
        "policy_version": list(cols[10]),
        "offer_probability": np.asarray(cols[11], dtype=np.float64)})
    return df


def write_events(events, path: PathLike) -> None:
    """Writes a DataFrame with EVENT_COLUMNS as a CSV event log (the format
    the CLI and the trainer read). Every row is checked first; a bad row
    raises :class:`InvalidArgumentError` naming its index and nothing is
    written."""
    _beckon.write_events(os.fspath(path), *_columns(events))


def label(events: PathLike, contacts: PathLike, *,
          path: Optional[PathLike] = None, session_timeout_s: float = 1800,
          tolerance_s: float = 300, on_unmatched: str = "report",
          allow_small_epoch: bool = False, lenient: bool = False,
          events_lenient: bool = False):
    """Joins a chat or helpdesk export onto an event log as ``help_contact``
    rows (the CLI's ``beckon label``; docs/real-logs.md) and returns the
    labelled log as a DataFrame in time order.

    `contacts` is CSV with a header naming ``visitor`` (or ``session``: the
    id the log's visitor column uses), ``start`` (epoch milliseconds, or ISO
    8601 with a zone) and optionally ``channel``. A contact at time t joins
    the visitor's session whose latest event at or before t is at most
    `session_timeout_s` + `tolerance_s` before t. ``on_unmatched="report"``
    counts and lists contacts that match no session
    (``df.attrs["label"]["unmatched_contacts"]``: (line, visitor, start_ms,
    reason) tuples) and warns; ``"raise"`` raises
    :class:`InvalidArgumentError` naming the first. ``df.attrs["label"]``
    holds the counts (contacts_read, attached, unmatched, duplicates,
    malformed, sessions_labelled, ...). With `path`, the log is also written
    there. A bad export row raises :class:`InvalidArgumentError` naming the
    file, line and column (``lenient=True`` skips and counts them).
    """
    if on_unmatched not in ("report", "raise"):
        raise InvalidArgumentError(
            f'on_unmatched must be "report" or "raise", got {on_unmatched!r}')
    if not (0 < float(session_timeout_s) <= 86400 and
            0 <= float(tolerance_s) <= 86400):
        raise InvalidArgumentError(
            "session_timeout_s must be in (0, 86400] and tolerance_s in "
            f"[0, 86400], got {session_timeout_s}, {tolerance_s}")
    cols, stats = _beckon.label(
        os.fspath(events), os.fspath(contacts), float(session_timeout_s),
        float(tolerance_s), on_unmatched == "raise", bool(allow_small_epoch),
        bool(lenient), bool(events_lenient))
    df = _frame(cols)
    stats["unmatched_contacts"] = [tuple(u) for u in
                                   stats["unmatched_contacts"]]
    stats["errors"] = list(stats["errors"])
    df.attrs["label"] = dict(stats)
    if stats["unmatched"]:
        import warnings
        warnings.warn(f"beckon.label: {stats['unmatched']} of "
                      f"{stats['contacts_read']} contacts match no session "
                      f"(df.attrs['label']['unmatched_contacts'])",
                      stacklevel=2)
    if path is not None:
        write_events(df, path)
    return df


#: The trainer's options, each a keyword of :func:`train` and a flag of
#: ``beckon train``: dicts with name, default (as text), range, kind
#: ("number", "whole number" or "text") and help, from the one option table
#: (TrainSpec, docs/trainer.md "Options").
TRAIN_OPTIONS: tuple = tuple(dict(o) for o in _beckon.train_options())

#: The kinds of log :func:`convert` reads.
CONVERT_KINDS = ("nasa", "eshop", "access")


def convert(kind: str, path: PathLike, *, out: Optional[PathLike] = None,
            lenient: bool = False, keep_crawlers: bool = False,
            click_gap_s: float = 30):
    """Converts a real-traffic log into an event log DataFrame in time
    order, as ``beckon convert`` does (docs/real-logs.md):

    - ``"nasa"``: the NASA Kennedy Space Center access log (tab-separated,
      with its header): page requests become page_view rows;
    - ``"eshop"``: the UCI clothing e-shop clickstream. ITS TIMING IS
      SYNTHETIC (the data has the day and the click order only): each
      session starts at a fixed second of its day and its clicks are
      `click_gap_s` apart, so dwell times from it measure nothing;
    - ``"access"``: a web server's own access log in the Common or Combined
      Log Format (Apache httpd, nginx): GET requests of pages (not assets)
      answered 200 or 304 become page_view rows, the visitor being the
      host; crawlers' requests are skipped unless ``keep_crawlers=True``.

    No source has help labels: join a helpdesk export with :func:`label`.
    ``df.attrs["convert"]`` holds the counts (rows_read, page_views, what
    was skipped and why, errors). A malformed line raises
    :class:`InvalidArgumentError` naming the file and line, unless
    ``lenient=True`` (skipped and counted). With `out`, the log is also
    written there."""
    if kind not in CONVERT_KINDS:
        raise InvalidArgumentError(
            f"kind must be one of {', '.join(CONVERT_KINDS)}, got {kind!r}")
    if keep_crawlers and kind != "access":
        raise InvalidArgumentError("keep_crawlers is for access logs only")
    gap = float(click_gap_s)
    if not 0 <= gap <= 1800:
        raise InvalidArgumentError(
            f"click_gap_s must be in [0, 1800], got {click_gap_s!r}")
    cols, stats = _beckon.convert(kind, os.fspath(path), bool(lenient),
                                  bool(keep_crawlers), gap)
    df = _frame(cols)
    stats = dict(stats)
    stats["errors"] = list(stats["errors"])
    df.attrs["convert"] = stats
    if out is not None:
        write_events(df, out)
    return df


def time_split(events: Events, *, test_days: Optional[int] = None,
               test_fraction: Optional[float] = None,
               at_ms: Optional[int] = None, session_timeout_s: float = 1800,
               allow_small_epoch: bool = False):
    """Divides an event log (a DataFrame or a CSV path) in time into
    (earlier, later) DataFrames, e.g. to train on the first days and replay
    the last: ``train, test = beckon.time_split(events, test_days=1)``.

    Give one of: `test_days`, the last that many UTC days of the log (the
    split is at a midnight UTC, counted back from the day its last session
    starts on); `test_fraction`, the latest share of the
    log's time span (as the trainer's ``validation_fraction`` divides it);
    or `at_ms`, the split time itself. Whole sessions go to one side: a
    visitor's rows go to the later part when their session (cut after
    `session_timeout_s` without an event, as the engine cuts them) starts
    at or after the split time. An ``agents`` row goes by its time, and the
    later part also begins with the agents row last before the split (the
    count that held then). Both parts are in time order, re-indexed from 0;
    either may be empty. The trainer's own split (C++
    ``beckon::SplitBySessionStart``) does the dividing."""
    given = [x is not None for x in (test_days, test_fraction, at_ms)]
    if sum(given) != 1:
        raise InvalidArgumentError(
            "time_split takes one of test_days, test_fraction or at_ms")
    if not 0 < float(session_timeout_s) <= 86400:
        raise InvalidArgumentError(
            f"session_timeout_s must be in (0, 86400], got {session_timeout_s}")
    if isinstance(events, (str, os.PathLike)):
        events = read_events(events, allow_small_epoch=allow_small_epoch)
    cols = _columns(events)
    arg = (tuple(cols), bool(allow_small_epoch))
    timeout_ms = int(round(float(session_timeout_s) * 1000))
    ts, visitor = cols[0], cols[1]
    on_visitor = np.asarray([v != "" for v in visitor], dtype=bool)
    split, last_days = 0, 0
    if at_ms is not None:
        split = int(at_ms)
    else:
        if not on_visitor.any():
            raise InvalidArgumentError("the log has no visitor events")
        if test_days is not None:
            if isinstance(test_days, bool) or int(test_days) != test_days \
                    or test_days < 1:
                raise InvalidArgumentError(
                    f"test_days must be a whole number >= 1, got {test_days!r}")
            # By the day the last session starts on (worked out in C++): a
            # session running past midnight does not make a day of its own.
            last_days = int(test_days)
        else:
            f = float(test_fraction)
            if not 0 < f < 1:
                raise InvalidArgumentError(
                    f"test_fraction must be in (0, 1), got {test_fraction!r}")
            t_min, t_max = int(ts[on_visitor].min()), int(ts[on_visitor].max())
            split = t_min + round((1 - f) * (t_max - t_min))
    earlier, later = _beckon.time_split(arg, split, last_days, timeout_ms)
    frame = events if hasattr(events, "iloc") else _pd().DataFrame(
        dict(zip(EVENT_COLUMNS, cols)))
    return (frame.iloc[earlier].reset_index(drop=True),
            frame.iloc[later].reset_index(drop=True))


def simulate(days: int = 7, *, seed: int = 1, visitors_per_day: int = 4000,
             path: Optional[PathLike] = None, shop: str = "default",
             widget_policy: Optional["PolicyLike"] = None,
             treatment_effects: bool = False,
             decision_log: Optional[PathLike] = None,
             **options: Any):
    """Simulates a shop's event log (docs/simulator.md) and returns it as a
    DataFrame, in time order. The same options give the same rows.

    `shop` is ``"default"`` (page groups of the built-in policy) or
    ``"varied"``: a shop whose groups the default URL rules do not match
    (checkout steps that behave unlike each other under one prefix, help
    pages under two prefixes, long-read product pages).

    Any other option of the simulator (``start_ms``, ``returning_share``,
    ``stuck_on_page_share``, ``give_up_share``, ``legacy_offer_share``,
    ``agents_staffed``, ...) may be given by name; an unknown name or a bad
    value raises :class:`InvalidArgumentError`. With `path`, the log is also
    written there as CSV. ``df.attrs["stats"]`` holds the simulator's
    ground-truth counts (stuck sessions, legacy offers and outcomes, ...).

    `widget_policy`: the shop's widget is this beckon policy instead of the
    legacy rule (docs/uplift.md): one engine decides as the replay does, its
    holdout kept; the log has no ``agents`` rows. `decision_log`: a path
    where the widget's decisions are written (JSON Lines, its visitor key in
    ``<path>.key``), for ``replay(..., decisions=, visitor_key_file=)``,
    whose ``metrics["lift"]`` then compares the offered and holdout arms.
    ``treatment_effects=True``: offers change purchases (sure things,
    persuadables, lost causes, sleeping dogs, drawn at each session's
    eligible moment); ``df.attrs["truth"]`` is a DataFrame of each such
    session's truth (visitor, session_start_ms, moment_ms, group, arm,
    type, purchase_if_offered, purchase_if_not, purchased, revenue).
    """
    opts = dict(options, days=days, seed=seed,
                visitors_per_day=visitors_per_day, shop=shop,
                treatment_effects=bool(treatment_effects))
    if widget_policy is not None:
        opts["widget_policy"] = _impl_of(widget_policy, "widget_policy")
    if decision_log is not None:
        opts["decision_log"] = os.fspath(decision_log)
    cols, stats, truth = _beckon.simulate(opts)
    df = _frame(cols)
    df.attrs["stats"] = dict(stats)
    if truth is not None:
        pd = _pd()
        df.attrs["truth"] = pd.DataFrame(truth, columns=list(TRUTH_COLUMNS))
    if path is not None:
        write_events(df, path)
    return df


# The columns of simulate(treatment_effects=True)'s df.attrs["truth"].
TRUTH_COLUMNS = ("visitor", "session_start_ms", "moment_ms", "group", "arm",
                 "type", "purchase_if_offered", "purchase_if_not",
                 "purchased", "revenue", "offered")


def _frame(cols):
    pd = _pd()
    ts, visitor, event, page, detail = cols
    return pd.DataFrame({"ts_ms": pd.Series(ts, dtype="int64"),
                         "visitor": pd.Series(visitor, dtype=object),
                         "event": pd.Series(event, dtype=object),
                         "page": pd.Series(page, dtype=object),
                         "detail": pd.Series(detail, dtype=object)},
                        columns=list(EVENT_COLUMNS))


def _strings(values) -> list:
    """A column as a list (the C++ side reads None and NaN as "", numbers
    as their text)."""
    if hasattr(values, "tolist"):
        values = values.tolist()
    elif not isinstance(values, list):
        values = list(values)
    return values


def _timestamps(values, name: str = "ts_ms") -> np.ndarray:
    """A column of millisecond timestamps as int64, refusing NaN/fractions."""
    dtype = getattr(values, "dtype", None)
    if dtype is not None and getattr(dtype, "na_value", None) is not None \
            and str(dtype) in ("Int8", "Int16", "Int32", "Int64", "UInt8",
                               "UInt16", "UInt32", "UInt64"):
        missing = np.asarray(values.isna() if hasattr(values, "isna")
                             else _pd().isna(values))
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise InvalidArgumentError(f"row {i}: {name} is missing")
        values = values.to_numpy(dtype="int64") if str(dtype) != "UInt64" \
            else values.to_numpy(dtype="uint64")
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidArgumentError(f"{name} must be one-dimensional, got "
                                   f"shape {arr.shape}")
    if arr.dtype.kind in "iu":
        if (arr.dtype.kind == "u" and arr.size
                and arr.max() > np.uint64(np.iinfo(np.int64).max)):
            raise InvalidArgumentError(f"{name} has a value beyond int64")
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.floor(arr))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidArgumentError(
                f"row {i}: {name} must be whole milliseconds, got {arr[i]!r}")
        return arr.astype(np.int64)
    if arr.size == 0:
        return arr.astype(np.int64)
    raise InvalidArgumentError(f"{name} must be integers, got dtype {arr.dtype}")


def _columns(events):
    """The five columns of an events DataFrame (or mapping of columns)."""
    missing = [c for c in EVENT_COLUMNS[:3] if c not in events]
    if missing:
        raise InvalidArgumentError(
            "events lack the column(s) " + ", ".join(missing) +
            " (expected " + ", ".join(EVENT_COLUMNS) + ")")
    n = len(events["ts_ms"])
    ts = _timestamps(events["ts_ms"])
    cols = [ts]
    for c in EVENT_COLUMNS[1:]:
        if c in events:
            cols.append(_strings(events[c]))
        else:
            cols.append([""] * n)
    return cols


def _events_arg(events, allow_small_epoch: bool = False):
    """(a path, read in C++, or the columns of a DataFrame; whether times
    below 10^11 ms, which look like epoch seconds, are accepted)."""
    if isinstance(events, (str, os.PathLike)):
        return (os.fspath(events), bool(allow_small_epoch))
    return (tuple(_columns(events)), bool(allow_small_epoch))


# --- The engine ---------------------------------------------------------------

class Engine(_beckon.Engine):
    """The decision engine, as production runs it.

    ::

        engine = beckon.Engine(policy)           # default: Policy.default()
        engine.observe(ts_ms, "v1", "page_view", "/checkout/shipping")
        d = engine.decide(ts_ms + 40_000, "v1")  # Decision: d.action, ...

    One call per event, as a row of the event log: ``observe(ts_ms, visitor,
    event, page, detail)``. :meth:`observe_batch` and :meth:`decide_batch`
    take whole columns (numpy arrays, lists or DataFrame columns), run in C++
    without the GIL, and return arrays. A rejected event raises
    :class:`InvalidArgumentError` and changes nothing.

    The visitor state lives in this process's memory, or with
    ``store="redis://..."`` in Redis, shared by every process and server
    whose engine uses the same Redis and key prefix (docs/operations.md).

    Thread-safe: calls may come from several threads. Engines pickle: an
    in-memory engine as its policy, its options and a snapshot of every
    visitor's state; a Redis engine as its policy and options only (the
    copy connects to the same Redis and shares the same visitors).
    """

    def __init__(self, policy: Optional[PolicyLike] = None, *,
                 max_sessions: int = 1_000_000,
                 max_memory_records: int = 4_000_000, shards: int = 64,
                 visitor_key: Optional[Sequence[int]] = None,
                 store: Optional[str] = None,
                 visitor_key_file: Optional[PathLike] = None,
                 max_url_bytes: int = 8192,
                 max_referrer_bytes: int = 8192,
                 decision_log: Optional[PathLike] = None,
                 event_log: Optional[PathLike] = None):
        """Creates an engine deciding by `policy` (a :class:`Policy` or the
        path of a policy file; default: the built-in default policy). Options are those of the C++ Engine::Options
        (docs/concepts.md); `visitor_key` is the 2 x 64-bit key of the hash
        that replaces visitor ids, which snapshots are tied to. Without
        `visitor_key` or `visitor_key_file` (a file holding the key, created
        0600 with a random key if absent) the engine uses this process's
        random key, or with Redis the fleet's key kept in Redis: a snapshot
        then restores into another process only with a configured key.

        `store` is where the visitor state lives: None (or "") for this
        process's memory, or a Redis URL,
        ``redis://[user[:password]@]host[:port][/db][?option=value&...]`` or
        ``unix:///path/redis.sock[?...]``, with the options ``prefix``,
        ``cluster``, ``db``, ``connect_timeout_ms``, ``command_timeout_ms``,
        ``max_conflict_retries``, ``backoff_min_ms``, ``backoff_max_ms``,
        ``user`` and ``password`` (docs/python.md). A bad URL raises
        :class:`InvalidArgumentError`; a Redis that cannot be reached does
        not (decisions are then ``suppress``, ``store_unavailable``, and
        events raise :class:`UnavailableError`, until it is back). With
        Redis, `max_sessions`, `max_memory_records` and `shards` do not
        apply.

        `max_url_bytes` and `max_referrer_bytes` (8192 each, >= 1) cap the
        page of a page_view or search and the referrer of a page_view: a
        longer one raises :class:`InvalidArgumentError` naming the field and
        both lengths, and changes nothing. Other events do not read the
        page and take it at any length, so a decline is never lost to a long
        URL.

        `decision_log`: a file every decision is appended to as a line of
        JSON (the decision log, docs/operations.md; read it back with
        :func:`read_decision_log`); `event_log`: a file every accepted event
        is appended to as a row of the event log (read it with
        :func:`read_events`): together, a production log to train on. A
        file that cannot be opened raises :class:`InvalidArgumentError`."""
        policy = (_policy_arg(policy) if policy is not None
                  else Policy.default())
        if store is not None and not isinstance(store, str):
            raise TypeError(f"store must be None or a Redis URL (a str), got "
                            f"{type(store).__name__}")
        store = store or None
        key = _beckon.DEFAULT_VISITOR_KEY if visitor_key is None else visitor_key
        key = tuple(int(k) for k in key)
        if len(key) != 2 or not all(0 <= k < 2**64 for k in key):
            raise InvalidArgumentError(
                f"visitor_key must be two integers in [0, 2**64), got {key}")
        for option, value, bits in (("max_sessions", max_sessions, 64),
                                    ("max_memory_records", max_memory_records, 64),
                                    ("shards", shards, 32),
                                    ("max_url_bytes", max_url_bytes, 32),
                                    ("max_referrer_bytes", max_referrer_bytes,
                                     32)):
            if not 1 <= int(value) < 2**bits:
                raise InvalidArgumentError(
                    f"{option} must be in [1, 2**{bits}), got {value}")
        key_file = os.fspath(visitor_key_file) if visitor_key_file else ""
        log = os.fspath(decision_log) if decision_log else ""
        events = os.fspath(event_log) if event_log else ""
        super().__init__(policy._impl, int(max_sessions),
                         int(max_memory_records), int(shards), key,
                         store or "", key_file, int(max_url_bytes),
                         int(max_referrer_bytes), log, events)
        # The key in use, not the one given: a pickled engine carries its
        # key (and its state) whole to another process.
        self._options = dict(max_sessions=int(max_sessions),
                             max_memory_records=int(max_memory_records),
                             shards=int(shards),
                             visitor_key=tuple(self._visitor_key()),
                             store=store,
                             max_url_bytes=int(max_url_bytes),
                             max_referrer_bytes=int(max_referrer_bytes))

    @property
    def policy(self) -> Policy:
        """The policy this engine decides by (the current one)."""
        return Policy(self._policy())

    def set_policy(self, policy: PolicyLike) -> None:
        """Replaces the live engine's policy (a Policy or a policy file's
        path), keeping every visitor's state
        (sessions mapped onto the new page groups by pattern), the decline
        memory, the counters and the rate window; other threads' calls go on
        meanwhile, each under the old or the new policy (decisions say which:
        ``Decision.policy_version``). Raises
        :class:`FailedPreconditionError`, changing nothing, if the new
        policy's session timeout or rate window differ from the engine's,
        or, with Redis, its page groups or path rules."""
        self._set_policy(_impl_of(policy))

    @property
    def store(self) -> Optional[str]:
        """The Redis URL the engine keeps its visitors in, or None for
        this process's memory."""
        return self._options["store"]

    def observe_batch(self, ts_ms, visitor, event, page=None, detail=None, *,
                      on_error: str = "raise") -> np.ndarray:
        """Observes many events, in the order given; returns a bool array
        (True: accepted).

        Columns as in :meth:`observe`; `events` DataFrame columns work as
        they are (``engine.observe_batch(*[df[c] for c in EVENT_COLUMNS])``
        or :meth:`observe_frame`). Every row is checked for format first: a
        malformed row raises :class:`InvalidArgumentError` naming its index
        before anything is observed. A row the engine rejects (its time is
        before the visitor's last event, ...) raises naming its index with
        ``on_error="raise"``: the rows before it have been observed, the rest
        not. With ``on_error="skip"`` such rows are skipped (False in the
        result) and the rest observed. Ctrl-C stops the batch with
        KeyboardInterrupt; the rows before it stay observed.
        """
        n = len(ts_ms)
        return self._observe_batch(
            _timestamps(ts_ms), _strings(visitor),
            _strings(event),
            _strings(page) if page is not None else [""] * n,
            _strings(detail) if detail is not None else [""] * n,
            _skip(on_error))

    def observe_frame(self, events, *, on_error: str = "raise") -> np.ndarray:
        """Observes the rows of an events DataFrame (EVENT_COLUMNS), in
        order; as :meth:`observe_batch`."""
        return self._observe_batch(*_columns(events), _skip(on_error))

    def decide_batch(self, ts_ms, visitor, *, on_error: str = "raise"):
        """Decides for many (time, visitor) pairs, in order, as many
        :meth:`decide` calls would (offers are recorded as made). Returns a
        DataFrame with columns action and reason (categoricals), probability,
        threshold, would_offer and recheck_at_ms (Int64, <NA> if none).
        With ``on_error="skip"`` a rejected row gets a missing action;
        with "raise" (default) it raises naming the row: the rows before it
        were decided (their offers are recorded in the engine) but their
        results are not returned, so prefer "skip" where rows may fail.
        Ctrl-C stops the batch (rows so far are kept in the engine)."""
        pd = _pd()
        action, reason, prob, thr, would, recheck = self._decide_batch(
            _timestamps(ts_ms), _strings(visitor), _skip(on_error))
        recheck = pd.array(recheck, dtype="Int64")
        recheck[np.asarray(recheck == -1, dtype=bool)] = pd.NA
        return pd.DataFrame({
            "action": pd.Categorical.from_codes(action, ACTIONS),
            "reason": pd.Categorical.from_codes(reason, REASONS),
            "probability": prob, "threshold": thr, "would_offer": would,
            "recheck_at_ms": recheck})

    def play_batch(self, ts_ms, visitor, event, page=None, detail=None, *,
                   decide=None, on_error: str = "raise"):
        """Plays events in order, each preceded, where `decide` says so, by
        a decision for its visitor at its time: what a host does that asks
        beckon on every request and then records the request. One call for
        the whole batch; exactly one :meth:`decide` and one :meth:`observe`
        per row in order would give the same decisions.

        Columns as in :meth:`observe_batch`. `decide`: a bool per row
        (default: every row with a visitor, that is all but ``agents``).
        Returns a DataFrame, one row per event: ``accepted`` (the event was
        observed), then the decision made before it (as
        :meth:`decide_batch`'s columns; missing where none was asked for or
        it was rejected). Every row's format is checked first (a malformed
        row raises naming its index, nothing played). With
        ``on_error="raise"`` a rejected decision or event raises naming its
        row (the rows before it were played); with "skip" it is skipped."""
        pd = _pd()
        n = len(ts_ms)
        visitors = _strings(visitor)
        events = _strings(event)
        if decide is None:
            decide = np.asarray([e != "agents" for e in events], dtype=bool)
        else:
            decide = np.asarray(decide, dtype=bool)
        accepted, action, reason, prob, thr, would, recheck = self._play_batch(
            _timestamps(ts_ms), visitors, events,
            _strings(page) if page is not None else [""] * n,
            _strings(detail) if detail is not None else [""] * n,
            decide, _skip(on_error))
        recheck = pd.array(recheck, dtype="Int64")
        recheck[np.asarray(recheck == -1, dtype=bool)] = pd.NA
        return pd.DataFrame({
            "accepted": accepted,
            "action": pd.Categorical.from_codes(action, ACTIONS),
            "reason": pd.Categorical.from_codes(reason, REASONS),
            "probability": prob, "threshold": thr, "would_offer": would,
            "recheck_at_ms": recheck})

    def play_frame(self, events, *, decide=None, on_error: str = "raise"):
        """:meth:`play_batch` on the rows of an events DataFrame
        (EVENT_COLUMNS)."""
        return self.play_batch(*[events[c] for c in EVENT_COLUMNS],
                               decide=decide, on_error=on_error)

    def stats(self) -> dict:
        """Counters: live sessions, memory records, sessions started,
        expired and evicted, memory_evicted and, of those, declines_evicted
        (ignore-only records go first, so it stays 0 unless declines alone
        outgrow the capacity), events observed and rejected, decisions by
        action and by reason (dicts keyed by name), and the store's
        store_errors, store_conflicts and store_round_trips (this engine's
        calls to Redis; 0 in memory). Over Redis, live_sessions and
        memory_records count the keys under the prefix by a scan; the
        other counters are this engine's own."""
        return self._stats()

    def metrics_text(self) -> str:
        """The stats, offers by page group and latency histograms of
        observe and decide (one call in 64 per thread timed), in the
        Prometheus text exposition format, for a /metrics endpoint
        (docs/operations.md lists the metrics)."""
        return self._metrics_text()

    def __reduce__(self):
        # A Redis engine's visitors are shared already: the copy reconnects
        # to them. Restoring a snapshot into it would replace the keys of
        # every process using that Redis, so none is taken.
        snapshot = self.snapshot() if self.store is None else None
        return (_engine_from_state,
                (self.policy.to_bytes(), self._options, snapshot))

    def __repr__(self) -> str:
        try:
            name = self.policy.name
        except FailedPreconditionError:  # Its __init__ failed.
            return "<beckon.Engine (not initialized)>"
        if self.store is not None:
            # No counts: over Redis they are a scan of every key.
            return f"<beckon.Engine policy={name!r} store=redis>"
        s = self._stats()
        return (f"<beckon.Engine policy={name!r} "
                f"live_sessions={s['live_sessions']} "
                f"events_observed={s['events_observed']}>")


def _engine_from_state(policy_bytes: bytes, options: dict,
                       snapshot: Optional[bytes]) -> Engine:
    engine = Engine(Policy.from_bytes(policy_bytes), **options)
    if snapshot is not None:
        engine.restore(snapshot)
    return engine


def _skip(on_error: str) -> bool:
    if on_error not in ("raise", "skip"):
        raise InvalidArgumentError(
            f"on_error must be 'raise' or 'skip', got {on_error!r}")
    return on_error == "skip"


# --- Training and replay --------------------------------------------------------

def train(events: Events, *, base: Optional[PolicyLike] = None,
          target_offer_rate: float = 0.05, offers_per_day: float = 0,
          offer_cap_headroom: float = 1.5, validation_fraction: float = 0.2,
          dwell_rule: str = "auto",
          dwell_quantile: float = 0.6, early_offers: str = "auto",
          split_groups: str = "no", l2: float = 1.0,
          labels: str = "help_contact",
          name: str = "beckon-trained", allow_small_epoch: bool = False,
          progress: Any = False, **options: Any) -> Policy:
    """Learns a policy from an event log (a DataFrame or a CSV path).

    The trainer of docs/trainer.md: page groups, per-group help rates and
    dwell thresholds, path rules, the logistic model over the engine's own
    features, and the decision threshold calibrated on the latest
    `validation_fraction` of the log (by time) to `target_offer_rate` of
    sessions, or to `offers_per_day` when that is > 0. The policy's
    offer-rate cap (``gates.max_offer_share``, reason ``offer_rate_cap``)
    is set to ``min(1, target x offer_cap_headroom)``; 0 keeps the base
    policy's.

    Waiting times are chosen by what they achieve: with ``dwell_rule="auto"``
    each timing rule (dwell quantiles 0.3-0.75 with and without the
    non-askers' floor, the separation rule; each with and without
    ``early_offers``, offers before a group's threshold when the model's
    evidence is strong) is fitted and calibrated, and the one with the most
    validation hits is kept. ``dwell_rule="quantile"`` or ``"separation"``
    and ``early_offers="no"`` or ``"yes"`` pin one rule. Every rule tried
    is in ``policy.training["timing_candidates"]``, a list of dicts (name,
    early_offers, chosen, hits, offer_rate, precision, recall,
    median_lead_s, validation_auc, error, flat_bar, other_bar_hits;
    ``pandas.DataFrame(...)`` makes it a table). ``flat_bar`` is True where
    the rule's policy keeps no raised bar for scarce agents
    (``scarce_agents``, default ``"auto"``: each rule is calibrated with
    the base's raise and without, and the one with more validation hits
    is kept; ``other_bar_hits`` is the other's, None if one was tried).

    Page groups follow the data: with ``split_groups="yes"`` a sub-template
    of a base group (``/checkout/payment`` under ``/checkout/*``) whose help
    rate or dwell differs from the rest of its group beyond noise
    (``min_split_z``, default 4) and by a ratio of at least 1.5 becomes a
    group of its own, with a URL rule the engine matches; with
    ``merge_groups="yes"`` automatic templates too thin for their own dwell
    threshold become one group per role (``"merged:category"``), each
    reported as a ``"merged"`` change. Each split and merge, and
    each group too thin for its own dwell threshold (``"pooled"`` with its
    role or the site), is in ``policy.training["group_changes"]`` (dicts:
    kind, pattern, from, views, from_views, help_rate, from_help_rate,
    contact_dwell_s, from_contact_dwell_s, normal_dwell_s,
    from_normal_dwell_s, reason). ``split_groups="auto"`` trains both ways
    and keeps the policy with more validation hits
    (``training["hits_with_splits"]``, ``training["hits_without_splits"]``).

    `labels` says what a positive outcome is: ``"help_contact"`` (the help
    contacts of the log), ``"offer_outcomes"`` (offers already made:
    ``offer_accepted`` against ``offer_declined``/``offer_ignored``, learned
    at the ``offer_shown`` moments, so the probability means "an offer made
    now would be accepted"; needs ``min_offer_outcomes``, default 100,
    answered offers in the training part) or ``"both"``. Every other
    trainer option (:data:`TRAIN_OPTIONS`: ``min_group_views``,
    ``max_groups``, ``min_path_lift``, the trust floors
    ``min_validation_auc``, ...) may be given by name, checked against its
    range or choices, and is recorded in the policy's provenance
    (``provenance.train_spec``).

    A model below a trust floor (validation AUC under 0.6, fewer than 100
    help sessions to learn from or 30 to validate on) is returned with a
    :class:`TrainingWarning` per floor (``warnings.warn``; also in
    ``policy.training["warnings"]`` and the policy's provenance).

    Deterministic: the same events and options give the same policy bytes.
    Releases the GIL; Ctrl-C stops it with KeyboardInterrupt. The returned
    policy's ``training`` attribute holds the training report. Times that
    look like epoch seconds raise, as in :func:`read_events`, unless
    ``allow_small_epoch=True``. ``progress=True`` prints each stage (the
    split, the groups, every timing rule tried, the calibration) on stderr
    with the time so far; a callable is given those lines instead.
    """
    reporter = _progress_of(progress, "beckon.train")
    if reporter is not None:
        options = dict(options, progress=reporter.message)
    opts = dict(options, target_offer_rate=target_offer_rate,
                offers_per_day=offers_per_day,
                offer_cap_headroom=offer_cap_headroom,
                validation_fraction=validation_fraction,
                dwell_rule=dwell_rule, dwell_quantile=dwell_quantile,
                early_offers=early_offers, split_groups=split_groups, l2=l2,
                labels=labels, name=name)
    base = base if base is not None else Policy.default()
    impl, report = _beckon.train(_events_arg(events, allow_small_epoch),
                                 _impl_of(base, "base"), opts)
    policy = Policy(impl)
    import json
    report = dict(report)
    report["validation"] = json.loads(report["validation"])
    report["warnings"] = list(report["warnings"])
    report["timing_candidates"] = [dict(c)
                                   for c in report["timing_candidates"]]
    report["group_changes"] = [dict(c) for c in report["group_changes"]]
    report["groups"] = _training_groups(policy, report)
    policy.training = report
    import warnings
    for w in report["warnings"]:
        warnings.warn(w, TrainingWarning, stacklevel=2)
    return policy


def train_uplift(policy: PolicyLike, events: Events, *,
                 decisions: Optional[PathLike] = None,
                 visitor_key: Optional[Sequence[int]] = None,
                 visitor_key_file: Optional[PathLike] = None,
                 target_offer_rate: float = 0.05, l2: float = 1.0,
                 name: str = "beckon-uplift", by_value: bool = False,
                 allow_small_epoch: bool = False) -> Policy:
    """Learns where an offer changes purchases (docs/uplift.md), as
    ``beckon train-uplift`` does: `events` is the log of `policy` run with its
    holdout kept, `decisions` its decision log (with `visitor_key` or
    `visitor_key_file`, the production engine's key). Fits the uplift of a
    purchase over the engine's features at each visitor's scored moment (the
    transformed outcome, each arm weighted by the inverse of its share) and
    returns `policy` with that model as ``model.uplift``, its floor set so
    that it offers to `target_offer_rate` of sessions. The report is in
    ``policy.training``: the arms, the weights, min_uplift, the offer rates,
    the in-sample Qini (area, random_sd, curve) and warnings (also raised as
    :class:`TrainingWarning`). ``by_value=True`` scores by the uplift times
    the order at stake (the cart, or the log's mean order while it is
    empty): min_uplift is then the expected added revenue."""
    key = (0, 0) if visitor_key is None else tuple(int(k) for k in visitor_key)
    if len(key) != 2 or not all(0 <= k < 2**64 for k in key):
        raise InvalidArgumentError(
            f"visitor_key must be two integers in [0, 2**64), got {key}")
    impl, report = _beckon.train_uplift(
        _impl_of(policy), _events_arg(events, allow_small_epoch),
        os.fspath(decisions) if decisions is not None else "", key,
        os.fspath(visitor_key_file) if visitor_key_file is not None else "",
        float(target_offer_rate), float(l2), str(name), bool(by_value))
    out = Policy(impl)
    report = dict(report)
    report["weights"] = dict(report["weights"])
    report["warnings"] = list(report["warnings"])
    out.training = report
    import warnings
    for w in report["warnings"]:
        warnings.warn(w, TrainingWarning, stacklevel=2)
    return out


#: The columns of :func:`evaluate`'s ``rows``.
OFF_POLICY_COLUMNS = ("visitor", "session_start_ms", "moment_ms",
                      "logged_offer", "propensity", "target_offer",
                      "supported", "purchased")


def evaluate(policy: PolicyLike, events: Events, *,
             logged_policy: PolicyLike,
             decisions: Optional[PathLike] = None,
             visitor_key: Optional[Sequence[int]] = None,
             visitor_key_file: Optional[PathLike] = None,
             allow_small_epoch: bool = False) -> dict:
    """Estimates off-policy what `policy`'s decisions would have given at the
    moments of `events`, the log of `logged_policy` run with its holdout
    kept (docs/uplift.md), as ``beckon evaluate`` does. Returns a dict:
    visitors, unsupported, matched, target_offer_share, min_propensity,
    effective_sample_size, supported and why (whether the log supports the
    estimate, and if not why not), logged_value, and ``ips``, ``snips`` and
    ``doubly_robust`` (each value, standard_error, ci_low, ci_high: the
    target's purchase rate); ``rows`` is a DataFrame of the logged visitors
    (columns :data:`OFF_POLICY_COLUMNS`)."""
    key = (0, 0) if visitor_key is None else tuple(int(k) for k in visitor_key)
    if len(key) != 2 or not all(0 <= k < 2**64 for k in key):
        raise InvalidArgumentError(
            f"visitor_key must be two integers in [0, 2**64), got {key}")
    out, rows = _beckon.evaluate(
        _impl_of(policy), _impl_of(logged_policy, "logged_policy"),
        _events_arg(events, allow_small_epoch),
        os.fspath(decisions) if decisions is not None else "", key,
        os.fspath(visitor_key_file) if visitor_key_file is not None else "")
    out = dict(out)
    for k in ("ips", "snips", "doubly_robust"):
        out[k] = dict(out[k])
    out["rows"] = _pd().DataFrame(rows, columns=list(OFF_POLICY_COLUMNS))
    return out


def _training_groups(policy: Policy, report: dict):
    """The training report's per-group figures, one row per page group of
    `policy` in policy order: what was learned (role, views, help_rate,
    dwell_threshold_s), how the group came to be (``change``: "split",
    "merged", "pooled", "split+pooled", "merged+pooled" or "";
    ``change_from``: the base group split, the templates merged into it, or
    the pool whose dwell threshold it took, "; "-separated) and the
    validation replay's counts on it
    (validation_sessions, validation_offers, validation_help_sessions,
    validation_hits, validation_precision, validation_recall)."""
    pd = _pd()
    frame = policy.groups
    kinds, froms = {}, {}
    for c in report["group_changes"]:  # A split group may be pooled too.
        if c["kind"] == "merged":  # On the merged group: what it took in.
            if "merged" not in kinds.setdefault(c["from"], []):
                kinds[c["from"]].insert(0, "merged")
            froms.setdefault(c["from"], []).append(c["pattern"])
            continue
        kinds.setdefault(c["pattern"], []).append(c["kind"])
        froms.setdefault(c["pattern"], []).append(c["from"])
    frame["change"] = ["+".join(kinds.get(p, [])) for p in frame["pattern"]]
    frame["change_from"] = ["; ".join(froms.get(p, []))
                            for p in frame["pattern"]]
    val = pd.DataFrame(report["validation"].get("groups", []),
                       columns=_REPLAY_GROUP_COLUMNS)
    val = val[["pattern", "sessions", "offers", "help_sessions", "hits",
               "precision", "recall"]].rename(
                   columns=lambda c: c if c == "pattern" else "validation_" + c)
    frame = frame.merge(val, on="pattern", how="left")
    counts = ["validation_sessions", "validation_offers",
              "validation_help_sessions", "validation_hits"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    rates = ["validation_precision", "validation_recall"]
    frame[rates] = frame[rates].fillna(0.0).astype("float64")
    return frame


_REPLAY_GROUP_COLUMNS = [
    "pattern", "sessions", "offered_sessions", "offers", "help_sessions",
    "hits", "precision", "recall", "offer_rate", "median_lead_s"]


_LIFT_OUTCOMES = ("purchase_rate", "contact_rate", "revenue_per_session")


class ReplayResult:
    """What :func:`replay` measured.

    ``metrics``: a dict with the keys of ``beckon replay --json``
    (docs/replay.md): sessions, offered_sessions, offers, help_sessions,
    hits, precision, recall, offer_rate, median_lead_s,
    offers_after_decline, offers_without_agents, events, decisions,
    rechecks, the first-offer timing keys and ``groups`` (a list of dicts).
    ``groups``: the per-group counts as a DataFrame.
    ``trace``: one row per decision (ts_ms, visitor, recheck, action,
    reason, probability, threshold, recheck_at_ms, reasons), or None when
    the replay ran with ``trace=False``.
    """

    __slots__ = ("metrics", "trace")

    def __init__(self, metrics: dict, trace=None):
        self.metrics = metrics
        self.trace = trace

    @property
    def groups(self):
        """Per page group counts (pattern and the counts of the metrics)."""
        return _pd().DataFrame(self.metrics.get("groups", []),
                               columns=_REPLAY_GROUP_COLUMNS)

    @property
    def lift(self):
        """The measured lift (docs/uplift.md) as a DataFrame: one row for
        all eligible visitors (group ``"(all)"``), then one per page group;
        columns group, offered_arm, offered, holdout_arm, and for each
        outcome (purchase_rate, contact_rate, revenue_per_session) its
        offered and holdout means, lift, ci_low and ci_high (NaN where too
        few visitors give no interval). None when the policy keeps no
        holdout. ``metrics["lift"]`` has the same figures as a dict."""
        lift = self.metrics.get("lift")
        if lift is None:
            return None
        rows = []
        for name, part in [("(all)", lift)] + [
                (g["pattern"], g) for g in lift["groups"]]:
            row = {"group": name, "offered_arm": part["offered_arm"],
                   "offered": part["offered"],
                   "holdout_arm": part["holdout_arm"]}
            for outcome in _LIFT_OUTCOMES:
                e = part[outcome]
                for key in ("offered", "holdout", "lift", "ci_low",
                            "ci_high"):
                    v = e[key]
                    row[f"{outcome}_{key}"] = float("nan") if v is None else v
            rows.append(row)
        return _pd().DataFrame(rows)

    def __repr__(self) -> str:
        m = self.metrics
        return (f"<beckon.ReplayResult sessions={m['sessions']} "
                f"offer_rate={m['offer_rate']:.4f} "
                f"precision={m['precision']:.4f} recall={m['recall']:.4f}>")


def replay(policy: PolicyLike, events: Events, *, trace: bool = True,
           load_state: Optional[PathLike] = None,
           save_state: Optional[PathLike] = None,
           decisions: Optional[PathLike] = None,
           visitor_key: Optional[Sequence[int]] = None,
           visitor_key_file: Optional[PathLike] = None,
           allow_small_epoch: bool = False,
           progress: Any = False) -> ReplayResult:
    """Replays `events` (a DataFrame or a CSV path; any order, sorted by
    time stably) through one engine deciding by `policy`, as beckon replay
    does (docs/replay.md), and returns a :class:`ReplayResult`.

    `load_state` and `save_state` are snapshot files carrying the visitor
    store (decline memory, sessions) from one day's replay to the next.
    `decisions`: production's decision log (``Engine(decision_log=...)``),
    compared with the replayed decisions at the same moments: the metrics
    get a ``production`` dict (docs/replay.md: decisions matched, same
    action, offers by both / production only / replay only, how production's
    offers were answered in the event log). The replay hashes the event
    log's visitor ids with `visitor_key` (or `visitor_key_file`), which must
    be the production engine's (given to its ``Engine(visitor_key=...)``).

    Releases the GIL; Ctrl-C stops it with KeyboardInterrupt.
    ``progress=True`` shows the share of events replayed on stderr (a
    callable is given the lines instead).
    """
    import json
    reporter = _progress_of(progress, "beckon.replay")
    key = (0, 0) if visitor_key is None else tuple(int(k) for k in visitor_key)
    if len(key) != 2 or not all(0 <= k < 2**64 for k in key):
        raise InvalidArgumentError(
            f"visitor_key must be two integers in [0, 2**64), got {key}")
    metrics_json, cols = _beckon.replay(
        _impl_of(policy), _events_arg(events, allow_small_epoch), bool(trace),
        os.fspath(load_state) if load_state is not None else "",
        os.fspath(save_state) if save_state is not None else "",
        os.fspath(decisions) if decisions is not None else "", key,
        os.fspath(visitor_key_file) if visitor_key_file is not None else "",
        reporter.count if reporter is not None else None)
    metrics = json.loads(metrics_json)
    frame = None
    if trace:
        pd = _pd()
        ts, visitor, recheck, action, reason, prob, thr, recheck_at, reasons = cols
        recheck_at = pd.array(recheck_at, dtype="Int64")
        recheck_at[np.asarray(recheck_at == -1, dtype=bool)] = pd.NA
        frame = pd.DataFrame({
            "ts_ms": pd.Series(ts, dtype="int64"),
            "visitor": pd.Series(visitor, dtype=object),
            "recheck": pd.Series(recheck, dtype=bool),
            "action": pd.Categorical.from_codes(action, ACTIONS),
            "reason": pd.Categorical.from_codes(reason, REASONS),
            "probability": prob, "threshold": thr,
            "recheck_at_ms": recheck_at,
            "reasons": pd.Series(reasons, dtype=object)})
    return ReplayResult(metrics, frame)


class OfferRateCurve:
    """What :func:`offer_rate_curve` measured (beckon/curve.h).

    ``points``: a DataFrame, one row per offer rate asked for:
    target_offer_rate, reachable, decision_threshold, offer_rate,
    precision, recall, median_lead_s, offered_sessions, hits, sessions (the
    policy at that threshold), and baseline_seconds, baseline_offer_rate,
    baseline_precision, baseline_recall (the fixed rule "offer once after T
    s" matched to the rate the policy reached).
    ``max_offer_rate``: the policy's offer rate at its lowest threshold,
    the most it can offer on the log. ``unoffered_by_reason``: at that
    threshold, the sessions never offered by the reason of their last
    decision ("dwell": the visitor left before the page's threshold).
    ``recall_area``, ``baseline_recall_area``: recall averaged over offer
    rates from 0 to the highest the policy reached.
    """

    __slots__ = ("points", "max_offer_rate", "unoffered_by_reason",
                 "recall_area", "baseline_recall_area")

    def __init__(self, d: dict):
        pd = _pd()
        rows = []
        for p in d["points"]:
            m, b = p["policy"], p["baseline"]
            rows.append({
                "target_offer_rate": p["target_offer_rate"],
                "reachable": bool(p["reachable"]),
                "decision_threshold": p["decision_threshold"],
                "offer_rate": m["offer_rate"], "precision": m["precision"],
                "recall": m["recall"], "median_lead_s": m["median_lead_s"],
                "offered_sessions": m["offered_sessions"], "hits": m["hits"],
                "sessions": m["sessions"],
                "baseline_seconds": p["baseline_seconds"],
                "baseline_offer_rate": b["offer_rate"],
                "baseline_precision": b["precision"],
                "baseline_recall": b["recall"]})
        self.points = pd.DataFrame(rows)
        self.max_offer_rate = d["max_offer_rate"]
        self.unoffered_by_reason = dict(d["unoffered_by_reason"])
        self.recall_area = d["recall_area"]
        self.baseline_recall_area = d["baseline_recall_area"]

    def __repr__(self) -> str:
        return (f"OfferRateCurve({len(self.points)} rates, max offer rate "
                f"{self.max_offer_rate:.4f}, recall area "
                f"{self.recall_area:.3f} vs baseline "
                f"{self.baseline_recall_area:.3f})")


#: The offer rates a curve is drawn at unless told (1, 2, 5, 10, 20%).
CURVE_RATES = (0.01, 0.02, 0.05, 0.10, 0.20)


def offer_rate_curve(policy: PolicyLike, events: Events,
                     rates: Optional[Iterable[float]] = None, *,
                     allow_small_epoch: bool = False) -> OfferRateCurve:
    """The policy and the fixed-rule baseline at each offer rate in `rates`
    (default :data:`CURVE_RATES`), as ``beckon compare`` sweeps them: which
    rates the policy cannot reach, and why (docs/replay.md). Replays the
    log about 45 times per rate; releases the GIL, Ctrl-C interrupts."""
    import json
    r = [float(x) for x in (CURVE_RATES if rates is None else rates)]
    if not r:
        raise InvalidArgumentError("rates must not be empty")
    return OfferRateCurve(json.loads(_beckon.offer_rate_curve(
        _impl_of(policy), _events_arg(events, allow_small_epoch), r)))


def sweep(policy: PolicyLike, events: Events,
          thresholds: Optional[Iterable[float]] = None, *,
          rates: Optional[Iterable[float]] = None,
          allow_small_epoch: bool = False):
    """Replays `policy` at each decision threshold and returns a DataFrame
    (threshold, offer_rate, precision, recall, median_lead_s, offers,
    offered_sessions, hits, sessions), one row per threshold, for plotting
    offer rate against precision and recall. Default thresholds: where the
    policy's scores are: the 5%, 10%, ..., 95% quantiles of the
    probabilities of its decisions on `events` (distinct values, rounded to
    6 digits). The events are parsed once; the GIL is released and Ctrl-C
    interrupts.

    With ``rates=[...]`` instead, sweeps by offer rate: the points of
    :func:`offer_rate_curve` (a threshold found for each rate, with whether
    it was reachable and the matched baseline)."""
    pd = _pd()
    if rates is not None:
        if thresholds is not None:
            raise InvalidArgumentError("give thresholds or rates, not both")
        return offer_rate_curve(policy, events, rates,
                                allow_small_epoch=allow_small_epoch).points
    if thresholds is None:
        trace = replay(policy, events,
                       allow_small_epoch=allow_small_epoch).trace
        probs = trace.probability.to_numpy()
        probs = probs[(probs > 0) & (probs < 1)]
        if probs.size == 0:
            raise InvalidArgumentError(
                "the policy scores no decision of this log above 0: give "
                "thresholds")
        q = np.unique(np.round(np.quantile(probs, np.linspace(0.05, 0.95, 19)),
                               6))
        thresholds = q[(q > 0) & (q < 1)]
    t = np.asarray(list(thresholds), dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise InvalidArgumentError(
            f"thresholds must be a non-empty list of numbers, got shape {t.shape}")
    cols = _beckon.sweep(_impl_of(policy),
                         _events_arg(events, allow_small_epoch), t)
    return pd.DataFrame(cols, columns=[
        "threshold", "offer_rate", "precision", "recall", "median_lead_s",
        "offers", "offered_sessions", "hits", "sessions"]).astype(
            {"offers": "int64", "offered_sessions": "int64",
             "hits": "int64", "sessions": "int64"})


def calibrate(policy: PolicyLike, events: Events, target_offer_rate: float, *,
              fixed_dwell: bool = False, allow_small_epoch: bool = False):
    """Tunes `policy`'s decision threshold so that replaying `events` offers
    to `target_offer_rate` of sessions (bisection; docs/replay.md). With
    ``fixed_dwell=True`` tunes the fixed-dwell baseline built on `policy`'s
    gates instead. Returns (tuned policy, setting, metrics dict), where the
    setting is the threshold, or the baseline's seconds."""
    import json
    impl, setting, metrics = _beckon.calibrate(
        _impl_of(policy), _events_arg(events, allow_small_epoch),
        float(target_offer_rate),
        bool(fixed_dwell))
    return Policy(impl), setting, json.loads(metrics)


# --- Model fitting --------------------------------------------------------------

class LogisticModel:
    """An L2-regularized logistic regression fitted by :func:`fit_logistic`
    (the trainer's own model fitting): ``bias``, ``weights`` (numpy array),
    ``iterations`` (Newton steps taken)."""

    __slots__ = ("bias", "weights", "iterations")

    def __init__(self, bias: float, weights: np.ndarray, iterations: int):
        self.bias = bias
        self.weights = weights
        self.iterations = iterations

    def decision_function(self, X) -> np.ndarray:
        """Log-odds for each row of X."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.weights.shape[0]:
            raise InvalidArgumentError(
                f"X must have shape (n, {self.weights.shape[0]}), got {X.shape}")
        return X @ self.weights + self.bias

    def predict_proba(self, X) -> np.ndarray:
        """The probability of label 1 for each row of X."""
        z = self.decision_function(X)
        return 1.0 / (1.0 + np.exp(-z))

    def __repr__(self) -> str:
        return (f"<beckon.LogisticModel {self.weights.shape[0]} features, "
                f"bias={self.bias:.4g}, iterations={self.iterations}>")


def fit_logistic(X, y, *, sample_weight=None, l2: float = 1.0,
                 max_iterations: int = 100,
                 tolerance: float = 1e-10) -> LogisticModel:
    """Fits L2-regularized logistic regression by Newton's method, the
    trainer's model fitting: minimizes the log-loss plus 0.5 * l2 * |w|^2
    (the bias is not penalized), the objective of scikit-learn's
    LogisticRegression with C = 1 / l2. X: (n, d) numbers; y: n labels, 0
    or 1. Rejects NaN, infinities and other labels with
    :class:`InvalidArgumentError`. Releases the GIL; Ctrl-C interrupts."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise InvalidArgumentError(f"X must be 2-dimensional, got shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise InvalidArgumentError(
            f"y must have one label per row of X ({X.shape[0]}), got shape {y.shape}")
    w = (np.ascontiguousarray(sample_weight, dtype=np.float64)
         if sample_weight is not None else np.zeros(0))
    bias, weights, iterations = _beckon.fit_logistic(
        X, y, w, float(l2), int(max_iterations), float(tolerance))
    return LogisticModel(bias, np.asarray(weights), iterations)


def roc_auc(scores, labels) -> float:
    """The area under the ROC curve of `scores` for 0/1 `labels` (ties count
    half; 0.5 if a class is empty)."""
    s = np.ascontiguousarray(scores, dtype=np.float64)
    l = np.ascontiguousarray(labels, dtype=np.float64)
    if s.shape != l.shape or s.ndim != 1:
        raise InvalidArgumentError(
            f"scores and labels must be 1-D of one length, got {s.shape} and {l.shape}")
    return _beckon.roc_auc(s, l)
