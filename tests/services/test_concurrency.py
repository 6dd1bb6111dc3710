"""Races (reliability.md R4, R5): two people or two sweeps at once never double an action.

Threads share nothing but the database, each with its own app context and session.
They run on SQLite (WAL, busy timeout) and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select, text

from irritants.models import Irritant, IrritantEvent, User
from irritants.services.errors import Conflict, NotAllowed
from irritants.services.escalation import escalate_irritant, reassign_irritant, sweep_overdue
from irritants.services.intake import log_irritant
from irritants.services.resolution import resolve_irritant, take_irritant

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PAIRS = int(os.environ.get("RACE_PAIRS", "10"))
ON_POSTGRES = (os.environ.get("TEST_DATABASE_URL") or "").startswith(("postgres", "postgresql"))


def race(app: Any, calls: list[Callable[[], Any]]) -> list[str]:
    """Start the calls together, each in its own thread and app context; their outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = [""] * len(calls)

    def run(number: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                calls[number]()
            except Conflict:
                outcomes[number] = "conflict"
            except NotAllowed:
                outcomes[number] = "not allowed"
            except Exception as error:  # noqa: BLE001 - reported by the assertion
                outcomes[number] = f"error: {type(error).__name__}: {error}"
            else:
                outcomes[number] = "ok"

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def act(operation: Callable[..., Any], irritant_id: int, name: str, **arguments: Any) -> Any:
    """Call a service as that user, loaded in the calling thread's own session."""
    from irritants.extensions import db

    actor = db.session.scalar(select(User).where(User.email == f"{name}@example.com"))
    return operation(irritant_id, actor=actor, now=T0, **arguments)


def events(db: Any, irritant_id: int, kind: str) -> int:
    return db.session.scalar(select(func.count()).select_from(IrritantEvent).where(
        IrritantEvent.irritant_id == irritant_id, IrritantEvent.type == kind)) or 0


def new_irritant(user: Any) -> int:
    return log_irritant(user("agent.lille"), category="rude-service", severity="critical",
                        description="x", now=T0).id


def test_two_leads_resolving_at_once_exactly_one_succeeds(app, db, user):
    for _ in range(PAIRS):
        irritant_id = new_irritant(user)
        db.session.commit()
        outcomes = race(app, [
            partial(act, resolve_irritant, irritant_id, "lead.lille", resolution="mine"),
            partial(act, resolve_irritant, irritant_id, "lead.north", resolution="yours"),
        ])
        assert sorted(outcomes) == ["conflict", "ok"]
        db.session.expire_all()
        assert events(db, irritant_id, "resolved") == 1
        resolved = db.session.get(Irritant, irritant_id)
        assert resolved.resolution == ("mine" if outcomes[0] == "ok" else "yours")


def test_two_people_taking_at_once_exactly_one_gets_it(app, db, user):
    for _ in range(PAIRS):
        irritant_id = new_irritant(user)
        db.session.commit()
        outcomes = race(app, [
            partial(act, take_irritant, irritant_id, "agent.lille"),
            partial(act, take_irritant, irritant_id, "lead.lille"),
        ])
        assert sorted(outcomes) == ["conflict", "ok"]
        db.session.expire_all()
        assert events(db, irritant_id, "taken") == 1
        taken = db.session.get(Irritant, irritant_id)
        winner = user("agent.lille" if outcomes[0] == "ok" else "lead.lille")
        assert taken.taken_by_id == winner.id


def test_escalations_and_reassignments_at_once_lose_no_update(app, db, user):
    for _ in range(PAIRS):
        irritant_id = new_irritant(user)
        db.session.commit()
        outcomes = race(app, [
            partial(act, escalate_irritant, irritant_id, "director", reason="up"),
            partial(act, reassign_irritant, irritant_id, "lead.north", unit="roubaix",
                    reason="r"),
        ])
        assert not [o for o in outcomes if o.startswith("error")], outcomes
        db.session.expire_all()
        irritant = db.session.get(Irritant, irritant_id)
        routed = events(db, irritant_id, "routed") - 1
        reassigned = events(db, irritant_id, "reassigned")
        # Every success wrote its one event; every failure wrote nothing.
        assert (routed, reassigned) == (int(outcomes[0] == "ok"), int(outcomes[1] == "ok"))
        assert irritant.row_version == 1 + routed + reassigned
        last = db.session.scalars(select(IrritantEvent).where(
            IrritantEvent.irritant_id == irritant_id).order_by(IrritantEvent.id.desc())).first()
        assert last.assignee_id == irritant.assignee_id


def test_two_sweeps_at_once_escalate_each_irritant_once(app, db, user):
    ids = [new_irritant(user) for _ in range(20)]
    db.session.commit()
    at = T0 + timedelta(hours=5)
    counts: list[int] = []
    outcomes = race(app, [lambda: counts.append(sweep_overdue(at)),
                          lambda: counts.append(sweep_overdue(at))])
    assert outcomes == ["ok", "ok"]
    assert sum(counts) == 20
    db.session.expire_all()
    per_level = db.session.execute(
        select(IrritantEvent.irritant_id, IrritantEvent.escalation_level, func.count())
        .where(IrritantEvent.type == "sla_escalated")
        .group_by(IrritantEvent.irritant_id, IrritantEvent.escalation_level)).all()
    assert sorted(per_level) == [(irritant_id, 1, 1) for irritant_id in ids]
    assert {db.session.get(Irritant, i).escalation_level for i in ids} == {1}


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="FOR UPDATE SKIP LOCKED is PostgreSQL's")
def test_a_sweep_skips_the_rows_another_sweep_holds_and_the_next_sweep_takes_them(
        app, db, user):
    held, free = new_irritant(user), new_irritant(user)
    db.session.commit()
    at = T0 + timedelta(hours=5)
    with db.engine.connect() as other:
        other.execute(text("SELECT id FROM irritant WHERE id = :id FOR UPDATE"), {"id": held})
        assert sweep_overdue(at) == 1
        other.rollback()
    assert sweep_overdue(at) == 1
    db.session.expire_all()
    assert [db.session.get(Irritant, i).escalation_level for i in (held, free)] == [1, 1]
