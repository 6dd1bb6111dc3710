"""The transactional outbox: side effects written with the change, performed after commit.

Delivery semantics (reliability.md R4, R8): at least once, with duplicates
made rare and recognisable.

- A delivery first *claims* its row with a compare-and-set lease
  (`UPDATE ... SET locked_until = now + lease WHERE id = :id AND done_at IS NULL
  AND (locked_until IS NULL OR locked_until <= now)`), commits, sends, then
  marks the row done. A job run twice, or a job racing the relay, finds the
  row done or leased and sends nothing: one email.
- If the process dies between sending and marking done, the lease expires and
  the relay sends again: the one documented duplicate. Each row has a stable
  Message-ID, so mail clients and servers can recognise the repeat.
- We do not mark the row done *before* sending (at most once), because a
  crash there would lose the email silently; losing nothing wins.
- A failed send releases the lease with a backoff (locked_until = next try),
  keeps last_error and attempts, and the relay retries later; nothing is dropped.

`deliver_many` is the same protocol for a batch (the in-process runner and the relay):
one claim for all the rows, their recipients, irritants and events read in one query
each, then each email sent and its row marked done (committed) right after it, so the
window for a duplicate is still one message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from irritants.extensions import db
from irritants.models import OutboxMessage, utcnow
from irritants.services.transactions import commit_keeping_loaded

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_BACKOFF_SECONDS = 3600
RELAY_BATCH = 200
RELAY_MAX_PER_RUN = 5000
# Rows claimed at once by deliver_many: 20 sends at MAIL_TIMEOUT (5 s) fit in the lease.
CLAIM_BATCH = 20


def add_email(*, template: str, user_id: int, dedupe_key: str, **payload: Any) -> OutboxMessage:
    """Add an email to send after commit, in the caller's transaction (no commit)."""
    message = OutboxMessage(
        kind="email",
        dedupe_key=dedupe_key,
        payload={"template": template, "user_id": user_id, **payload},
    )
    db.session.add(message)
    return message


def enqueue_messages(messages: Iterable[OutboxMessage | int]) -> None:
    """After commit: hand the messages (or message ids) of one change to one job, which
    delivers them as deliver_many() does; when Redis is down, the relay catches up. Ids
    taken before the commit save reloading each expired row.

    One job per change, not per message: one enqueue (a Redis round trip, a job for a
    worker to start) whatever the number of leads told. The job is named after its first
    message, which belongs to this change only."""
    from irritants import jobs

    ids = [message if isinstance(message, int) else message.id for message in messages]
    if ids:
        jobs.enqueue(jobs.deliver_outbox_messages, ids, job_id=f"outbox-{ids[0]}")


def deliver(message_id: int, now: datetime | None = None) -> bool:
    """Perform one outbox message unless done or leased; True when it was sent now."""
    now = now or utcnow()
    if not _claim(message_id, now):
        return False
    message = db.session.get(OutboxMessage, message_id)
    assert message is not None
    try:
        _perform(message)
    except Exception as error:  # any failure: keep the row, retry later
        db.session.rollback()
        _release_after_failure(message_id, now, error)
        return False
    _mark_done(message_id)
    db.session.commit()
    return True


def deliver_many(message_ids: Iterable[int], now: datetime | None = None) -> int:
    """deliver() for several messages at once; the number sent now.

    Rows done or leased are skipped (nobody claims a row twice); each sent row is marked
    done and committed before the next email, a failed one released with a backoff. Rows
    are claimed CLAIM_BATCH at a time, so that a batch is sent well within its lease even
    when every send waits for the SMTP timeout.
    """
    now = now or utcnow()
    ids = sorted(set(message_ids))
    sent = 0
    for start in range(0, len(ids), CLAIM_BATCH):
        sent += _deliver_claimed(_claim_many(ids[start:start + CLAIM_BATCH], now), now)
    return sent


def _deliver_claimed(claimed: list[int], now: datetime) -> int:
    if not claimed:
        return 0
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id)
    ).all()
    # Held until the end of the batch: the identity map keeps only weak references.
    preloaded = _preload(messages)  # noqa: F841
    sent = 0
    failed: list[tuple[int, Exception]] = []
    for message in messages:
        message_id = message.id
        try:
            _perform(message)
        except Exception as error:  # any failure: keep the row, retry later
            db.session.rollback()
            failed.append((message_id, error))
            continue
        _mark_done(message_id)
        # The batch's recipients, irritants and events stay loaded for the next emails.
        commit_keeping_loaded()
        sent += 1
    for message_id, error in failed:
        _release_after_failure(message_id, now, error)
    return sent


def _claim_many(message_ids: list[int], now: datetime) -> list[int]:
    """_claim() for several rows in one statement: the ids this call now holds."""
    if not message_ids:
        return []
    claimed = db.session.scalars(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(message_ids),
            OutboxMessage.done_at.is_(None),
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= now),
        )
        .values(locked_until=now + LEASE, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id),
        execution_options={"synchronize_session": False},
    ).all()
    db.session.commit()
    return sorted(claimed)


def _preload(messages: Iterable[OutboxMessage]) -> list[Any]:
    """What the messages' rendering reads, in one query per kind of row."""
    emails = [message for message in messages if message.kind == "email"]
    if not emails:
        return []
    from irritants.services.mailer import preload_for_emails

    return preload_for_emails([message.payload for message in emails])


def _mark_done(message_id: int) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(done_at=utcnow(), locked_until=None, last_error=None),
        execution_options={"synchronize_session": False},
    )


def _claim(message_id: int, now: datetime) -> bool:
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.done_at.is_(None),
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= now),
        )
        .values(locked_until=now + LEASE, attempts=OutboxMessage.attempts + 1),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _release_after_failure(message_id: int, now: datetime, error: Exception) -> None:
    attempts = db.session.scalar(
        select(OutboxMessage.attempts).where(OutboxMessage.id == message_id)
    ) or 1
    delay = min(60 * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
    log.warning("outbox message %s failed (attempt %s), retry in %ss: %s",
                message_id, attempts, delay, error)
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(locked_until=now + timedelta(seconds=delay),
                last_error=f"{type(error).__name__}: {error}"[:2000]),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def _perform(message: OutboxMessage) -> None:
    if message.kind == "email":
        from irritants.services.mailer import send_outbox_email

        send_outbox_email(message)
        return
    raise ValueError(f"unknown outbox message kind {message.kind!r}")


def deliver_pending(now: datetime | None = None, older_than_seconds: float = 0) -> int:
    """The relay: perform the messages not done after older_than_seconds; the number sent."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=older_than_seconds)
    sent = seen = 0
    last_id = 0
    while seen < RELAY_MAX_PER_RUN:
        ids = db.session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.done_at.is_(None),
                OutboxMessage.created_at <= cutoff,
                or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= now),
                OutboxMessage.id > last_id,
            )
            .order_by(OutboxMessage.id)
            .limit(RELAY_BATCH)
        ).all()
        db.session.commit()
        if not ids:
            break
        sent += deliver_many(ids, now)
        seen += len(ids)
        last_id = ids[-1]
    return sent


def pending_count() -> int:
    """Messages not yet performed (for health pages and tests)."""
    from sqlalchemy import func

    return db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.done_at.is_(None))
    ) or 0
