#!/usr/bin/env python3
"""Derives a SYNTHETIC helpdesk export from a converted event log.

The shared real logs (NASA, e-shop; docs/real-logs.md) record no help
contacts, so there is nothing real to join with `beckon label`. This script
makes a plainly derived export by a fixed, documented rule, so the labelled
route (convert -> label -> train -> replay -> compare) can be run end to end
on real navigation. Its contacts are invented: figures measured with them
say how beckon behaves on real paths and timing with a known labelling rule,
not how real visitors ask for help.

  derive_helpdesk.py --kind nasa|eshop --events LOG --out EXPORT [--seed N]

Sessions are the visitor's events with no gap over 30 minutes. The rule,
per kind (the seed fixes every draw; the same input gives the same file):

nasa   A view of a help-like page -- its path holds "faq", starts with
       "/facts/", ends in "-info.html", or is the site search
       "/htbin/wais" -- on which the visitor stays >= 45 s (to their next
       event in the session; a session's last page has no known dwell and
       never qualifies) starts a chat with probability 0.8, at a time drawn
       uniformly between 30 s after the view and the visitor's next event.
       The first qualifying view of a session is the only one tried.
eshop  A session that comes back to a product it has already viewed (a
       back-and-forth comparison) at its 4th click or later starts a chat
       with probability 0.35 (drawn once, at the first such click), on its
       last page, 40 to 120 s after its last click: the visitor stops
       comparing and asks. (The e-shop's clicks are a synthetic 30 s apart:
       the rule is about paths; the delay only puts the contact after the
       last click, where a dwell can grow.)

Both kinds then add the export's usual noise, counted on stderr:
 - 2% of the contacts are exported twice (the same row again: `beckon
   label` counts and drops the duplicate);
 - per 100 contacts (at least one), one contact by a visitor id that is not in the log
   ("ext-<n>": a conversation started off the site: `beckon label` reports
   it unmatched).

Columns: visitor,start,channel,topic -- start in ISO 8601 UTC with
milliseconds ("1995-08-01T10:00:05.000Z"), channel always "chat", topic
"derived:<rule>".
"""

import argparse
import csv
import datetime
import random
import sys

SESSION_GAP_MS = 30 * 60 * 1000


def iso(ts_ms):
    t = datetime.datetime.fromtimestamp(ts_ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"


def sessions(path):
    """Yields each session as a list of (ts_ms, event, page), in time order."""
    by_visitor = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header != ["ts_ms", "visitor", "event", "page", "detail"]:
            sys.exit(f"{path}: not an event log (header {header})")
        for row in reader:
            if row[1]:
                by_visitor.setdefault(row[1], []).append(
                    (int(row[0]), row[2], row[3]))
    for visitor in sorted(by_visitor):
        rows = sorted(by_visitor[visitor], key=lambda r: r[0])
        current = [rows[0]]
        for r in rows[1:]:
            if r[0] - current[-1][0] > SESSION_GAP_MS:
                yield visitor, current
                current = []
            current.append(r)
        yield visitor, current


def nasa_help_page(page):
    path = page.split("?", 1)[0].lower()
    return ("faq" in path or path.startswith("/facts/") or
            path.endswith("-info.html") or path.startswith("/htbin/wais"))


def nasa_contact(rows, rng):
    for i in range(len(rows) - 1):
        ts, event, page = rows[i]
        if event not in ("page_view", "search") or not nasa_help_page(page):
            continue
        nxt = rows[i + 1][0]
        if nxt - ts < 45_000:
            continue
        if rng.random() >= 0.8:
            return None
        return rng.randint(ts + 30_000, nxt - 1), "nasa-help-page-dwell"
    return None


def eshop_contact(rows, rng):
    seen = set()
    for i, (ts, event, page) in enumerate(rows):
        if event != "page_view":
            continue
        if i >= 3 and page in seen:
            if rng.random() >= 0.35:
                return None
            return rows[-1][0] + rng.randint(40_000, 120_000), "eshop-revisit"
        seen.add(page)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kind", choices=["nasa", "eshop"], required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    rule = nasa_contact if a.kind == "nasa" else eshop_contact
    contacts = []
    n_sessions = 0
    for visitor, rows in sessions(a.events):
        n_sessions += 1
        c = rule(rows, rng)
        if c is not None:
            contacts.append((visitor, c[0], c[1]))
    derived = len(contacts)
    twice = [c for c in contacts if rng.random() < 0.02]
    outside = []
    if contacts:
        t0 = min(c[1] for c in contacts)
        t1 = max(c[1] for c in contacts)
        outside = [(f"ext-{n}", rng.randint(t0, t1), "derived:off-site")
                   for n in range(max(1, len(contacts) // 100))]
    rows = sorted(contacts + twice + outside, key=lambda c: (c[1], c[0]))
    with open(a.out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["visitor", "start", "channel", "topic"])
        for visitor, ts, topic in rows:
            if not topic.startswith("derived:"):
                topic = "derived:" + topic
            w.writerow([visitor, iso(ts), "chat", topic])
    print(f"derive_helpdesk: {n_sessions} sessions, {derived} derived "
          f"contacts, {len(twice)} exported twice, {len(outside)} off-site; "
          f"{len(rows)} rows in {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
