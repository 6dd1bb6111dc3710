"""The irritant tally: list totals that stay exact through every change, and its folding."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from irritants.extensions import db as _db
from irritants.models import Irritant, IrritantTally
from irritants.services import tally
from irritants.services.escalation import escalate_irritant, reassign_irritant, sweep_overdue
from irritants.services.intake import log_irritant
from irritants.services.queues import IrritantFilters, visible_irritants
from irritants.services.resolution import resolve_irritant, take_irritant

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def log(user: Any, origin: str = "lille", category: str = "rude-service",
        severity: str = "low", amount: Any = None) -> Irritant:
    return log_irritant(user("director"), category=category, severity=severity,
                        description="x", origin_unit=origin, amount=amount, now=T0)


def counted(**where: Any) -> int:
    """What a plain count of the irritants says."""
    query = sa.select(sa.func.count()).select_from(Irritant)
    for name, value in where.items():
        query = query.where(getattr(Irritant, name) == value)
    return int(_db.session.scalar(query) or 0)


def tally_rows() -> int:
    return int(_db.session.scalar(sa.select(sa.func.count()).select_from(IrritantTally)) or 0)


def work_an_org(user: Any) -> list[Irritant]:
    """Irritants logged, taken, escalated, reassigned, swept and resolved."""
    logged = [log(user, origin) for origin in ("lille", "lille", "roubaix", "marseille", "nice")]
    logged.append(log(user, "lille", "faulty-product", "critical", amount=80))
    take_irritant(logged[0].id, actor=user("agent.lille"), now=T0)
    escalate_irritant(logged[1].id, actor=user("lead.lille"), reason="r", now=T0)
    reassign_irritant(logged[2].id, actor=user("director"), unit="north-bo", reason="r", now=T0)
    resolve_irritant(logged[3].id, actor=user("director"), resolution="ok", now=T0)
    sweep_overdue(T0 + timedelta(hours=200))
    return logged


def test_the_tally_agrees_with_a_count_after_every_kind_of_change(db, user):
    work_an_org(user)
    assert tally.check() == {}
    assert counted() == 6


def test_folding_keeps_one_row_per_key_and_every_total(db, user):
    work_an_org(user)
    before = tally_rows()
    keys = len(_db.session.execute(sa.select(*[getattr(Irritant, c) for c in tally.KEY])
                                   .distinct()).all())
    folded = tally.compact()
    assert folded > 0
    assert tally_rows() == keys < before
    assert tally.check() == {}
    assert tally.compact() == 0  # already folded: nothing to do


def test_a_key_that_sums_to_zero_is_dropped_when_folded(db, user):
    irritant = log(user)
    resolve_irritant(irritant.id, actor=user("director"), resolution="ok", now=T0)
    tally.compact()
    statuses = _db.session.scalars(sa.select(IrritantTally.status)).all()
    assert statuses == ["resolved"]


def test_a_deleted_irritant_leaves_the_tally(db, user):
    kept, gone = log(user), log(user, "roubaix")
    _db.session.execute(sa.text("DELETE FROM gap_item WHERE irritant_id = :id"), {"id": gone.id})
    _db.session.execute(sa.text("DELETE FROM notification WHERE irritant_id = :id"),
                        {"id": gone.id})
    _db.session.execute(sa.text("DELETE FROM irritant_event WHERE irritant_id = :id"),
                        {"id": gone.id})
    _db.session.execute(sa.text("DELETE FROM irritant WHERE id = :id"), {"id": gone.id})
    _db.session.commit()
    assert tally.check() == {}
    assert visible_irritants(user("director")).total == 1 == counted(id=kept.id)


@pytest.mark.parametrize(("who", "filters"), [
    ("director", None),
    ("director", IrritantFilters(status="open")),
    ("director", IrritantFilters(status="in_progress", category="rude-service")),
    ("director", IrritantFilters(severity="critical", origin_unit="lille")),
    ("director", IrritantFilters(assignee="north-bo")),
    ("director", IrritantFilters(category="no-such-category")),
    ("admin", IrritantFilters(origin_unit="no-such-unit")),
    ("lead.north", None),
    ("lead.north", IrritantFilters(status="resolved")),
    ("lead.lille", IrritantFilters(status="open")),
    ("lead.northbo", None),
    ("agent.lille", None),
    ("director", IrritantFilters(root_cause="other")),
    ("director", IrritantFilters(overdue=True)),
])
def test_list_totals_are_the_number_of_irritants_listed(db, user, who, filters):
    work_an_org(user)
    tally.compact()
    log(user, "nice")  # appended after the fold
    actor = user(who)
    everything = visible_irritants(actor, filters=filters, per_page=500)
    assert everything.total == len(everything.items)
    assert visible_irritants(actor, filters=filters, per_page=1).total == everything.total


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                    reason="concurrent writers need PostgreSQL")
def test_folding_beside_an_uncommitted_writer_loses_nothing(db, user):
    log(user)
    other = _db.engine.connect()
    try:
        transaction = other.begin()
        other.execute(sa.text(
            "INSERT INTO irritant_tally (origin_unit_id, assignee_id, category_id, status, "
            "severity, n) SELECT origin_unit_id, assignee_id, category_id, status, severity, 1 "
            "FROM irritant"))
        tally.compact()  # does not see (nor wait for) the other transaction's row
        transaction.commit()
    finally:
        other.close()
    total = _db.session.scalar(sa.select(sa.func.sum(IrritantTally.n)))
    assert total == 2


def test_the_cli_recounts_the_tally_after_a_load_made_without_its_triggers(db, user, runner):
    work_an_org(user)
    _db.session.execute(sa.delete(IrritantTally))
    _db.session.commit()
    assert tally.check() != {}
    result = runner.invoke(args=["rollups", "rebuild"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Rebuilt the irritant tally")
    assert tally.check() == {}
    assert visible_irritants(user("director")).total == counted() == 6
