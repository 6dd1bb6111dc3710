"""Benchmark of the insights services on PostgreSQL: the gap ledger and the what-if.

    .venv/bin/python bench/insights.py [--irritants 1000000] [--seed 7] [--keep]

Creates a throw-away database (irritants_bench_insights), fills it by COPY with a
generated 10,000-unit retailer, a year of irritants (one routing event each) and
about a million gap items (generated, not routed one by one), then prints p50/p95
of gaps_report over a quarter (director, and a lead of one region) and of
run_whatif over about 100,000 irritants. Drops the database at the end unless
--keep. Figures only: these machines are noisy.
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
DATABASE = "irritants_bench_insights"
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
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
        self.rows: list[tuple[int, str, str, int | None, list[str], dict[str, Any], list[str]]] = []
        self.stores: list[int] = []
        self.parent: dict[int, int | None] = {}
        self.key: dict[int, str] = {}
        self.regions: list[int] = []
        hq = self.add("hq", None, ["billing", "delivery", "product", "service", "digital"],
                      {"gesture": None, "refund": None}, ["crm", "erp"])  # fmt: skip
        for zone_number in range(4):
            zone = self.add(f"zone-{zone_number}", hq, ["billing", "delivery", "product"],
                            {"gesture": 2000, "refund": 5000},
                            ["crm", "carrier-portal"])  # fmt: skip
            for region_number in range(10):
                region = self.add(f"region-{zone_number}-{region_number}", zone,
                                  ["product", "service", "billing"],
                                  {"gesture": 500, "refund": 800}, ["crm"])  # fmt: skip
                self.regions.append(region)
                self.add(f"bo-{zone_number}-{region_number}", region, ["billing", "delivery"],
                         {"gesture": 300, "refund": 500}, ["crm", "carrier-portal"])  # fmt: skip
                for area_number in range(12):
                    area = self.add(f"area-{zone_number}-{region_number}-{area_number}", region,
                                    ["product", "service"], {"gesture": 100, "refund": 200},
                                    ["pos"])  # fmt: skip
                    for store_number in range(20):
                        tools = ["pos", "refund-terminal"] if store_number % 3 == 0 else ["pos"]
                        store = self.add(
                            f"store-{zone_number}-{region_number}-{area_number}-{store_number}",
                            area, ["product", "service"], {"gesture": 50, "refund": 150}, tools,
                        )
                        self.stores.append(store)

    def add(self, key: str, parent: int | None, competencies: list[str],
            authorities: dict[str, Any], tools: list[str]) -> int:  # fmt: skip
        unit_id = len(self.rows) + 1
        self.rows.append((unit_id, key, key, parent, competencies, authorities, tools))
        self.parent[unit_id] = parent
        self.key[unit_id] = key
        return unit_id


def copy_text(values: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    """COPY text rows (no value here needs escaping beyond None)."""
    for row in values:
        yield "\t".join("\\N" if value is None else str(value) for value in row) + "\n"


def copy_rows(connection: psycopg.Connection, table: str, columns: str,
              rows: Iterator[tuple[Any, ...]]) -> None:  # fmt: skip
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for number, line in enumerate(copy_text(rows), 1):
            buffer.write(line)
            if number % 50_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def fill(url: str, org: Org, count: int, seed: int) -> None:
    """Units, categories, two users, `count` irritants and events, about as many gap items."""
    rng = random.Random(seed)
    weights = [category[4] for category in CATEGORIES]
    now = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    with psycopg.connect(url) as connection:
        copy_rows(connection, "unit", "id, key, name, parent_id, competencies, authorities, "
                  "tools, created_at", (
                      (unit_id, key, name, parent, json.dumps(competencies),
                       json.dumps(authorities), json.dumps(tools), now)
                      for unit_id, key, name, parent, competencies, authorities, tools in org.rows
                  ))  # fmt: skip
        copy_rows(connection, "category", "id, key, label_fr, label_en, competency, authority, "
                  "tools, sla_hours, root_causes, active", (
                      (number, key, key, key, competency, authority, json.dumps(tools), "{}",
                       "[]", "true")
                      for number, (key, competency, authority, tools, _) in enumerate(
                          CATEGORIES, 1)
                  ))  # fmt: skip
        copy_rows(connection, "\"user\"", "id, email, name, role, unit_id, active, "
                  "session_version, created_at", iter([
                      (1, "director@bench", "Director", "director", 1, "true", 1, now),
                      (2, "lead@bench", "Lead", "lead", org.regions[0], "true", 1, now),
                  ]))  # fmt: skip
        connection.execute("INSERT INTO org_state (id, version) VALUES (1, 1)")

        gap_rows: list[tuple[Any, ...]] = []
        events: list[tuple[int, str]] = []

        def irritants() -> Iterator[tuple[Any, ...]]:
            seconds = 365 * 86400
            # Logged in time order, as in production: ids and heap follow created_at.
            times = sorted(rng.randrange(seconds) for _ in range(count))
            for irritant_id in range(1, count + 1):
                category = rng.choices(range(len(CATEGORIES)), weights)[0]
                key, competency, authority, tools, _ = CATEGORIES[category]
                amount = rng.choice((0, 20, 45, 80, 120, 180, 250, 400, 900))
                requirements = json.dumps({
                    "competencies": [competency],
                    "authorities": {authority: amount} if authority else {},
                    "tools": tools,
                })  # fmt: skip
                at = YEAR_START + timedelta(seconds=times[irritant_id - 1])
                origin = rng.choice(org.stores)
                stamp = at.isoformat()
                events.append((irritant_id, stamp))
                gap_rows.extend(_gaps(rng, org, irritant_id, origin, stamp, competency,
                                      authority, amount, tools))  # fmt: skip
                yield (irritant_id, category + 1, "medium", "bench", origin,
                       org.parent[origin], "open", requirements, requirements, "[]", "false",
                       "[]", 0, 1, stamp, (at + timedelta(hours=72)).isoformat(), stamp, 1)

        copy_rows(connection, "irritant", "id, category_id, severity, description, "
                  "origin_unit_id, assignee_id, status, initial_requirements, requirements, "
                  "excluded, unroutable, gaps, escalation_level, occurrences, created_at, "
                  "due_at, updated_at, row_version", irritants())  # fmt: skip
        # One routing event per irritant, with the same id (its gap items point at it).
        copy_rows(connection, "irritant_event", "id, irritant_id, type, at, data", (
            (event_id, event_id, "routed", stamp, "{}") for event_id, stamp in events
        ))  # fmt: skip
        copy_rows(connection, "gap_item", "event_id, irritant_id, at, unit_key, kind, item_key, "
                  "required, \"limit\"", iter(gap_rows))  # fmt: skip
        for table in ("unit", "category", "\"user\"", "irritant", "irritant_event", "gap_item"):
            # Constant table names, not input.
            connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                               f"(SELECT max(id) FROM {table}))")  # fmt: skip
            connection.execute(f"ANALYZE {table}")
        connection.commit()
    print(f"filled: {len(org.rows):,} units, {count:,} irritants, {len(gap_rows):,} gap items")


def _gaps(rng: random.Random, org: Org, irritant_id: int, origin: int, stamp: str,
          competency: str, authority: str | None, amount: int,
          tools: list[str]) -> list[tuple[Any, ...]]:  # fmt: skip
    """What the store, and sometimes its area, lacked: about one item per irritant."""
    items: list[tuple[Any, ...]] = []
    for unit, chance in ((origin, 0.75), (org.parent[origin], 0.35)):
        if unit is None or rng.random() >= chance:
            break
        if tools and rng.random() < 0.6:
            items.append((irritant_id, irritant_id, stamp, org.key[unit], "tool",
                          rng.choice(tools), None, None))  # fmt: skip
        elif authority and amount > 50:
            items.append((irritant_id, irritant_id, stamp, org.key[unit], "authority",
                          authority, amount, 50))  # fmt: skip
        else:
            items.append((irritant_id, irritant_id, stamp, org.key[unit], "competency",
                          rng.choice((competency, "delivery", "billing")), None, None))
    return items


def timed(label: str, call: Callable[[], Any], runs: int) -> Any:
    """Run `call` once to warm up, then `runs` times; print p50 and p95 in milliseconds."""
    result = call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
    print(f"{label:<58} p50 {statistics.median(samples):8.1f} ms   p95 {p95:8.1f} ms")
    return result


def measure(url: str, org: Org, count: int) -> None:
    from config import TestConfig
    from irritants import create_app
    from irritants.extensions import db
    from irritants.models import User
    from irritants.services.insights import gap_ledger, gaps_report, run_whatif

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url.replace(
        "postgresql://", "postgresql+psycopg://"))  # fmt: skip
    with app.app_context():
        director, lead = db.session.get(User, 1), db.session.get(User, 2)
        quarter = (datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
        report = timed("gaps_report, director, one quarter",
                       lambda: gaps_report(actor=director, since=quarter[0], until=quarter[1]),
                       20)  # fmt: skip
        items = sum(item["count"] for item in report["by_item"])
        print(f"    {len(report['by_unit']):,} units, {len(report['by_item'])} items, "
              f"{items:,} gap entries")  # fmt: skip
        timed("gaps_report, lead of one region (253 units), one quarter",
              lambda: gaps_report(actor=lead, since=quarter[0], until=quarter[1]), 20)
        timed("gaps_report, director, the whole year",
              lambda: gaps_report(actor=director), 5)
        timed("gap_ledger, director, one quarter against the previous one",
              lambda: gap_ledger(actor=director, since=quarter[0], until=quarter[1]), 10)
        days = 365 * 100_000 / count
        period = (YEAR_START, YEAR_START + timedelta(days=days))
        store = org.key[org.stores[1]]
        changes = [{"unit": store, "grant_tools": ["refund-terminal"],
                    "set_authorities": {"refund": 400}},
                   {"unit": org.key[org.parent[org.stores[1]] or 1],
                    "grant_tools": ["refund-terminal", "carrier-portal"],
                    "grant_competencies": ["delivery"]}]  # fmt: skip
        result = timed(f"run_whatif, {days:.1f} days of irritants",
                       lambda: run_whatif(actor=director, changes=changes, since=period[0],
                                          until=period[1]), 5)  # fmt: skip
        print(f"    replayed {result['replayed']:,} ({result['distinct']:,} distinct), "
              f"changed {result['changed_assignee']:,}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--irritants", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database")
    args = parser.parse_args()
    base = PG_ADMIN.rsplit("/", 1)[0]
    url = f"{base}/{DATABASE}"
    org = Org()
    if not args.reuse:
        _recreate(url)
        started = time.perf_counter()
        fill(url, org, args.irritants, args.seed)
        print(f"fill: {time.perf_counter() - started:.1f} s")
    try:
        measure(url, org, args.irritants)
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
