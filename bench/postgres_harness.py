"""What the PostgreSQL benchmarks share: a generated retailer and year of irritants, COPY,
p50/p95 timing and a throw-away database (bench/dashboards.py, bench/insights.py).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import psycopg
from flask import Flask

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
# (key, competency, authority, tools, share)
CATEGORIES = [
    ("faulty-product", "product", "refund", ["refund-terminal"], 0.35),
    ("late-delivery", "delivery", "gesture", ["carrier-portal"], 0.25),
    ("billing-error", "billing", "refund", ["crm"], 0.15),
    ("unwelcoming", "service", None, [], 0.15),
    ("app-crash", "digital", None, ["app-admin"], 0.10),
]
AMOUNTS = (0, 20, 45, 80, 120, 180, 250, 400, 900)


class Org:
    """hq > 4 zones > 10 regions each (a back-office and 12 areas) > 20 stores per area."""

    def __init__(self, hq_tools: list[str]) -> None:
        self.rows: list[tuple[int, str, str, int | None, list[str], dict[str, Any], list[str]]] = []
        self.stores: list[int] = []
        self.parent: dict[int, int | None] = {}
        self.key: dict[int, str] = {}
        self.depth: dict[int, int] = {}
        self.regions: list[int] = []
        self.areas: list[int] = []
        hq = self.add("hq", "Head office", None, ["billing", "delivery", "product", "service",
                                                   "digital"],
                      {"gesture": None, "refund": None}, hq_tools)
        for zone_number in range(4):
            zone = self.add(f"zone-{zone_number}", f"Zone {zone_number}", hq,
                            ["billing", "delivery", "product"],
                            {"gesture": 2000, "refund": 5000}, ["crm", "carrier-portal"])
            for region_number in range(10):
                self._add_region(zone, zone_number, region_number)

    def _add_region(self, zone: int, zone_number: int, region_number: int) -> None:
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
            number = f"{zone_number}.{region_number}.{area_number}"
            area = self.add(f"area-{zone_number}-{region_number}-{area_number}",
                            f"Area {number}", region, ["product", "service"],
                            {"gesture": 100, "refund": 200}, ["pos"])
            self.areas.append(area)
            for store_number in range(20):
                tools = ["pos", "refund-terminal"] if store_number % 3 == 0 else ["pos"]
                self.stores.append(self.add(
                    f"store-{zone_number}-{region_number}-{area_number}-{store_number}",
                    f"Store {number}.{store_number}", area, ["product", "service"],
                    {"gesture": 50, "refund": 150}, tools))

    def add(self, key: str, name: str, parent: int | None, competencies: list[str],
            authorities: dict[str, Any], tools: list[str]) -> int:
        unit_id = len(self.rows) + 1
        self.rows.append((unit_id, key, name, parent, competencies, authorities, tools))
        self.parent[unit_id] = parent
        self.key[unit_id] = key
        self.depth[unit_id] = 0 if parent is None else self.depth[parent] + 1
        return unit_id


class Logged(NamedTuple):
    """One generated irritant as it was logged: what it needs, at which store, when."""

    irritant_id: int
    category: int  # index in CATEGORIES
    requirements: str  # JSON
    at: datetime
    origin: int
    competency: str
    authority: str | None
    amount: int
    tools: list[str]


def logged_irritants(rng: random.Random, org: Org, count: int) -> Iterator[Logged]:
    """`count` irritants over the year at random stores, in the CATEGORIES mix."""
    weights = [category[4] for category in CATEGORIES]
    # Logged in time order, as in production: ids and heap follow created_at.
    times = sorted(rng.randrange(365 * 86400) for _ in range(count))
    for irritant_id, offset in enumerate(times, 1):
        category = rng.choices(range(len(CATEGORIES)), weights)[0]
        _key, competency, authority, tools, _share = CATEGORIES[category]
        amount = rng.choice(AMOUNTS)
        requirements = json.dumps({
            "competencies": [competency],
            "authorities": {authority: amount} if authority else {},
            "tools": tools})
        at = YEAR_START + timedelta(seconds=offset)
        yield Logged(irritant_id, category, requirements, at, rng.choice(org.stores),
                     competency, authority, amount, tools)


def lacked_items(rng: random.Random, org: Org, logged: Logged, store_chance: float,
                 area_chance: float) -> list[tuple[Any, ...]]:
    """What the store, and sometimes its area, lacked: (unit_key, kind, item_key, required,
    limit) rows."""
    items: list[tuple[Any, ...]] = []
    for unit, chance in ((logged.origin, store_chance), (org.parent[logged.origin], area_chance)):
        if unit is None or rng.random() >= chance:
            break
        if logged.tools and rng.random() < 0.6:
            item = ("tool", rng.choice(logged.tools), None, None)
        elif logged.authority and logged.amount > 50:
            item = ("authority", logged.authority, logged.amount, 50)
        else:
            item = ("competency", rng.choice((logged.competency, "delivery", "billing")), None,
                    None)
        items.append((org.key[unit], *item))
    return items


def copy_rows(connection: psycopg.Connection, table: str, columns: str,
              rows: Iterable[tuple[Any, ...]]) -> int:
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


def copy_org(connection: psycopg.Connection, org: Org, root_causes: list[str]) -> None:
    """Units, categories, a director at hq (user 1), a lead of the first region (user 2)."""
    now = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    copy_rows(connection, "unit", "id, key, name, parent_id, competencies, authorities, "
              "tools, created_at", (
                  (unit_id, key, name, parent, json.dumps(competencies),
                   json.dumps(authorities), json.dumps(tools), now)
                  for unit_id, key, name, parent, competencies, authorities, tools
                  in org.rows))
    causes = json.dumps([{"key": key, "fr": key, "en": key} for key in root_causes])
    copy_rows(connection, "category", "id, key, label_fr, label_en, competency, authority, "
              "tools, sla_hours, root_causes, active", (
                  (number, key, key, key, competency, authority, json.dumps(tools), "{}",
                   causes, "true")
                  for number, (key, competency, authority, tools, _) in enumerate(
                      CATEGORIES, 1)))
    copy_rows(connection, "\"user\"", "id, email, name, role, unit_id, active, "
              "session_version, created_at", [
                  (1, "director@bench", "Director", "director", 1, "true", 1, now),
                  (2, "lead@bench", "Lead", "lead", org.regions[0], "true", 1, now)])
    connection.execute("INSERT INTO org_state (id, version) VALUES (1, 1)")


def finish_fill(connection: psycopg.Connection, tables: tuple[str, ...]) -> None:
    """Move the id sequences past the copied ids, commit, then vacuum and analyse the
    tables, as autovacuum does to a database in service (index-only scans need it)."""
    with_ids = {name for (name,) in connection.execute(
        "SELECT table_name FROM information_schema.columns WHERE column_name = 'id' "
        "AND table_schema = current_schema()")}
    for table in tables:
        if table.strip('"') not in with_ids:
            continue  # keyed by its line (gap_line): no sequence to move
        # Constant table names, not input.
        connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT max(id) FROM {table}))")
    connection.commit()
    connection.autocommit = True
    for table in tables:
        connection.execute(f"VACUUM ANALYZE {table}")


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


def bench_app(url: str) -> Flask:
    """The app (TestConfig) on the benchmark database, its org snapshot frozen out of the
    garbage collector's way as in every other configuration (the suite alone leaves it
    unfrozen: a new org every test); unfrozen, a full collection of the 10,000-unit org
    costs ~100 ms, which would land in some request's time."""
    from config import TestConfig
    from irritants import create_app

    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=_sqlalchemy_url(url),
                      FREEZE_ORG_SNAPSHOT=True)


def argument_parser(description: str, seed: int) -> argparse.ArgumentParser:
    """--irritants, --seed, --keep and --reuse; a benchmark adds its own options."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--irritants", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database")
    return parser


def run(database: str, args: argparse.Namespace, fill: Callable[[str], None],
        measure: Callable[[str], None]) -> None:
    """Create and fill `database` (unless --reuse), measure it, drop it (unless --keep)."""
    url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{database}"
    if not args.reuse:
        _recreate(url, database)
        started = time.perf_counter()
        fill(url)
        print(f"fill: {time.perf_counter() - started:.1f} s")
    try:
        measure(url)
    finally:
        if not args.keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _recreate(url: str, database: str) -> None:
    from sqlalchemy import create_engine

    from irritants.extensions import db

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {database}")
    import irritants.models  # noqa: F401  (the tables)

    engine = create_engine(_sqlalchemy_url(url))
    db.metadata.create_all(engine)
    engine.dispose()


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://")
