#!/usr/bin/python3
"""How precise can a policy on these signals be? A research probe for
docs/trainer.md ("How far a model on these signals can go"), not part of
the library or its tests.

Simulates the varied shop (seven days), builds decision points from the log
itself (every view at 0, 3, 6, ... 180 s of dwell while the visitor is still
there, labelled by a help contact later in the session; after a session's last
event only its arrival, as the replay decides), fits several models on
days 1-6 and replays day 7 as a first-crossing policy: a session is offered
at its first point whose score reaches a threshold set so that 5% of day
7's sessions are offered, and only while an agent is free; then once more
with the sessions the engine could not offer to closed (after an offer of
the shop's legacy widget, whose one offer fills the session cap, and for a
5% stand-in holdout of visitors); then in hindsight, each session at its
best-scoring moment, the top 5% of sessions by that score (a bound on
what any rule for when to offer could do with the score).

Needs scikit-learn (Debian: python3-sklearn) and beckon's Python package:
  PYTHONPATH=build/python /usr/bin/python3 scripts/probe_precision_bound.py [SEED]
"""
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

import beckon

OFFSETS_S = [0, 3, 6, 10, 15, 20, 30, 45, 60, 90, 120, 180]
SEARCH_ENGINES = ("google.", "bing.com", "duckduckgo")
FEATURES = ["dwell", "pages", "zero", "searches", "helphits", "cart",
            "checkout", "se", "loops"]


def group(page):
    path = page.split("?")[0]
    if path.startswith(("/checkout/", "/help/", "/service/")):
        return path
    parts = path.split("/")
    return "/" + parts[1] if len(parts) > 1 else path


def role(g):
    return "help" if g.startswith(("/help", "/service")) else g


def points(ev):
    """One row per decision point, before the session's first contact."""
    ev = ev[ev.event != "agents"].sort_values(["visitor", "ts_ms"],
                                              kind="stable")
    gap = ev.groupby("visitor").ts_ms.diff()
    ev = ev.assign(sess=((gap.isna()) | (gap > 1800e3)).cumsum())
    rows = []
    for s, d in ev.groupby("sess", sort=False):
        shown = d.ts_ms[d.event == "offer_shown"]
        # The shop's legacy widget offered: the engine's session cap (one
        # offer) then closes the session to it.
        closed_at = shown.iloc[0] if len(shown) else None
        d = d[d.event != "offer_shown"]
        contacts = d.ts_ms[d.event == "help_contact"]
        help_ts = contacts.iloc[0] if len(contacts) else None
        st = dict(pages=0, zero=0, searches=0, helphits=0, cart=0.0,
                  checkout=0, prev="", se=0, loops=0)
        seen = []
        evs = d.to_dict("records")
        for i, e in enumerate(evs):
            if help_ts is not None and e["ts_ms"] >= help_ts:
                break
            if e["event"] == "cart":
                st["cart"] += float(e["detail"] or 0)
            if e["event"] not in ("page_view", "search"):
                continue
            g = "/search" if e["event"] == "search" else group(e["page"])
            if st["pages"] == 0:
                st["se"] = int(any(x in str(e["detail"])
                                   for x in SEARCH_ENGINES))
            st["pages"] += 1
            if e["event"] == "search":
                st["searches"] += 1
                st["zero"] += str(e["detail"]) == "0"
            st["helphits"] += g.startswith(("/help", "/service"))
            st["checkout"] |= g.startswith("/checkout")
            st["loops"] += g in seen[-4:-1]
            seen.append(g)
            nxt = evs[i + 1]["ts_ms"] if i + 1 < len(evs) else None
            context = f"{st['se']}>{role(st['prev'])}>{role(g)}"
            for o in OFFSETS_S:
                t = e["ts_ms"] + o * 1000
                # Until the visitor's next event; after the session's last
                # one only on arrival (the replay makes no decision while
                # a visitor reads the page they leave from: it cannot know
                # they are still there).
                if (nxt is not None and t >= nxt) or (nxt is None and o > 0):
                    break
                closed = int(closed_at is not None and closed_at <= t)
                rows.append((s, e["visitor"], closed, e["ts_ms"], t, o,
                             st["pages"], st["zero"],
                             st["searches"], st["helphits"],
                             np.log1p(st["cart"]), st["checkout"], st["se"],
                             st["loops"], context,
                             int(help_ts is not None and help_ts > t)))
            st["prev"] = g
    return pd.DataFrame(rows, columns=["sess", "visitor", "closed", "view_ts",
                                       "t"] + FEATURES +
                        ["context", "y"])


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    ev = beckon.simulate(7, seed=seed, shop="varied")
    start = ev.ts_ms.min() // 86_400_000 * 86_400_000
    agents = ev[ev.event == "agents"]
    agents_t = agents.ts_ms.to_numpy()
    agents_n = agents.detail.astype(int).to_numpy()
    x = points(ev)
    x["day"] = (x.view_ts - start) // 86_400_000 + 1
    train, test = x[x.day <= 6].copy(), x[x.day == 7].copy()
    # The context feature: the shrunk log-lift of (entry, previous role,
    # this role) over the training points, 0 below the site's rate.
    rate = train.y.mean()
    counts = train.groupby("context").y.agg(["sum", "count"])
    lift = np.log((counts["sum"] + 20 * rate) / (counts["count"] + 20) / rate)
    # This page's and the previous page's role as categories.
    roles = sorted({r for c in train.context for r in c.split(">")[1:]})
    for part in (train, test):
        part["context_lift"] = part.context.map(lift).fillna(0).clip(lower=0)
        for k, name in ((1, "prev_role"), (2, "role")):
            part[name] = pd.Categorical(
                [c.split(">")[k] for c in part.context],
                categories=roles).codes
    i = np.searchsorted(agents_t, test.t.to_numpy(), side="right") - 1
    test["agents"] = np.where(i >= 0, agents_n[np.maximum(i, 0)], 0)
    # A stand-in for the engine's holdout: 5% of visitors, by a hash.
    test["held_out"] = pd.util.hash_pandas_object(
        test.visitor, index=False).to_numpy() % 20 == 0
    sessions = test.sess.nunique()
    budget = int(0.05 * sessions)

    def open_points(score, closures):
        ok = test.agents > 0
        if closures:
            ok &= (test.closed == 0) & ~test.held_out
        return test.assign(s=score)[ok]

    def first_crossing(score, closures):
        open_ = open_points(score, closures)
        best = open_.groupby("sess").s.max()
        lo, hi = 0.0, 1.0
        for _ in range(50):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if (best >= mid).sum() > budget else (lo, mid)
        return open_[open_.s >= hi].sort_values("t").groupby("sess").head(1)

    def hindsight(score):
        # Each session at its highest-scoring moment, the top 5% of
        # sessions by it: no rule for when to offer can pick better
        # moments for this score.
        open_ = open_points(score, False)
        best = open_.sort_values("s", ascending=False).groupby("sess").head(1)
        return best.nlargest(budget, "s")

    print(f"seed {seed}: {budget} offers are 5% of day 7's sessions")
    print(f"{'':58s} first crossing | with closures   | best moment in hindsight")

    def replay(name, score):
        cells = [first_crossing(score, False), first_crossing(score, True),
                 hindsight(score)]
        print(f"{name:58s} " + " | ".join(
            f"{c.y.mean():.3f} ({len(c):3d})" for c in cells), flush=True)

    def linear(part, extra=()):
        m = part[FEATURES + list(extra)].astype(float).copy()
        m["pages"] = np.log1p(m.pages)
        m["dwell"] = np.minimum(m.dwell, 240) / 60
        return m.to_numpy()

    for name, extra in [("logistic, the features", ()),
                        ("logistic + context lift", ("context_lift",))]:
        m = LogisticRegression(max_iter=3000).fit(linear(train, extra),
                                                  train.y)
        replay(name, m.predict_proba(linear(test, extra))[:, 1])
    for name, cols, additive, categorical in [
            ("boosted trees, the features", FEATURES, False, False),
            ("boosted trees, additive", FEATURES, True, False),
            ("boosted trees, additive + context lift",
             FEATURES + ["context_lift"], True, False),
            ("boosted trees + context lift + this and previous role",
             FEATURES + ["context_lift", "prev_role", "role"], False, True)]:
        kw = {"interaction_cst": [[j] for j in range(len(cols))]} \
            if additive else {}
        if categorical:
            kw["categorical_features"] = [len(cols) - 2, len(cols) - 1]
        m = HistGradientBoostingClassifier(max_iter=300, random_state=0, **kw)
        m.fit(train[cols].to_numpy(), train.y)
        replay(name, m.predict_proba(test[cols].to_numpy())[:, 1])


if __name__ == "__main__":
    main()
