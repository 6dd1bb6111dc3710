"""Emails in the recipient's language, with French punctuation spacing in French."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from irritants import jobs
from irritants.models import OutboxMessage, User
from irritants.services.intake import log_irritant
from irritants.services.resolution import resolve_irritant


@pytest.fixture
def no_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outbox messages wait in the table; the test delivers them."""
    monkeypatch.setattr(jobs, "enqueue", lambda func, *args, job_id=None: True)


def speaking(user: Callable[[str], User], name: str, locale: str, db: Any) -> User:
    person = user(name)
    person.locale = locale
    db.session.commit()
    return person


def delivered(db: Any, sent_mail: list[Any]) -> list[Any]:
    """Send every waiting outbox message; the emails sent."""
    for message_id in db.session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.done_at.is_(None))).all():
        jobs.deliver_outbox_message(message_id)
    return sent_mail


def log_for_north_bo(user: Callable[[str], User]) -> Any:
    return log_irritant(user("agent.lille"), category="late-delivery", severity="high",
                        description="Parcel late", amount=40)


def html_of(email: Any) -> str:
    return str(email.alternatives[0][0])


def test_an_assignment_email_in_french_spaces_its_colons(db, user, no_jobs, sent_mail):
    speaking(user, "lead.northbo", "fr", db)
    log_for_north_bo(user)

    [email] = delivered(db, sent_mail)

    # A no-break space: the colon never starts a line.
    assert "\u00a0: " in email.subject
    assert ":" not in email.subject.replace("\u00a0:", "")
    for text in (email.body, html_of(email)):
        assert "Catégorie\u00a0: " in text
        assert "Gravité\u00a0: Élevée" in text
        assert "Échéance\u00a0: " in text
        assert "Catégorie:" not in text
        assert "Catégorie :" not in text
        assert "Échéance:" not in text


def test_an_assignment_email_in_english_keeps_english_colons(db, user, no_jobs, sent_mail):
    speaking(user, "lead.northbo", "en", db)
    log_for_north_bo(user)

    [email] = delivered(db, sent_mail)

    for text in (email.body, html_of(email)):
        assert "Category: " in text
        assert "Severity: High" in text
        assert "Due: " in text


def test_a_resolution_email_in_french_spaces_its_colons(db, user, no_jobs, sent_mail):
    speaking(user, "agent.lille", "fr", db)
    irritant = log_for_north_bo(user)
    delivered(db, sent_mail).clear()

    resolve_irritant(irritant.id, actor=user("lead.northbo"), resolution="Parcel found")
    [email] = delivered(db, sent_mail)

    assert email.to == ["agent.lille@example.com"]
    assert " résolu\u00a0: " in email.subject
    for text in (email.body, html_of(email)):
        assert "Catégorie\u00a0: " in text
        assert "Résolu par\u00a0: " in text
    assert "Résolution\u00a0:\n" in email.body
