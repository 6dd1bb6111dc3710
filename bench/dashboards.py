"""Benchmark of the directors' pages' service calls on PostgreSQL (issue 6, "Scale").

    .venv/bin/python bench/dashboards.py [--irritants 1000000] [--seed 11] [--keep] [--reuse]

Creates a throw-away database (irritants_bench_dashboards), fills it with COPY (bulk
inserts, not the services) with a 10,021-unit retailer, a year of 1,000,000 irritants
in a realistic mix (70 % resolved, a third of those at their origin, 1 % unroutable,
escalations, root causes, occurrences), one or two routing events each with their
rank, about 1.3 gap items per irritant and a few grants, then prints p50/p95 of each
director page's service call over a quarter (about 250,000 irritants). Drops the
database at the end unless --keep. Figures only: these machines are noisy.

The rollups are counted once after the COPY (their triggers off meanwhile), and the
tables vacuumed as autovacuum would. Then it prints the whole pages too, through the
test client (view, service calls, template), signed in as the director.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, bench/ comes first on the path (bench/http.py would shadow http).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import psycopg  # noqa: E402

from bench.postgres_harness import (  # noqa: E402
    YEAR_START,
    Logged,
    Org,
    argument_parser,
    bench_app,
    copy_org,
    copy_rows,
    finish_fill,
    lacked_items,
    logged_irritants,
    run,
    timed,
)
from irritants.services import gap_rollup, locality_rollup  # noqa: E402

DATABASE = "irritants_bench_dashboards"
ROOT_CAUSES = ["process", "training", "tooling", "staffing", "supplier", "policy", "other"]


class History:
    """Irritants, events and gap items, generated together in logging order."""

    def __init__(self, org: Org, count: int, seed: int) -> None:
        self.org, self.count, self.rng = org, count, random.Random(seed)
        self.events: list[tuple[Any, ...]] = []
        self.gaps: list[tuple[Any, ...]] = []

    def irritants(self) -> Iterator[tuple[Any, ...]]:
        for logged in logged_irritants(self.rng, self.org, self.count):
            yield self._irritant(logged)

    def _irritant(self, logged: Logged) -> tuple[Any, ...]:
        rng, org = self.rng, self.org
        irritant_id, at, origin = logged.irritant_id, logged.at, logged.origin
        unroutable = rng.random() < 0.01
        local = not unroutable and rng.random() < 0.3
        area = org.parent[origin]
        assignee = 1 if unroutable else origin if local else (
            area if rng.random() < 0.5 else org.parent[area or 1])
        distance = org.depth[origin] if unroutable else (
            0 if local else org.depth[origin] - org.depth[assignee or 1])
        escalated = not local and rng.random() < 0.1
        status = "resolved" if rng.random() < 0.7 else rng.choice(("open", "in_progress"))
        resolved_at = (at + timedelta(hours=rng.randrange(1, 200))).isoformat() if (
            status == "resolved") else None
        stamp = at.isoformat()
        rank = "\\N" if unroutable else json.dumps([distance, distance, 0, org.key[assignee]])
        self.events.append((irritant_id, "routed", stamp, assignee, rank,
                            "true" if unroutable else "false"))
        if escalated:
            later = (at + timedelta(hours=30)).isoformat()
            self.events.append((irritant_id, "routed", later, assignee, rank,
                                "true" if unroutable else "false"))
        if not local:
            # About two items per routing.
            self.gaps.extend((irritant_id, stamp, *item)
                             for item in lacked_items(rng, org, logged, 1.0, 0.5))
        return (irritant_id, logged.category + 1, "medium", "bench", origin, assignee, status,
                logged.requirements, logged.requirements,
                json.dumps([org.key[area or 1]]) if escalated else "[]",
                "true" if unroutable else "false", "[]", 1 if escalated else 0,
                rng.choice((1, 1, 1, 2, 3)), stamp, (at + timedelta(hours=72)).isoformat(),
                stamp, resolved_at, rng.choice(ROOT_CAUSES) if resolved_at else None, 1, rank)


def fill(url: str, org: Org, count: int, seed: int) -> None:
    history = History(org, count, seed)
    with psycopg.connect(url) as connection:
        copy_org(connection, org, ROOT_CAUSES)
        # A bulk load: the locality rollup is counted once at the end, not row by row.
        for statement in [*locality_rollup.DISABLE, *gap_rollup.DISABLE]:
            connection.execute(statement)
        copy_rows(connection, "irritant", "id, category_id, severity, description, "
                  "origin_unit_id, assignee_id, status, initial_requirements, requirements, "
                  "excluded, unroutable, gaps, escalation_level, occurrences, created_at, "
                  "due_at, updated_at, resolved_at, root_cause, row_version, rank",
                  history.irritants())
        copy_rows(connection, "irritant_event", "irritant_id, type, at, assignee_id, rank, "
                  "unroutable, data", ((*event, "{}") for event in history.events))
        # Gap items point at the first routing event of their irritant.
        connection.execute("CREATE TEMP TABLE first_event AS SELECT irritant_id, min(id) AS id "
                           "FROM irritant_event GROUP BY irritant_id")
        connection.execute("CREATE UNIQUE INDEX ON first_event (irritant_id)")
        _copy_gaps(connection, history.gaps)
        _grants(connection, org)
        for statement in [*locality_rollup.REBUILD, *locality_rollup.ENABLE,
                          *gap_rollup.REBUILD, *gap_rollup.ENABLE]:
            connection.execute(statement)
        _unfolded_minute(connection)
        finish_fill(connection, ("locality_rollup", "gap_rollup", "gap_line", "gap_item_rollup",
                                 "unit", "category", "\"user\"",
                                 "irritant", "irritant_event",
                                 "gap_item", "audit_event"))
    print(f"filled: {len(org.rows):,} units, {count:,} irritants, {len(history.events):,} "
          f"routing events, {len(history.gaps):,} gap items "
          f"(and {UNFOLDED_GAP_ITEMS:,} more not folded yet)")


def _copy_gaps(connection: psycopg.Connection, gaps: list[tuple[Any, ...]]) -> None:
    connection.execute("CREATE TEMP TABLE gap_stage (irritant_id int, at timestamptz, "
                       "unit_key text, kind text, item_key text, required numeric, "
                       "\"limit\" numeric)")
    copy_rows(connection, "gap_stage", "irritant_id, at, unit_key, kind, item_key, required, "
              "\"limit\"", iter(gaps))
    connection.execute(
        "INSERT INTO gap_item (event_id, irritant_id, at, unit_key, kind, item_key, required, "
        "\"limit\") SELECT f.id, s.irritant_id, s.at, s.unit_key, s.kind, s.item_key, "
        "s.required, s.\"limit\" FROM gap_stage s JOIN first_event f USING (irritant_id) "
        "ORDER BY s.at")


UNFOLDED_GAP_ITEMS = 2_000


def _unfolded_minute(connection: psycopg.Connection) -> None:
    """A busy minute's gap items at the end of the quarter, written two at a time with
    the trigger on and not folded yet, as the ledger finds them between two folds."""
    recent = connection.execute(
        "SELECT event_id, irritant_id, at, unit_key, kind, item_key, required, \"limit\" "
        "FROM gap_item WHERE at < '2025-07-01' ORDER BY at DESC LIMIT %s",
        (UNFOLDED_GAP_ITEMS,)).fetchall()
    for start in range(0, len(recent), 2):
        connection.execute(
            "INSERT INTO gap_item (event_id, irritant_id, at, unit_key, kind, item_key, "
            "required, \"limit\") SELECT * FROM unnest(%s::int[], %s::int[], %s::timestamptz[], "
            "%s::text[], %s::text[], %s::text[], %s::numeric[], %s::numeric[])",
            [list(column) for column in zip(*recent[start:start + 2], strict=True)])


def _grants(connection: psycopg.Connection, org: Org) -> None:
    rows = []
    for number in range(30):
        store = org.stores[number * 97]
        at = YEAR_START + timedelta(days=120 + number * 3)
        data = {"reason": "bench", "granted": {"tools": ["refund-terminal"], "competencies": [],
                                               "authorities": {}},
                "before": {}, "after": {}, "org_version": 1}
        rows.append((at.isoformat(), 1, "grant", org.key[store], json.dumps(data)))
    copy_rows(connection, "audit_event", "at, actor_id, type, subject, data", iter(rows))


def measure(url: str, org: Org, runs: int) -> None:
    from irritants.extensions import db
    from irritants.models import User
    from irritants.services import dashboards
    from irritants.services.dashboards import Filters, Period

    with bench_app(url).app_context():
        director, lead = db.session.get(User, 1), db.session.get(User, 2)
        quarter = Period(datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
        now = datetime(2025, 7, 1, tzinfo=UTC)
        # The pages' default: the last 90 days up to now, which starts and ends mid-day.
        recent = Period(datetime(2025, 4, 3, 14, 25, tzinfo=UTC),
                        datetime(2025, 7, 2, 14, 25, tzinfo=UTC))
        region, area, store = (org.key[org.regions[3]], org.key[org.areas[7]],
                               org.key[org.stores[123]])
        print(f"quarter: {dashboards.count_logged(quarter):,} irritants logged")

        def call(label: str, function: Callable[[], Any]) -> Any:
            def fresh() -> Any:
                try:
                    return function()
                finally:
                    db.session.rollback()  # as a request ends: the next call starts afresh
            return timed(label, fresh, runs)

        results = [
            call("root_causes by root cause, director, quarter", lambda: dashboards.root_causes(
                actor=director, period=quarter, now=now)),
            call("root_causes by origin unit, director, quarter", lambda: dashboards.root_causes(
                actor=director, period=quarter, group_by="origin", now=now)),
            call("root_causes by assignee, one region, quarter", lambda: dashboards.root_causes(
                actor=director, period=quarter, group_by="assignee", subtree=region, now=now)),
            call("irritants_behind (unroutable, overdue first), quarter",
                 lambda: dashboards.irritants_behind(actor=director, period=quarter, now=now,
                                                     filters=Filters(status="unresolved"))),
            call("irritants_behind one store, quarter", lambda: dashboards.irritants_behind(
                actor=director, period=quarter, filters=Filters(origin=store), now=now)),
            call("locality per week, whole org, quarter", lambda: dashboards.locality(
                actor=director, period=quarter, now=now)),
            call("locality per week, whole org, 90 days to a mid-day now",
                 lambda: dashboards.locality(actor=director, period=recent, now=recent.until)),
            call("locality per week, one region, quarter", lambda: dashboards.locality(
                actor=director, period=quarter, subtree=region, now=now)),
            call("gap_ledger page 1, director, quarter vs previous", lambda: dashboards.gap_ledger(
                actor=director, period=quarter)),
            call("gap_ledger page 1, lead of one region, quarter", lambda: dashboards.gap_ledger(
                actor=lead, period=quarter)),
            call("gap_items_summary, director, quarter", lambda: dashboards.gap_items_summary(
                actor=director, period=quarter)),
            call("gap_ledger_with_summary (the page's one pass), director, quarter",
                 lambda: dashboards.gap_ledger_with_summary(actor=director, period=quarter)),
            call("gap_ledger_with_summary, director, 90 days to a mid-day now",
                 lambda: dashboards.gap_ledger_with_summary(actor=director, period=recent)),
            call("grants_with_effects, director, quarter",
                 lambda: dashboards.grants_with_effects(actor=director, period=quarter, now=now)),
            call("hr_view (25 + 25 rows, each replayed), director, quarter",
                 lambda: dashboards.hr_view(actor=director, period=quarter)),
            call("map: children of the root", lambda: dashboards.map_children(
                actor=director, unit="hq", period=quarter)),
            call("map: children of a region (13)", lambda: dashboards.map_children(
                actor=director, unit=region, period=quarter)),
            call("map: children of an area (20 stores)", lambda: dashboards.map_children(
                actor=director, unit=area, period=quarter)),
            call("map: search 'store 1.2.3'", lambda: dashboards.search_units(
                actor=director, text="store 1.2.3")),
        ]
        worst = max(p95 for _result, p95 in results)
        print(f"worst p95 of the service calls: {worst:.1f} ms")
    print("whole pages (the test client: the view, every service call, the template):")
    pages = _measure_pages(url, runs, region)
    print(f"worst p95 of the pages: {max(pages):.1f} ms")


# The pages a director opens, over the quarter the service calls measure (the pages'
# own dates are whole days: "until" is included).
QUARTER = "since=2025-04-01&until=2025-06-30"
PAGES = [
    ("page: root causes (dashboard)", f"/insights/?{QUARTER}"),
    ("page: root causes by origin", f"/insights/?{QUARTER}&group_by=origin"),
    ("page: irritants behind a figure", f"/insights/irritants?{QUARTER}&status=unresolved"),
    ("page: locality (with the grants' before and after)", f"/insights/locality?{QUARTER}"),
    ("page: gap ledger (with the items lacked most, grants)", f"/insights/gaps?{QUARTER}"),
    # The page's default period is the last 90 days: whole days, not whole months.
    ("page: gap ledger, 90 days from a 3rd of the month",
     "/insights/gaps?since=2025-04-03&until=2025-07-01"),
    ("page: HR skills and delegation", f"/insights/hr?{QUARTER}"),
    ("page: map", f"/insights/map?{QUARTER}"),
]


def _measure_pages(url: str, runs: int, region: str) -> list[float]:
    """p95 of each page through the test client, signed in as the director (user 1); no
    app context around the requests, so that each has its own, as in a server."""
    import time

    client = bench_app(url).test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:1"
        session["_fresh"] = True
        session["login_at"] = int(time.time())
    found = []
    for label, url in [*PAGES, ("page: locality of one region",
                                f"/insights/locality?{QUARTER}&subtree={region}")]:
        def get(url: str = url) -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        found.append(timed(label, get, runs)[1])
    return found


def main() -> None:
    parser = argument_parser(__doc__, seed=11)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    org = Org(hq_tools=["crm", "erp", "app-admin"])
    run(DATABASE, args, fill=lambda url: fill(url, org, args.irritants, args.seed),
        measure=lambda url: measure(url, org, args.runs))


if __name__ == "__main__":
    main()
