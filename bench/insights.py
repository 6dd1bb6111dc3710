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

import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, bench/ comes first on the path (bench/http.py would shadow http).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import psycopg  # noqa: E402

from bench.postgres_harness import (  # noqa: E402
    YEAR_START,
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

DATABASE = "irritants_bench_insights"


def fill(url: str, org: Org, count: int, seed: int) -> None:
    """Units, categories, two users, `count` irritants and events, about as many gap items."""
    rng = random.Random(seed)
    gap_rows: list[tuple[Any, ...]] = []
    events: list[tuple[int, str]] = []

    def irritants() -> Iterator[tuple[Any, ...]]:
        for logged in logged_irritants(rng, org, count):
            irritant_id, at, origin = logged.irritant_id, logged.at, logged.origin
            stamp = at.isoformat()
            events.append((irritant_id, stamp))
            # About one item per irritant; the event id is the irritant id.
            gap_rows.extend((irritant_id, irritant_id, stamp, *item)
                            for item in lacked_items(rng, org, logged, 0.75, 0.35))
            yield (irritant_id, logged.category + 1, "medium", "bench", origin,
                   org.parent[origin], "open", logged.requirements, logged.requirements, "[]",
                   "false", "[]", 0, 1, stamp, (at + timedelta(hours=72)).isoformat(), stamp, 1)

    with psycopg.connect(url) as connection:
        copy_org(connection, org, root_causes=[])
        copy_rows(connection, "irritant", "id, category_id, severity, description, "
                  "origin_unit_id, assignee_id, status, initial_requirements, requirements, "
                  "excluded, unroutable, gaps, escalation_level, occurrences, created_at, "
                  "due_at, updated_at, row_version", irritants())  # fmt: skip
        # One routing event per irritant, with the same id (its gap items point at it).
        copy_rows(connection, "irritant_event", "id, irritant_id, type, at, data", (
            (event_id, event_id, "routed", stamp, "{}") for event_id, stamp in events
        ))  # fmt: skip
        copy_rows(connection, "gap_item", "event_id, irritant_id, at, unit_key, kind, item_key, "
                  "required, \"limit\"", gap_rows)  # fmt: skip
        finish_fill(connection, ("unit", "category", "\"user\"", "irritant", "irritant_event",
                                 "gap_item"))
    print(f"filled: {len(org.rows):,} units, {count:,} irritants, {len(gap_rows):,} gap items")


def measure(url: str, org: Org, count: int) -> None:
    from irritants.extensions import db
    from irritants.models import User
    from irritants.services.insights import gaps_report, run_whatif

    with bench_app(url).app_context():
        director, lead = db.session.get(User, 1), db.session.get(User, 2)
        quarter = (datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
        report, _p95 = timed("gaps_report, director, one quarter",
                             lambda: gaps_report(actor=director, since=quarter[0],
                                                 until=quarter[1]), 20)  # fmt: skip
        items = sum(item["count"] for item in report["by_item"])
        print(f"    {len(report['by_unit']):,} units, {len(report['by_item'])} items, "
              f"{items:,} gap entries")  # fmt: skip
        timed("gaps_report, lead of one region (253 units), one quarter",
              lambda: gaps_report(actor=lead, since=quarter[0], until=quarter[1]), 20)
        timed("gaps_report, director, the whole year",
              lambda: gaps_report(actor=director), 5)
        days = 365 * 100_000 / count
        period = (YEAR_START, YEAR_START + timedelta(days=days))
        store = org.key[org.stores[1]]
        changes = [{"unit": store, "grant_tools": ["refund-terminal"],
                    "set_authorities": {"refund": 400}},
                   {"unit": org.key[org.parent[org.stores[1]] or 1],
                    "grant_tools": ["refund-terminal", "carrier-portal"],
                    "grant_competencies": ["delivery"]}]  # fmt: skip
        result, _p95 = timed(f"run_whatif, {days:.1f} days of irritants",
                             lambda: run_whatif(actor=director, changes=changes,
                                                since=period[0], until=period[1]), 5)  # fmt: skip
        print(f"    replayed {result['replayed']:,} ({result['distinct']:,} distinct), "
              f"changed {result['changed_assignee']:,}")  # fmt: skip


def main() -> None:
    args = argument_parser(__doc__, seed=7).parse_args()
    org = Org(hq_tools=["crm", "erp"])
    run(DATABASE, args, fill=lambda url: fill(url, org, args.irritants, args.seed),
        measure=lambda url: measure(url, org, args.irritants))


if __name__ == "__main__":
    main()
