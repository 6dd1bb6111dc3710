"""Benchmark of the directors' pages' service calls on PostgreSQL (issue 6, "Scale").

    .venv/bin/python bench/dashboards.py [--irritants 1000000] [--seed 11] [--keep] [--reuse]

Creates a throw-away database (irritants_bench_dashboards), fills it with COPY (bulk
inserts, not the services) with a 10,021-unit retailer, a year of 1,000,000 irritants
in a realistic mix (70 % resolved, a third of those at their origin, 1 % unroutable,
escalations, root causes, occurrences), one or two routing events each with their
rank, about 1.3 gap items per irritant and a few grants, then prints p50/p95 of each
director page's service call over a quarter (about 250,000 irritants). Drops the
database at the end unless --keep. Figures only: these machines are noisy.

Indexes relied on (irritants/models.py, no rollup table): ix_irritant_created and
ix_irritant_origin_created (period and subtree filters of root causes, locality and
the map), ix_gap_item_at and ix_gap_item_unit_at (the ledger, the HR view, the map's
top lack), ix_audit_at (grants), ix_irritant_queue (resolved per assignee on the map).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, bench/ comes first on the path (bench/http.py would shadow http).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import psycopg  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = "irritants_bench_dashboards"
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
ROOT_CAUSES = ["process", "training", "tooling", "staffing", "supplier", "policy", "other"]
# (key, competency, authority, tools, share)
CATEGORIES = [
    ("faulty-product", "product", "refund", ["refund-terminal"], 0.35),
    ("late-delivery", "delivery", "gesture", ["carrier-portal"], 0.25),
    ("billing-error", "billing", "refund", ["crm"], 0.15),
    ("unwelcoming", "service", None, [], 0.15),
    ("app-crash", "digital", None, ["app-admin"], 0.10),
]


class Org:
    """hq > 4 zones > 10 regions each (a back-office and 12 areas) > 20 stores per area."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.stores: list[int] = []
        self.parent: dict[int, int | None] = {}
        self.key: dict[int, str] = {}
        self.depth: dict[int, int] = {}
        self.regions: list[int] = []
        self.areas: list[int] = []
        hq = self.add("hq", "Head office", None, ["billing", "delivery", "product", "service",
                                                   "digital"],
                      {"gesture": None, "refund": None}, ["crm", "erp", "app-admin"])
        for zone_number in range(4):
            zone = self.add(f"zone-{zone_number}", f"Zone {zone_number}", hq,
                            ["billing", "delivery", "product"],
                            {"gesture": 2000, "refund": 5000}, ["crm", "carrier-portal"])
            for region_number in range(10):
                region = self.add(f"region-{zone_number}-{region_number}",
                                  f"Region {zone_number}.{region_number}", zone,
                                  ["product", "service", "billing"],
                                  {"gesture": 500, "refund": 800}, ["crm"])
                self.regions.append(region)
                self.add(f"bo-{zone_number}-{region_number}",
                         f"Back-office {zone_number}.{region_number}", region,
                         ["billing", "delivery"], {"gesture": 300, "refund": 500},
                         ["crm", "carrier-portal"])
                for area_number in range(12):
                    area = self.add(f"area-{zone_number}-{region_number}-{area_number}",
                                    f"Area {zone_number}.{region_number}.{area_number}",
                                    region, ["product", "service"],
                                    {"gesture": 100, "refund": 200}, ["pos"])
                    self.areas.append(area)
                    for store_number in range(20):
                        tools = ["pos", "refund-terminal"] if store_number % 3 == 0 else ["pos"]
                        self.stores.append(self.add(
                            f"store-{zone_number}-{region_number}-{area_number}-{store_number}",
                            f"Store {zone_number}.{region_number}.{area_number}.{store_number}",
                            area, ["product", "service"], {"gesture": 50, "refund": 150},
                            tools))

    def add(self, key: str, name: str, parent: int | None, competencies: list[str],
            authorities: dict[str, Any], tools: list[str]) -> int:
        unit_id = len(self.rows) + 1
        self.rows.append((unit_id, key, name, parent, competencies, authorities, tools))
        self.parent[unit_id] = parent
        self.key[unit_id] = key
        self.depth[unit_id] = 0 if parent is None else self.depth[parent] + 1
        return unit_id


def copy_rows(connection: psycopg.Connection, table: str, columns: str,
              rows: Iterator[tuple[Any, ...]]) -> int:
    """COPY text rows (no value here needs escaping beyond None); returns the count."""
    count = 0
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join("\\N" if value is None else str(value) for value in row))
            buffer.write("\n")
            count += 1
            if count % 50_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    return count


class History:
    """Irritants, events and gap items, generated together in logging order."""

    def __init__(self, org: Org, count: int, seed: int) -> None:
        self.org, self.count, self.rng = org, count, random.Random(seed)
        self.events: list[tuple[Any, ...]] = []
        self.gaps: list[tuple[Any, ...]] = []

    def irritants(self) -> Iterator[tuple[Any, ...]]:
        rng, org = self.rng, self.org
        weights = [category[4] for category in CATEGORIES]
        times = sorted(rng.randrange(365 * 86400) for _ in range(self.count))
        for irritant_id, offset in enumerate(times, 1):
            category = rng.choices(range(len(CATEGORIES)), weights)[0]
            _key, competency, authority, tools, _share = CATEGORIES[category]
            amount = rng.choice((0, 20, 45, 80, 120, 180, 250, 400, 900))
            requirements = json.dumps({
                "competencies": [competency],
                "authorities": {authority: amount} if authority else {},
                "tools": tools})
            at = YEAR_START + timedelta(seconds=offset)
            origin = rng.choice(org.stores)
            yield self._irritant(irritant_id, category, requirements, at, origin, competency,
                                 authority, amount, tools)

    def _irritant(self, irritant_id: int, category: int, requirements: str, at: datetime,
                  origin: int, competency: str, authority: str | None, amount: int,
                  tools: list[str]) -> tuple[Any, ...]:
        rng, org = self.rng, self.org
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
            self._gaps(irritant_id, origin, stamp, competency, authority, amount, tools)
        return (irritant_id, category + 1, "medium", "bench", origin, assignee, status,
                requirements, requirements,
                json.dumps([org.key[area or 1]]) if escalated else "[]",
                "true" if unroutable else "false", "[]", 1 if escalated else 0,
                rng.choice((1, 1, 1, 2, 3)), stamp, (at + timedelta(hours=72)).isoformat(),
                stamp, resolved_at, rng.choice(ROOT_CAUSES) if resolved_at else None, 1, rank)

    def _gaps(self, irritant_id: int, origin: int, stamp: str, competency: str,
              authority: str | None, amount: int, tools: list[str]) -> None:
        """What the store, and sometimes its area, lacked: about two items per routing."""
        rng, org = self.rng, self.org
        for unit, chance in ((origin, 1.0), (org.parent[origin], 0.5)):
            if unit is None or rng.random() >= chance:
                break
            if tools and rng.random() < 0.6:
                item = ("tool", rng.choice(tools), None, None)
            elif authority and amount > 50:
                item = ("authority", authority, amount, 50)
            else:
                item = ("competency", rng.choice((competency, "delivery", "billing")), None,
                        None)
            self.gaps.append((irritant_id, stamp, org.key[unit], *item))


def fill(url: str, org: Org, count: int, seed: int) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    history = History(org, count, seed)
    with psycopg.connect(url) as connection:
        copy_rows(connection, "unit", "id, key, name, parent_id, competencies, authorities, "
                  "tools, created_at", (
                      (unit_id, key, name, parent, json.dumps(competencies),
                       json.dumps(authorities), json.dumps(tools), now)
                      for unit_id, key, name, parent, competencies, authorities, tools
                      in org.rows))
        causes = json.dumps([{"key": key, "fr": key, "en": key} for key in ROOT_CAUSES])
        copy_rows(connection, "category", "id, key, label_fr, label_en, competency, authority, "
                  "tools, sla_hours, root_causes, active", (
                      (number, key, key, key, competency, authority, json.dumps(tools), "{}",
                       causes, "true")
                      for number, (key, competency, authority, tools, _) in enumerate(
                          CATEGORIES, 1)))
        copy_rows(connection, "\"user\"", "id, email, name, role, unit_id, active, "
                  "session_version, created_at", iter([
                      (1, "director@bench", "Director", "director", 1, "true", 1, now),
                      (2, "lead@bench", "Lead", "lead", org.regions[0], "true", 1, now)]))
        connection.execute("INSERT INTO org_state (id, version) VALUES (1, 1)")
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
        for table in ("unit", "category", "\"user\"", "irritant", "irritant_event", "gap_item",
                      "audit_event"):
            # Constant table names, not input.
            connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                               f"(SELECT max(id) FROM {table}))")
            connection.execute(f"ANALYZE {table}")
        connection.commit()
    print(f"filled: {len(org.rows):,} units, {count:,} irritants, {len(history.events):,} "
          f"routing events, {len(history.gaps):,} gap items")


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


def timed(label: str, call: Callable[[], Any], runs: int) -> tuple[Any, float]:
    """Run `call` once to warm up, then `runs` times; print p50 and p95 in milliseconds."""
    result = call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
    print(f"{label:<64} p50 {statistics.median(samples):8.1f} ms   p95 {p95:8.1f} ms",
          flush=True)
    return result, p95


def measure(url: str, org: Org, runs: int) -> None:
    from config import TestConfig
    from irritants import create_app
    from irritants.extensions import db
    from irritants.models import User
    from irritants.services import dashboards
    from irritants.services.dashboards import Filters, Period

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url.replace(
        "postgresql://", "postgresql+psycopg://"))
    with app.app_context():
        director, lead = db.session.get(User, 1), db.session.get(User, 2)
        quarter = Period(datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
        now = datetime(2025, 7, 1, tzinfo=UTC)
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
            call("locality per week, one region, quarter", lambda: dashboards.locality(
                actor=director, period=quarter, subtree=region, now=now)),
            call("gap_ledger page 1, director, quarter vs previous", lambda: dashboards.gap_ledger(
                actor=director, period=quarter)),
            call("gap_ledger page 1, lead of one region, quarter", lambda: dashboards.gap_ledger(
                actor=lead, period=quarter)),
            call("gap_items_summary, director, quarter", lambda: dashboards.gap_items_summary(
                actor=director, period=quarter)),
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
        print(f"worst p95: {worst:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--irritants", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database")
    args = parser.parse_args()
    url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{DATABASE}"
    org = Org()
    if not args.reuse:
        _recreate(url)
        started = time.perf_counter()
        fill(url, org, args.irritants, args.seed)
        print(f"fill: {time.perf_counter() - started:.1f} s")
    try:
        measure(url, org, args.runs)
    finally:
        if not args.keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def _recreate(url: str) -> None:
    from sqlalchemy import create_engine

    from irritants.extensions import db

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    import irritants.models  # noqa: F401  (the tables)

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    db.metadata.create_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
