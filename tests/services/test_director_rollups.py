"""The directors' rollups (PostgreSQL) give the figures a count of the rows gives.

A random history over three months (loggings from every unit, resolutions, manual
and SLA escalations, reassignments, needs no unit meets) and then moves of
subtrees; after each step, the locality figures read from locality_rollup must
equal those counted from the irritants, and the gap ledger, the items lacked most
and the training plan read from gap_rollup must equal a count of the gap items,
for every subtree, time step and for periods that start and end at midnight, in
the middle of a day, on a month or not. Folding must change no figure.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from irritants.extensions import db as _db
from irritants.models import GapItem, GapLine, GapRollup, LocalityRollup
from irritants.services import dashboards, folding, gap_rollup, locality_rollup
from irritants.services.dashboards import Period, common, locality_figures
from irritants.services.escalation import escalate_irritant, reassign_irritant, sweep_overdue
from irritants.services.intake import log_irritant
from irritants.services.org_edit import create_unit, move_unit
from irritants.services.resolution import resolve_irritant
from irritants.services.snapshot import cached_org

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="the rollup's triggers are PostgreSQL's")

T0 = datetime(2025, 1, 20, 9, 30, tzinfo=UTC)
SPAN_HOURS = 100 * 24
CATEGORIES = ["faulty-product", "late-delivery", "billing-error", "rude-service", "app-bug"]
PERIODS = [
    Period(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)),  # months
    Period(T0 - timedelta(hours=5), T0 + timedelta(days=60, hours=7)),  # mid-day, mid-month
    Period(datetime(2025, 1, 25, tzinfo=UTC), datetime(2025, 3, 14, tzinfo=UTC)),
    Period(T0 + timedelta(days=30, hours=1), T0 + timedelta(days=30, hours=20)),  # one day
    # The previous period starts and ends in the middle of days that saw gaps.
    Period(T0 + timedelta(days=40, hours=3), T0 + timedelta(days=75, hours=15)),
]


def random_history(user: Any, rng: random.Random, count: int = 60) -> None:
    units = sorted(cached_org().id_of)
    director = user("director")
    for number in range(count):
        when = T0 + timedelta(hours=rng.randrange(0, SPAN_HOURS))
        irritant = log_irritant(director, category=rng.choice(CATEGORIES), severity="medium",
                                description=f"case {number}", origin_unit=rng.choice(units),
                                amount=rng.choice([None, 40, 80, 500]), now=when)
        later = when + timedelta(hours=rng.randrange(1, 48))
        action = rng.random()
        if action < 0.3:
            resolve_irritant(irritant.id, actor=director, resolution="done",
                             root_cause="process", now=later)
        elif action < 0.45:
            escalate_irritant(irritant.id, actor=director, reason="cannot", now=later)
        elif action < 0.55:
            escalate_irritant(irritant.id, actor=director, reason="needs zeta",
                              needs={"competencies": ["zeta"]}, now=later)
        elif action < 0.65:
            elsewhere = [unit for unit in units if unit != assignee_key(irritant)]
            reassign_irritant(irritant.id, actor=director, unit=rng.choice(elsewhere),
                              reason="busy", now=later)
        elif action < 0.75:
            escalate_irritant(irritant.id, actor=director, reason="cannot", now=later)
            resolve_irritant(irritant.id, actor=director, resolution="done upstairs",
                             root_cause="tooling", now=later + timedelta(hours=1))
    sweep_overdue(T0 + timedelta(days=40))


def assignee_key(irritant: Any) -> str:
    return cached_org().key_of[irritant.assignee_id]


def assert_rollup_agrees(director: Any) -> None:
    org = cached_org()
    for subtree in sorted(org.id_of):
        for period in PERIODS:
            for bucket in dashboards.BUCKETS:
                rolled = locality_figures._rolled_up_locality(org, subtree, period, bucket)
                counted = locality_figures._counted_locality(org, subtree, period, bucket)
                assert figures(rolled) == figures(counted), (subtree, period, bucket)
    whole = dashboards.locality(actor=director, period=PERIODS[0])
    assert whole["total"]["logged"] > 0


def counted_lines(period: Period, keys: set[str] | None = None) -> dict[tuple[str, str, str],
                                                                         list[Any]]:
    """(unit, kind, item) -> [count, highest amount asked, highest limit], from the gap items."""
    lines: dict[tuple[str, str, str], list[Any]] = {}
    for item in _db.session.scalars(sa.select(GapItem)):
        at = item.at if item.at.tzinfo else item.at.replace(tzinfo=UTC)
        if not period.since <= at < period.until or (keys is not None
                                                     and item.unit_key not in keys):
            continue
        line = lines.setdefault((item.unit_key, item.kind, item.item_key), [0, None, None])
        line[0] += 1
        for index, amount in ((1, item.required), (2, item.limit)):
            if amount is not None and (line[index] is None or amount > line[index]):
                line[index] = amount
    return lines


def per_item(lines: dict[tuple[str, str, str], list[Any]]) -> dict[tuple[str, str], int]:
    """(kind, item) -> how often it was lacked, every unit of the lines together."""
    counts: dict[tuple[str, str], int] = {}
    for (_unit, kind, key), (count, _required, _limit) in lines.items():
        counts[kind, key] = counts.get((kind, key), 0) + count
    return counts


def assert_gap_rollup_agrees(director: Any) -> None:
    org = cached_org()
    for subtree in (org.snapshot.root, "north", "lille"):
        keys = set(org.snapshot.subtree(subtree))
        for period in PERIODS:
            expected = counted_lines(period, keys)
            before = counted_lines(period.previous, keys)
            ledger = dashboards.gap_ledger(actor=director, period=period, subtree=subtree,
                                           per_page=500)
            assert ledger.total == len(expected), (subtree, period)
            assert {(row["unit"], row["kind"], row["key"]): [
                row["count"], row["previous"], row["max_required"], row["limit_recorded"]]
                for row in ledger.rows} == {
                line: [count, before.get(line, [0])[0], common._number(required),
                       common._number(limit)]
                for line, (count, required, limit) in expected.items()}, (subtree, period)
            summary = dashboards.gap_items_summary(actor=director, period=period,
                                                   subtree=subtree, limit=100)
            previous_per_item = per_item(before)
            assert {(row["kind"], row["key"]): (row["count"], row["previous"])
                    for row in summary} == {
                item: (count, previous_per_item.get(item, 0))
                for item, count in per_item(expected).items()}, (subtree, period)
            table, first_items = dashboards.gap_ledger_with_summary(
                actor=director, period=period, subtree=subtree, per_page=500,
                summary_limit=100)
            assert (table.rows, table.total) == (ledger.rows, ledger.total)
            assert first_items == summary
            hr = dashboards.hr_view(actor=director, period=period, subtree=subtree,
                                    per_page=500)
            for table, kind in ((hr["training"], "competency"), (hr["delegation"], "authority")):
                assert {(row["unit"], row["key"]): row["count"] for row in table.rows} == {
                    (unit, key): count for (unit, line_kind, key), (count, _r, _l)
                    in expected.items() if line_kind == kind}
            assert {(row["unit"], row["key"]): row["max_required"]
                    for row in hr["delegation"].rows} == {
                (unit, key): common._number(required) for (unit, kind, key), (_c, required, _l)
                in expected.items() if kind == "authority"}


def figures(locality: Any) -> Any:
    by_bucket, per_unit = locality
    empty = locality_figures._Figures().as_dict()
    return ({key: value.as_dict() for key, value in by_bucket.items()
             if value.as_dict() != empty},
            {key: value.as_dict() for key, value in per_unit.items()
             if value.as_dict() != empty})


def rollup_rows() -> int:
    return int(_db.session.scalar(sa.select(sa.func.count()).select_from(LocalityRollup)) or 0)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_rollup_gives_the_counted_figures_through_changes_and_moves(db, user, seed):
    director = user("director")
    random_history(user, random.Random(seed))
    assert_rollup_agrees(director)  # every row still pending at its origin
    assert_gap_rollup_agrees(director)
    random_history(user, random.Random(seed + 20), count=20)
    locality_rollup.fold()  # expanded to the lineages: the moves below carry subtree rows
    random_history(user, random.Random(seed + 30), count=10)  # pending beside expanded
    assert_rollup_agrees(director)

    move_unit("north-bo", "south", actor=director)  # a leaf to another region
    move_unit("north", "hq", actor=director)  # a subtree one level up
    create_unit("west", "West", "cs", actor=director)
    move_unit("south", "west", actor=director)  # a subtree one level down
    _db.session.commit()
    assert_rollup_agrees(director)

    random_history(user, random.Random(seed + 10), count=10)  # logged under the new tree
    assert_rollup_agrees(director)


def test_folding_keeps_every_figure_in_far_fewer_rows(db, user, monkeypatch):
    monkeypatch.setattr(folding, "CHUNK", 3)  # many chunks of keys in one fold
    director = user("director")
    random_history(user, random.Random(3))
    move_unit("nice", "north", actor=director)
    before = rollup_rows()
    assert 0 < locality_rollup.fold() <= before
    keys = _db.session.execute(sa.select(sa.func.count()).select_from(
        sa.select(LocalityRollup.day, LocalityRollup.unit_id).distinct().subquery())).scalar()
    assert rollup_rows() == keys  # one row per (day, unit), none pending
    assert not _db.session.scalar(sa.select(sa.func.count()).where(LocalityRollup.pending))
    assert gap_rollup.fold() > 0
    assert not _db.session.scalar(sa.select(sa.func.count()).where(~GapRollup.folded))
    lines = sa.select(GapItem.unit_key, GapItem.kind, GapItem.item_key).distinct().subquery()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(GapLine)) == (
        _db.session.scalar(sa.select(sa.func.count()).select_from(lines)))  # one row a line
    assert_rollup_agrees(director)
    assert_gap_rollup_agrees(director)
    assert locality_rollup.fold() == gap_rollup.fold() == 0  # already folded


def test_a_rebuild_counts_what_the_triggers_counted(db, user):
    director = user("director")
    random_history(user, random.Random(4))
    locality_rollup.fold()
    kept = _db.session.execute(sa.select(
        LocalityRollup.day, LocalityRollup.unit_id, LocalityRollup.logged,
        LocalityRollup.routings, LocalityRollup.distance).order_by(
        LocalityRollup.unit_id, LocalityRollup.day)).all()
    with _db.engine.begin() as connection:
        locality_rollup.rebuild(connection)
    rebuilt = _db.session.execute(sa.select(
        LocalityRollup.day, LocalityRollup.unit_id, LocalityRollup.logged,
        LocalityRollup.routings, LocalityRollup.distance).order_by(
        LocalityRollup.unit_id, LocalityRollup.day)).all()
    assert rebuilt == kept
    assert_rollup_agrees(director)


def test_the_cli_rebuilds_and_folds_the_rollups(db, user, runner):
    director = user("director")
    random_history(user, random.Random(5), count=20)
    with _db.engine.begin() as connection:  # as a bulk load with the triggers off leaves it
        connection.exec_driver_sql("DELETE FROM locality_rollup")
        connection.exec_driver_sql("DELETE FROM gap_rollup")
        connection.exec_driver_sql("DELETE FROM gap_item_rollup")
    result = runner.invoke(args=["rollups", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "Rebuilt the irritant tally, the locality rollup and the gap rollup." in result.output
    assert_rollup_agrees(director)
    assert_gap_rollup_agrees(director)
    random_history(user, random.Random(6), count=5)
    result = runner.invoke(args=["rollups", "fold"])
    assert result.exit_code == 0
    assert result.output.startswith("Folded ")
    assert not _db.session.scalar(sa.select(sa.func.count()).where(LocalityRollup.pending))
    assert_rollup_agrees(director)
