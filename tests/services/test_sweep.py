"""The SLA sweep (routing.md "SLA breach"): once per irritant per sweep, idempotent."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from irritants.models import GapItem, Irritant, IrritantEvent, Notification, Unit
from irritants.services import escalation
from irritants.services.escalation import sweep_overdue
from irritants.services.intake import log_irritant
from irritants.services.resolution import resolve_irritant, take_irritant

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def key_of(db: Any, unit_id: int | None) -> str | None:
    return None if unit_id is None else db.session.get(Unit, unit_id).key


def log(user: Any, category: str = "rude-service", origin: str = "lille",
        severity: str = "critical", amount: Any = None) -> Irritant:
    return log_irritant(user("director"), category=category, severity=severity,
                        description="x", amount=amount, origin_unit=origin, now=T0)


def sla_events(db: Any, irritant_id: int | None = None) -> list[tuple[int, int, str, datetime]]:
    query = select(IrritantEvent).where(IrritantEvent.type == "sla_escalated")
    if irritant_id is not None:
        query = query.where(IrritantEvent.irritant_id == irritant_id)
    return [(e.irritant_id, e.escalation_level, key_of(db, e.assignee_id), e.at)
            for e in db.session.scalars(query.order_by(IrritantEvent.id)).all()]


def test_an_overdue_irritant_goes_to_the_parent_of_its_assignee(db, user):
    irritant = log(user)  # lille, critical: due T0 + 4h
    take_irritant(irritant.id, actor=user("agent.lille"), now=T0)
    gaps, version = irritant.gaps, irritant.row_version
    at = T0 + timedelta(hours=5)

    assert sweep_overdue(at) == 1

    db.session.expire_all()
    swept = db.session.get(Irritant, irritant.id)
    assert key_of(db, swept.assignee_id) == "north"
    assert (swept.status, swept.taken_by_id, swept.escalation_level) == ("open", None, 1)
    assert swept.due_at == at + timedelta(hours=4)
    assert (swept.rank, swept.gaps, swept.unroutable) == (None, gaps, False)
    assert swept.row_version == version + 1
    assert sla_events(db) == [(irritant.id, 1, "north", at)]
    event = db.session.scalars(select(IrritantEvent).where(
        IrritantEvent.type == "sla_escalated")).one()
    assert (event.actor_id, event.rank, event.gaps, event.data) == (
        None, None, None, {"from": "lille", "hours": 4.0})
    assert db.session.scalars(select(GapItem)).all() == []


def test_the_category_sla_hours_set_the_next_due_time(db, user):
    irritant = log(user, "late-delivery", amount=40)  # critical: 2 hours for this category
    at = T0 + timedelta(hours=3)
    assert sweep_overdue(at) == 1
    db.session.expire_all()
    assert db.session.get(Irritant, irritant.id).due_at == at + timedelta(hours=2)


def test_not_yet_due_and_resolved_irritants_are_left_alone(db, user):
    due_now = log(user)
    resolved = log(user)
    resolve_irritant(resolved.id, actor=user("director"), resolution="done", now=T0)
    assert sweep_overdue(T0 + timedelta(hours=4)) == 0  # due_at == now is not overdue
    assert sla_events(db) == []
    assert sweep_overdue(T0 + timedelta(hours=4, seconds=1)) == 1
    assert [event[0] for event in sla_events(db)] == [due_now.id]


def test_a_sweep_run_twice_at_the_same_time_escalates_nothing_twice(db, user):
    first, second = log(user), log(user, origin="roubaix")
    at = T0 + timedelta(hours=5)
    assert sweep_overdue(at) == 2
    assert sweep_overdue(at) == 0
    assert sorted(sla_events(db)) == [(first.id, 1, "north", at), (second.id, 1, "north", at)]


def test_an_irritant_at_the_root_stays_there_and_still_gets_level_due_time_and_event(db, user):
    irritant = log(user, "faulty-product", origin="nice", amount=200)  # unroutable -> hq
    assert irritant.unroutable is True
    at = T0 + timedelta(hours=5)
    assert sweep_overdue(at) == 1
    db.session.expire_all()
    swept = db.session.get(Irritant, irritant.id)
    assert (key_of(db, swept.assignee_id), swept.escalation_level, swept.due_at,
            swept.unroutable) == ("hq", 1, at + timedelta(hours=4), True)
    assert sla_events(db) == [(irritant.id, 1, "hq", at)]


def test_a_sweep_far_in_the_future_escalates_once_and_later_sweeps_catch_up_level_by_level(
        db, user):
    irritant = log(user)  # lille -> north -> cs -> hq -> hq
    far = T0 + timedelta(days=30)
    expected = []
    for level, unit in enumerate(["north", "cs", "hq", "hq"], start=1):
        at = far + timedelta(hours=4, seconds=1) * (level - 1)
        assert sweep_overdue(at) == 1
        assert sweep_overdue(at) == 0
        expected.append((irritant.id, level, unit, at))
    assert sla_events(db) == expected
    db.session.expire_all()
    assert db.session.get(Irritant, irritant.id).escalation_level == 4


def test_the_sweep_tells_the_leads_of_the_accountable_unit(db, user, sent_mail):
    log(user)
    sent_mail.clear()
    sweep_overdue(T0 + timedelta(hours=5))
    north = user("lead.north")
    assert [(n.user_id, n.data["how"]) for n in db.session.scalars(
        select(Notification).where(Notification.user_id == north.id)).all()] == [
        (north.id, "sla_escalated")]
    assert [email.to for email in sent_mail] == [["lead.north@example.com"]]


def test_a_sweep_in_small_chunks_escalates_each_overdue_irritant_once(db, user, monkeypatch):
    monkeypatch.setattr(escalation, "SWEEP_CHUNK", 2)
    ids = [log(user).id for _ in range(5)]
    assert sweep_overdue(T0 + timedelta(hours=5)) == 5
    assert sorted(event[0] for event in sla_events(db)) == ids


def test_an_escalation_already_recorded_is_skipped_without_losing_the_others(db, user):
    first, second, third = log(user), log(user), log(user)
    # Another sweep recorded level 1 for `second` (its row update not visible to us).
    db.session.add(IrritantEvent(irritant_id=second.id, type="sla_escalated", at=T0,
                                 escalation_level=1, data={}))
    db.session.commit()
    at = T0 + timedelta(hours=5)
    assert sweep_overdue(at) == 2
    db.session.expire_all()
    assert [db.session.get(Irritant, i).escalation_level for i in
            (first.id, second.id, third.id)] == [1, 0, 1]
    assert sorted(e[:2] for e in sla_events(db)) == [(first.id, 1), (second.id, 1),
                                                     (third.id, 1)]


@pytest.mark.parametrize("at", ["2026-03-02T14:00:01Z", "2026-03-02T14:00:01",
                                "2026-03-02T15:00:01+01:00"])
def test_the_cli_sweeps_at_the_given_time_and_prints_the_number_escalated(db, user, runner, at):
    irritant = log(user)
    result = runner.invoke(args=["sla", "sweep", "--at", at])
    assert (result.exit_code, result.output) == (0, "1\n")
    again = runner.invoke(args=["sla", "sweep", "--at", at])
    assert (again.exit_code, again.output) == (0, "0\n")
    assert sla_events(db) == [(irritant.id, 1, "north", datetime(2026, 3, 2, 14, 0, 1,
                                                                   tzinfo=UTC))]


def test_the_cli_refuses_a_time_that_is_not_iso_8601(db, runner):
    result = runner.invoke(args=["sla", "sweep", "--at", "tomorrow"])
    assert result.exit_code == 2
    assert "'tomorrow' is not an ISO 8601 time" in result.output


def test_without_redis_the_first_request_starts_a_thread_that_sweeps_and_runs_jobs(
        app, db, user, client, monkeypatch, sent_mail):
    from irritants import jobs

    overdue = log_irritant(user("director"), category="rude-service", severity="critical",
                           description="x", origin_unit="lille",
                           now=datetime.now(UTC) - timedelta(hours=5))
    monkeypatch.setitem(app.config, "RUN_INPROCESS_SCHEDULER", True)
    monkeypatch.setattr(jobs, "_runner", None)
    sent_mail.clear()

    client.get("/healthz")
    runner = jobs._runner
    assert runner is not None
    assert runner.thread.is_alive()
    try:
        client.get("/healthz")
        assert jobs._runner is runner  # one thread per process
        level = 0
        deadline = time.monotonic() + 10
        while level == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
            db.session.rollback()
            level = db.session.scalar(select(Irritant.escalation_level).where(
                Irritant.id == overdue.id))
        assert level == 1
        # Jobs go to the thread, not into the request.
        done = threading.Event()
        jobs.enqueue(done.set)
        assert done.wait(5)
        assert [email.to for email in sent_mail] == [["lead.north@example.com"]]
    finally:
        runner.stop()
    assert not runner.thread.is_alive()
