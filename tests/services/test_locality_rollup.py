"""The locality rollup (PostgreSQL) gives the figures a count of the irritants gives.

A random history (loggings from every unit, resolutions, manual and SLA
escalations, reassignments, needs no unit meets) and then moves of subtrees; after
each step, the directors' locality figures read from the rollup must equal those
counted from the irritants, for every subtree, time step and for periods that start
and end at midnight or in the middle of a day. Folding must change no figure.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from irritants.extensions import db as _db
from irritants.models import LocalityRollup
from irritants.services import dashboards, locality_rollup
from irritants.services.dashboards import Period
from irritants.services.escalation import escalate_irritant, reassign_irritant, sweep_overdue
from irritants.services.intake import log_irritant
from irritants.services.org_edit import create_unit, move_unit
from irritants.services.resolution import resolve_irritant
from irritants.services.snapshot import cached_org

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="the rollup's triggers are PostgreSQL's")

T0 = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
CATEGORIES = ["faulty-product", "late-delivery", "billing-error", "rude-service", "app-bug"]
PERIODS = [
    Period(datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)),
    Period(T0 - timedelta(hours=5), T0 + timedelta(days=9, hours=7)),  # mid-day edges
    Period(T0 + timedelta(hours=1), T0 + timedelta(hours=20)),  # within two days
]


def random_history(user: Any, rng: random.Random, count: int = 40) -> None:
    units = sorted(cached_org().id_of)
    director = user("director")
    for number in range(count):
        when = T0 + timedelta(hours=rng.randrange(0, 240))
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
            reassign_irritant(irritant.id, actor=director, unit=rng.choice(units),
                              reason="busy", now=later)
        elif action < 0.75:
            escalate_irritant(irritant.id, actor=director, reason="cannot", now=later)
            resolve_irritant(irritant.id, actor=director, resolution="done upstairs",
                             root_cause="tooling", now=later + timedelta(hours=1))
    sweep_overdue(T0 + timedelta(days=6))


def assert_rollup_agrees(director: Any) -> None:
    org = cached_org()
    for subtree in sorted(org.id_of):
        for period in PERIODS:
            for bucket in dashboards.BUCKETS:
                rolled = dashboards._rolled_up_locality(org, subtree, period, bucket)
                counted = dashboards._counted_locality(org, subtree, period, bucket)
                assert figures(rolled) == figures(counted), (subtree, period, bucket)
    whole = dashboards.locality(actor=director, period=PERIODS[0])
    assert whole["total"]["logged"] > 0


def figures(locality: Any) -> Any:
    by_bucket, per_unit = locality
    empty = dashboards._Figures().as_dict()
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
    assert_rollup_agrees(director)

    move_unit("north-bo", "south", actor=director)  # a leaf to another region
    move_unit("north", "hq", actor=director)  # a subtree one level up
    create_unit("west", "West", "cs", actor=director)
    move_unit("south", "west", actor=director)  # a subtree one level down
    _db.session.commit()
    assert_rollup_agrees(director)

    random_history(user, random.Random(seed + 10), count=10)  # logged under the new tree
    assert_rollup_agrees(director)


def test_folding_keeps_every_figure_in_far_fewer_rows(db, user):
    director = user("director")
    random_history(user, random.Random(3))
    move_unit("nice", "north", actor=director)
    before = rollup_rows()
    assert 0 < locality_rollup.fold() <= before
    assert rollup_rows() < before / 3
    assert_rollup_agrees(director)
    assert locality_rollup.fold() == 0  # already folded


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
