"""Take, comment, resolve: statuses, root causes, the reporter told, bad input refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from irritants.models import Category, Irritant, IrritantEvent, Notification, OutboxMessage
from irritants.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from irritants.services.escalation import escalate_irritant
from irritants.services.intake import log_irritant
from irritants.services.resolution import comment_on, resolve_irritant, take_irritant

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def log(user: Any, reporter: str = "agent.lille", category: str = "rude-service") -> Irritant:
    return log_irritant(user(reporter), category=category, severity="medium",
                        description="Rude cashier", origin_unit="lille", now=T0)


def test_taking_an_irritant_puts_it_in_progress_with_the_taker(db, user):
    irritant = log(user)
    agent = user("agent.lille")
    taken = take_irritant(irritant.id, actor=agent, now=T0 + timedelta(minutes=1))
    assert (taken.status, taken.taken_by_id) == ("in_progress", agent.id)
    event = db.session.scalars(select(IrritantEvent).where(IrritantEvent.type == "taken")).one()
    assert (event.actor_id, event.at) == (agent.id, T0 + timedelta(minutes=1))


def test_taking_it_again_is_harmless_for_the_same_person_and_a_conflict_for_another(db, user):
    irritant = log(user)
    take_irritant(irritant.id, actor=user("agent.lille"), now=T0)
    again = take_irritant(irritant.id, actor=user("agent.lille"), now=T0)
    assert again.taken_by_id == user("agent.lille").id
    with pytest.raises(Conflict):
        take_irritant(irritant.id, actor=user("lead.lille"), now=T0)
    assert len(db.session.scalars(select(IrritantEvent).where(
        IrritantEvent.type == "taken")).all()) == 1


def test_only_people_of_the_assignee_unit_may_take_it(db, user):
    irritant = log(user)
    escalate_irritant(irritant.id, actor=user("lead.lille"), reason="r", now=T0)  # -> north
    with pytest.raises(NotFound):  # agent.lille may read it (logged it) but is not north
        take_irritant(irritant.id, actor=user("agent.lille"), now=T0)
    taken = take_irritant(irritant.id, actor=user("lead.north"), now=T0)
    assert taken.status == "in_progress"


def test_a_comment_is_an_event_with_its_text(db, user):
    irritant = log(user)
    event = comment_on(irritant.id, actor=user("lead.north"), text=" Called the store. ",
                       now=T0 + timedelta(hours=1))
    assert (event.type, event.actor_id, event.at, event.data) == (
        "commented", user("lead.north").id, T0 + timedelta(hours=1),
        {"text": "Called the store."})


@pytest.mark.parametrize(("text", "message"), [
    ("", "This field is required."),
    ("  ", "This field is required."),
    (None, "This field is required."),
    ("x" * 10_001, "Must be at most 10000 characters long."),
    ("a\x00b", "Must not contain a NUL character."),
    (["x"], "Must be a string."),
])
def test_a_bad_comment_is_refused_and_nothing_written(db, user, row_counts, text, message):
    irritant = log(user)
    before = row_counts()
    with pytest.raises(InvalidInput) as refused:
        comment_on(irritant.id, actor=user("agent.lille"), text=text, now=T0)
    assert refused.value.field_errors == {"text": [message]}
    assert row_counts() == before


def test_resolving_records_resolution_and_root_cause_and_tells_the_reporter(db, user,
                                                                             sent_mail):
    irritant = log(user, reporter="agent.marseille", category="rude-service")
    reporter = user("agent.marseille")
    reporter.locale = "en"
    db.session.commit()
    lead = user("lead.lille")
    at = T0 + timedelta(hours=2)
    sent_mail.clear()

    resolved = resolve_irritant(irritant.id, actor=lead,
                                resolution="Apologised & <b>refunded</b>",
                                root_cause="training", now=at)

    assert (resolved.status, resolved.resolved_at, resolved.resolution, resolved.root_cause,
            resolved.root_cause_detail) == (
        "resolved", at, "Apologised & <b>refunded</b>", "training", None)
    event = db.session.scalars(select(IrritantEvent).where(
        IrritantEvent.type == "resolved")).one()
    assert (event.actor_id, event.at, event.data) == (
        lead.id, at, {"resolution": "Apologised & <b>refunded</b>", "root_cause": "training",
                      "root_cause_detail": None})
    note = db.session.scalars(select(Notification).where(
        Notification.user_id == reporter.id)).one()
    assert (note.kind, note.data["resolution"]) == ("resolved", "Apologised & <b>refunded</b>")
    assert [email.to for email in sent_mail] == [["agent.marseille@example.com"]]
    assert sent_mail[0].subject == f"Irritant #{irritant.id} resolved: Unwelcoming service"
    assert "Apologised & <b>refunded</b>" in sent_mail[0].body
    assert "Apologised &amp; &lt;b&gt;refunded&lt;/b&gt;" in sent_mail[0].alternatives[0][0]


def test_other_as_root_cause_needs_a_detail(db, user, row_counts):
    irritant = log(user)
    before = row_counts()
    with pytest.raises(InvalidInput) as refused:
        resolve_irritant(irritant.id, actor=user("lead.lille"), resolution="done",
                         root_cause="other", now=T0)
    assert refused.value.field_errors == {"root_cause_detail": ["This field is required."]}
    assert row_counts() == before
    resolved = resolve_irritant(irritant.id, actor=user("lead.lille"), resolution="done",
                                root_cause="other", root_cause_detail="A one-off", now=T0)
    assert (resolved.root_cause, resolved.root_cause_detail) == ("other", "A one-off")


@pytest.mark.parametrize(("arguments", "errors"), [
    ({"resolution": ""}, {"resolution": ["This field is required."]}),
    ({"resolution": "x" * 10_001}, {"resolution": ["Must be at most 10000 characters long."]}),
    ({"resolution": "ok", "root_cause": "bad-luck"},
     {"root_cause": ["Choose one of the category's root causes."]}),
    ({"resolution": "ok", "root_cause": 3},
     {"root_cause": ["Choose one of the category's root causes."]}),
    ({"resolution": "ok", "require_root_cause": True}, {"root_cause": ["Choose a root cause."]}),
    ({"resolution": "", "root_cause": "nope"},
     {"resolution": ["This field is required."],
      "root_cause": ["Choose one of the category's root causes."]}),
])
def test_a_bad_resolution_is_refused_and_nothing_written(db, user, row_counts, arguments,
                                                         errors):
    irritant = log(user)
    before = row_counts()
    with pytest.raises(InvalidInput) as refused:
        resolve_irritant(irritant.id, actor=user("lead.lille"), now=T0, **arguments)
    assert refused.value.field_errors == errors
    assert row_counts() == before
    assert db.session.get(Irritant, irritant.id).status == "open"


def test_the_root_causes_are_the_categorys_own(db, user):
    db.session.execute(Category.__table__.update().where(Category.key == "rude-service").values(
        root_causes=[{"key": "attitude", "fr": "Attitude", "en": "Attitude"}]))
    db.session.commit()
    irritant = log(user)
    with pytest.raises(InvalidInput):
        resolve_irritant(irritant.id, actor=user("lead.lille"), resolution="ok",
                         root_cause="training", now=T0)
    resolved = resolve_irritant(irritant.id, actor=user("lead.lille"), resolution="ok",
                                root_cause="attitude", now=T0)
    assert resolved.root_cause == "attitude"


def test_the_api_may_resolve_without_root_cause_and_the_pages_may_not(db, user):
    irritant = log(user)
    with pytest.raises(InvalidInput):
        resolve_irritant(irritant.id, actor=user("lead.lille"), resolution="ok",
                         require_root_cause=True, now=T0)
    resolved = resolve_irritant(irritant.id, actor=user("lead.lille"), resolution="ok", now=T0)
    assert (resolved.status, resolved.root_cause) == ("resolved", None)


def test_resolving_twice_is_a_conflict(db, user, row_counts):
    irritant = log(user)
    resolve_irritant(irritant.id, actor=user("lead.lille"), resolution="ok", now=T0)
    before = row_counts()
    with pytest.raises(Conflict):
        resolve_irritant(irritant.id, actor=user("director"), resolution="again", now=T0)
    assert row_counts() == before
    with pytest.raises(Conflict):
        take_irritant(irritant.id, actor=user("agent.lille"), now=T0)


def test_an_irritant_outside_the_scope_is_not_found_and_a_role_that_may_never_is_not_allowed(
        db, user):
    irritant = log(user)
    with pytest.raises(NotFound):
        resolve_irritant(irritant.id, actor=user("agent.marseille"), resolution="ok", now=T0)
    with pytest.raises(NotAllowed):
        resolve_irritant(irritant.id, actor=user("admin"), resolution="ok", now=T0)
    with pytest.raises(NotAllowed):
        comment_on(irritant.id, actor=user("admin"), text="hi", now=T0)
    with pytest.raises(NotFound):
        comment_on(999_999, actor=user("director"), text="hi", now=T0)
    assert db.session.scalars(select(OutboxMessage)).all().__len__() == 1  # lille's lead only
