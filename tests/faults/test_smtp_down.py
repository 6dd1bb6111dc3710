"""R8: the SMTP server is down while irritants are logged; every email goes out after it returns.

gunicorn (2 workers) and an rq worker send mail through an aiosmtpd server on loopback.
While it is stopped, logging still answers 201 at once (mail is an outbox row performed
after commit); each delivery job fails, keeps its row with the error and a backoff. When
the server is back, the relay of the every-5-seconds sweep tick sends every waiting row:
all notifications are delivered, each with its stable Message-ID, and duplicates are
counted (the outbox's lease makes them impossible without a crash between send and mark).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from irritants.extensions import db
from irritants.models import OutboxMessage
from irritants.services.mailer import message_id_for
from tests.faults.conftest import Services, api_token, percentile, wait_until

pytestmark = pytest.mark.slow

BEFORE, DURING = 3, 10
RECOVERY_LIMIT = 150  # seconds: the first retry comes 60 s after a failed send


def outbox() -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def log_irritants(base_url: str, token: str, count: int, label: str) -> list[float]:
    """POST `count` irritants; their response times (each must be a 201)."""
    seconds = []
    with httpx.Client(base_url=base_url, timeout=10,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        for number in range(count):
            started = time.monotonic()
            response = http.post("/api/v1/irritants", json={
                "category": "late-delivery", "severity": "high",
                "description": f"SMTP test {label} {number}"})
            seconds.append(time.monotonic() - started)
            assert response.status_code == 201, response.text
    return seconds


def test_notifications_logged_during_an_smtp_outage_are_all_delivered_after_it(
    services: Services, org: dict[str, Any], report: Any
) -> None:
    sink = services.smtp()
    redis = services.redis()
    mail = {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(sink.port),
            "REDIS_URL": redis.url}
    gunicorn = services.gunicorn(**mail)
    services.rq_worker(redis.url, "r8", **mail)
    passwords = {user["email"]: user["password"] for user in org["users"]}
    token = api_token(gunicorn.url, "agent.lille@example.com",
                      passwords["agent.lille@example.com"])

    normal = log_irritants(gunicorn.url, token, BEFORE, "before")
    assert wait_until(lambda: len(sink.received()) == BEFORE, 60), services.logs()

    sink.stop()
    outage = log_irritants(gunicorn.url, token, DURING, "during")
    # Every delivery job tried, failed, and kept its row with the error and a backoff.
    assert wait_until(lambda: sum(1 for row in outbox() if row.done_at is None
                                  and row.attempts >= 1 and row.last_error) == DURING,
                      60, 0.5), services.logs()
    failed = [row for row in outbox() if row.done_at is None]
    assert {row.last_error.split(":")[0] for row in failed} == {"ConnectionRefusedError"}

    sink.start()
    back = time.monotonic()
    delivered = wait_until(lambda: all(row.done_at is not None for row in outbox()),
                           RECOVERY_LIMIT, 1)
    recovery = time.monotonic() - back
    rows = outbox()
    expected = {message_id_for(row) for row in rows}
    received = Counter(message["message_id"] for message in sink.received())
    duplicates = sum(count - 1 for count in received.values())
    attempts = db.session.scalar(select(func.max(OutboxMessage.attempts)))
    report("R8 SMTP down", {
        "mails_before": BEFORE, "mails_queued_during_outage": DURING,
        "mails_sent": sum(received.values()), "duplicates": duplicates,
        "recovery_s": round(recovery, 1), "max_attempts": attempts,
        "post_p95_ms_normal": round(percentile(normal, 0.95) * 1000),
        "post_p95_ms_smtp_down": round(percentile(outage, 0.95) * 1000),
    })

    assert delivered, services.logs()
    assert len(rows) == BEFORE + DURING
    assert set(received) == expected  # every notification, nothing else
    assert duplicates == 0
    assert all(row.last_error is None for row in rows)
