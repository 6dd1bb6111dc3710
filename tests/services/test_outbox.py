"""The outbox: a job run twice sends one email; a failed send is retried, never dropped."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

import pytest
from sqlalchemy import select

from irritants import jobs
from irritants.models import Notification, OutboxMessage, utcnow
from irritants.services.intake import log_irritant
from irritants.services.mailer import message_id_for
from irritants.services.notifications import (
    mark_read,
    notification_text,
    notifications_for,
    unread_count,
)
from irritants.services.outbox import deliver, deliver_pending, pending_count

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def held_jobs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Jobs are recorded instead of run, as if Redis held them."""
    held: list[tuple[Any, ...]] = []
    monkeypatch.setattr(jobs, "enqueue",
                        lambda func, *args, job_id=None: held.append((func, *args)) or True)
    return held


def log_for_north_bo(user: Any) -> Any:
    return log_irritant(user("agent.lille"), category="late-delivery", severity="high",
                        description="Parcel late", amount=40)


def test_after_commit_one_delivery_job_is_enqueued_per_change(db, user, held_jobs):
    log_for_north_bo(user)
    message = db.session.scalars(select(OutboxMessage)).one()
    assert held_jobs == [(jobs.deliver_outbox_messages, [message.id])]
    assert message.done_at is None


def test_the_emails_to_several_leads_are_one_job_that_sends_each_once(db, user, held_jobs,
                                                                      sent_mail):
    from irritants.models import User

    first = user("lead.northbo")
    db.session.add(User(email="lead2.northbo@example.com", name="Second lead", role="lead",
                        unit_id=first.unit_id))
    db.session.commit()
    log_for_north_bo(user)
    ids = list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
    assert len(ids) == 2
    assert held_jobs == [(jobs.deliver_outbox_messages, ids)]

    assert jobs.deliver_outbox_messages(ids) == 2
    assert jobs.deliver_outbox_messages(ids) == 0  # run twice: nothing sent again
    assert sorted(mail.to[0] for mail in sent_mail) == [
        "lead.northbo@example.com", "lead2.northbo@example.com"]


def test_a_delivery_job_run_twice_sends_one_email(db, user, held_jobs, sent_mail):
    log_for_north_bo(user)
    message_id = db.session.scalars(select(OutboxMessage.id)).one()
    assert jobs.deliver_outbox_message(message_id) is True
    assert jobs.deliver_outbox_message(message_id) is False
    assert deliver_pending(now=utcnow() + timedelta(hours=1)) == 0
    assert len(sent_mail) == 1
    message = db.session.get(OutboxMessage, message_id)
    assert (message.attempts, message.last_error, message.locked_until) == (1, None, None)
    assert message.done_at is not None


def test_two_deliveries_at_once_send_one_email(app, db, user, held_jobs, sent_mail):
    log_for_north_bo(user)
    message_id = db.session.scalars(select(OutboxMessage.id)).one()
    db.session.commit()
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        with app.app_context():
            barrier.wait()
            results.append(deliver(message_id))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert len(sent_mail) == 1


def test_the_message_of_a_deleted_or_inactive_user_is_done_without_email(db, user, held_jobs,
                                                                          sent_mail):
    log_for_north_bo(user)
    lead = user("lead.northbo")
    lead.is_active_account = False
    db.session.commit()
    message_id = db.session.scalars(select(OutboxMessage.id)).one()
    assert deliver(message_id) is True
    assert sent_mail == []
    assert pending_count() == 0


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_backend(app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Flask-Mailman on real SMTP (host and port set by the test)."""
    state = app.extensions["mailman"]
    monkeypatch.setattr(state, "backend", "smtp")
    monkeypatch.setattr(state, "server", "127.0.0.1")
    monkeypatch.setattr(state, "port", closed_port())
    monkeypatch.setattr(state, "timeout", 2)
    return state


class Catcher:
    """An aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Catcher, int]]:
    """A real SMTP server (aiosmtpd) on a spare loopback port."""
    aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
    catcher = Catcher()
    port = closed_port()
    controller = aiosmtpd_controller.Controller(catcher, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield catcher, port
    finally:
        controller.stop()


def test_with_smtp_down_the_email_waits_and_goes_out_once_smtp_is_back(
        db, user, held_jobs, smtp_backend, smtp_server):
    irritant = log_for_north_bo(user)
    message_id = db.session.scalars(select(OutboxMessage.id)).one()
    now = utcnow()

    assert deliver(message_id, now) is False  # SMTP down
    failed = db.session.get(OutboxMessage, message_id)
    assert (failed.done_at, failed.attempts) == (None, 1)
    assert failed.last_error.startswith("ConnectionRefusedError")
    assert failed.locked_until == now + timedelta(seconds=60)
    assert deliver_pending(now + timedelta(seconds=30)) == 0  # backing off

    catcher, port = smtp_server
    smtp_backend.port = port
    assert deliver_pending(now + timedelta(seconds=61)) == 1
    assert deliver_pending(now + timedelta(seconds=62)) == 0
    assert len(catcher.messages) == 1
    email = catcher.messages[0]
    assert email["To"] == "lead.northbo@example.com"
    assert email["Message-ID"] == message_id_for(db.session.get(OutboxMessage, message_id))
    assert f"{irritant.id}" in email["Subject"]
    parts = [part.get_content_type() for part in email.walk()]
    assert parts == ["multipart/alternative", "text/plain", "text/html"]


def test_each_failure_backs_off_longer(db, user, held_jobs, smtp_backend):
    log_for_north_bo(user)
    message_id = db.session.scalars(select(OutboxMessage.id)).one()
    now = utcnow()
    waits = []
    for _ in range(4):
        assert deliver(message_id, now) is False
        message = db.session.get(OutboxMessage, message_id)
        db.session.refresh(message)
        waits.append((message.locked_until - now).total_seconds())
        now = message.locked_until
    assert waits == [60, 120, 240, 480]


def test_the_relay_leaves_recent_messages_to_their_jobs(db, user, held_jobs, sent_mail):
    log_for_north_bo(user)
    assert deliver_pending(older_than_seconds=30) == 0
    assert deliver_pending(now=utcnow() + timedelta(seconds=31), older_than_seconds=30) == 1
    assert len(sent_mail) == 1


def test_in_app_notifications_are_listed_newest_first_and_marked_read(db, user):
    first = log_for_north_bo(user)
    second = log_for_north_bo(user)
    lead = user("lead.northbo")
    notes = notifications_for(lead)
    assert [n.irritant_id for n in notes] == [second.id, first.id]
    assert unread_count(lead) == 2
    assert notification_text(notes[0]) == (
        f"A new irritant, #{second.id}, is assigned to North back-office.")
    other = user("lead.north")
    mark_read(other, [notes[0].id])  # not theirs: nothing changes
    assert unread_count(lead) == 2
    mark_read(lead, [notes[0].id])
    assert [n.irritant_id for n in notifications_for(lead, unread_only=True)] == [first.id]
    mark_read(lead)
    assert unread_count(lead) == 0
    assert db.session.scalars(select(Notification)).all().__len__() == 2


# -- batches: the in-process runner and the relay -------------------------------------


def count_selects(db: Any) -> Iterator[list[str]]:
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def selects(db: Any) -> Iterator[list[str]]:
    yield from count_selects(db)


def log_three(user: Any) -> list[Any]:
    return [log_irritant(user("agent.lille"), category="late-delivery", severity="high",
                         description=f"Parcel late {n}", amount=40) for n in range(3)]


def test_a_batch_sends_each_message_once_and_reads_its_rows_once(db, user, held_jobs,
                                                                 sent_mail, selects):
    irritant_ids = [irritant.id for irritant in log_three(user)]
    ids = list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
    assert len(ids) == 3
    db.session.commit()
    db.session.expunge_all()
    selects.clear()

    assert jobs.deliver_outbox_messages(ids + ids) == 3  # duplicates are one message
    # The messages, then their users, irritants and events: one query each, not per email.
    assert len(selects) == 4
    assert all(mail.to == ["lead.northbo@example.com"] for mail in sent_mail)
    assert all(f"{irritant_id}" in mail.subject
               for mail, irritant_id in zip(sent_mail, irritant_ids, strict=True))

    assert jobs.deliver_outbox_messages(ids) == 0  # run twice: nothing more
    assert deliver(ids[0]) is False
    assert deliver_pending(now=utcnow() + timedelta(hours=1)) == 0
    assert len(sent_mail) == 3
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(row.attempts, row.locked_until, row.last_error) for row in rows] == \
        [(1, None, None)] * 3
    assert all(row.done_at is not None for row in rows)
    assert [mail.extra_headers["Message-ID"] for mail in sent_mail] == \
        [message_id_for(row) for row in rows]


def test_a_batch_skips_rows_leased_by_another_delivery(db, user, held_jobs, sent_mail):
    log_three(user)
    ids = list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
    now = utcnow()
    leased = db.session.get(OutboxMessage, ids[1])
    leased.locked_until = now + timedelta(minutes=1)
    db.session.commit()

    assert jobs.deliver_outbox_messages(ids) == 2
    assert len(sent_mail) == 2
    db.session.refresh(leased)
    assert (leased.done_at, leased.attempts) == (None, 0)


def test_a_failed_send_in_a_batch_is_released_and_the_others_go_out(
        db, user, held_jobs, sent_mail, monkeypatch):
    from irritants.services import mailer

    log_three(user)
    ids = list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
    send = mailer.send_outbox_email

    def failing_on_the_second(message: OutboxMessage) -> None:
        if message.id == ids[1]:
            raise ConnectionRefusedError("SMTP down")
        send(message)

    monkeypatch.setattr(mailer, "send_outbox_email", failing_on_the_second)
    now = utcnow()
    from irritants.services.outbox import deliver_many

    assert deliver_many(ids, now) == 2
    assert len(sent_mail) == 2
    failed = db.session.get(OutboxMessage, ids[1])
    db.session.refresh(failed)
    assert (failed.done_at, failed.attempts) == (None, 1)
    assert failed.locked_until == now + timedelta(seconds=60)
    assert failed.last_error == "ConnectionRefusedError: SMTP down"

    monkeypatch.setattr(mailer, "send_outbox_email", send)
    assert deliver_pending(now + timedelta(seconds=61)) == 1
    assert len(sent_mail) == 3


def test_the_in_process_runner_gathers_delivery_jobs_into_one_batch(app, db, user, held_jobs,
                                                                    monkeypatch):
    log_three(user)
    ids = list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
    db.session.commit()
    calls: list[Any] = []
    monkeypatch.setattr(jobs, "deliver_outbox_messages", lambda batch: calls.append(
        ("batch", batch)))
    runner = jobs.InProcessRunner(app, period=3600)
    runner.submit(jobs.deliver_outbox_message, ids[0])  # a job of one message, as before
    runner.submit(jobs.deliver_outbox_messages, ids[1:])  # a job of a change's messages
    runner.submit(calls.append, "other job")
    runner.start()
    try:
        deadline = time.monotonic() + 5
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        runner.stop()
    assert calls == [("batch", ids), "other job"]
