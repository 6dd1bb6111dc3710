"""Jobs on a real Redis with an RQ SimpleWorker: delivery after commit, the every-minute tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from irritants import jobs
from irritants.models import Irritant, IrritantEvent, OutboxMessage
from irritants.services.intake import log_irritant

pytestmark = pytest.mark.redis

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def work(connection: Redis) -> None:
    """Run every queued job in this process, then stop."""
    queue = Queue(jobs.QUEUE_NAME, connection=connection)
    SimpleWorker([queue], connection=connection).work(burst=True)


def test_logging_enqueues_the_email_and_a_worker_delivers_it_once(rq_app, db, user, sent_mail):
    irritant = log_irritant(user("agent.lille"), category="late-delivery", severity="high",
                            description="Parcel late", amount=40, now=T0)
    message = db.session.scalars(select(OutboxMessage)).one()
    queue = Queue(jobs.QUEUE_NAME, connection=rq_app)
    assert queue.job_ids == [f"outbox-{message.id}"]
    assert (message.done_at, sent_mail) == (None, [])

    work(rq_app)

    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).done_at is not None
    assert [email.to for email in sent_mail] == [["lead.northbo@example.com"]]
    assert str(irritant.id) in sent_mail[0].subject

    # The same job again (a retry, a duplicate): no second email.
    queue.enqueue(jobs.deliver_outbox_message, message.id)
    work(rq_app)
    assert len(sent_mail) == 1


def test_a_logging_telling_two_leads_is_one_job_and_two_emails(rq_app, db, user, sent_mail):
    from irritants.models import User

    first = user("lead.northbo")
    db.session.add(User(email="lead2.northbo@example.com", name="Second lead", role="lead",
                        unit_id=first.unit_id))
    db.session.commit()
    log_irritant(user("agent.lille"), category="late-delivery", severity="high",
                 description="Parcel late", amount=40, now=T0)
    ids = list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
    queue = Queue(jobs.QUEUE_NAME, connection=rq_app)
    assert queue.job_ids == [f"outbox-{ids[0]}"]
    assert queue.fetch_job(f"outbox-{ids[0]}").args == (ids,)

    work(rq_app)
    queue.enqueue(jobs.deliver_outbox_messages, ids)  # the same job again: no e-mail
    work(rq_app)

    assert sorted(email.to[0] for email in sent_mail) == [
        "lead.northbo@example.com", "lead2.northbo@example.com"]


def test_a_message_enqueued_twice_is_one_job(rq_app, db, user):
    log_irritant(user("agent.lille"), category="late-delivery", severity="high",
                 description="Parcel late", amount=40, now=T0)
    message = db.session.scalars(select(OutboxMessage)).one()
    assert jobs.enqueue(jobs.deliver_outbox_message, message.id, job_id=f"outbox-{message.id}")
    assert Queue(jobs.QUEUE_NAME, connection=rq_app).job_ids == [f"outbox-{message.id}"]


def test_the_next_sweep_is_booked_once_per_slot(rq_app, app):
    now = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)
    period = app.config["SLA_SWEEP_SECONDS"]
    first = jobs.schedule_next_sweep(now)
    second = jobs.schedule_next_sweep(now + timedelta(seconds=5))
    slot = int(now.timestamp() // period) + 1
    assert first == second == f"irritants-sla-sweep-{slot}"
    registry = ScheduledJobRegistry(jobs.QUEUE_NAME, connection=rq_app)
    assert registry.get_job_ids() == [first]
    assert registry.get_scheduled_time(first) == datetime.fromtimestamp(slot * period, UTC)


def test_the_sweep_tick_escalates_relays_and_books_the_next_tick(rq_app, db, user, sent_mail):
    irritant = log_irritant(user("director"), category="rude-service", severity="critical",
                            description="x", origin_unit="lille", now=T0)
    Queue(jobs.QUEUE_NAME, connection=rq_app).empty()  # Redis lost the delivery job...
    db.session.execute(OutboxMessage.__table__.update().values(  # ...a minute ago
        created_at=datetime.now(UTC) - timedelta(minutes=1)))
    db.session.commit()
    queue = Queue(jobs.QUEUE_NAME, connection=rq_app)
    queue.enqueue(jobs.sla_sweep_tick)

    work(rq_app)

    db.session.expire_all()
    assert db.session.get(Irritant, irritant.id).escalation_level == 1
    assert len(db.session.scalars(select(IrritantEvent).where(
        IrritantEvent.type == "sla_escalated")).all()) == 1
    # The lille lead's email of the logging (its job lost) went out with the relay.
    assert "lead.lille@example.com" in [email.to[0] for email in sent_mail]
    booked = ScheduledJobRegistry(jobs.QUEUE_NAME, connection=rq_app).get_job_ids()
    assert len(booked) == 1
    assert booked[0].startswith("irritants-sla-sweep-")


def test_a_request_books_the_sweep_when_redis_is_configured(rq_app, app, client):
    jobs._last_booked = 0.0
    client.get("/healthz")
    assert len(ScheduledJobRegistry(jobs.QUEUE_NAME, connection=rq_app).get_job_ids()) == 1
