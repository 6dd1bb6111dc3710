"""Logging an irritant: routed per routing.md, events and gap items written, bad input refused."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from irritants.models import (
    Category,
    GapItem,
    Irritant,
    IrritantEvent,
    Notification,
    OutboxMessage,
    Unit,
    utcnow,
)
from irritants.services.errors import Conflict, InvalidInput, NotFound
from irritants.services.intake import (
    add_occurrence,
    attach_photo,
    attachments_of,
    categories_by_use,
    get_attachment,
    log_irritant,
    photo_path,
    similar_open_irritants,
)
from irritants.services.outbox import deliver_pending

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

CASES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "org-small-cases.json").read_text()
)["cases"]
LOGGING_CASES = [case for case in CASES if "excluded" not in case["given"]]
NOT_A_PHOTO = "The photo must be a JPEG, PNG, WebP or HEIC image."
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


def keyed(unit_id: int | None, db: Any) -> str | None:
    return None if unit_id is None else db.session.get(Unit, unit_id).key


@pytest.mark.parametrize(
    "case", LOGGING_CASES,
    ids=[f"{c['given']['category']}-{c['given']['origin']}-{c['given'].get('amount', 0)}"
         for c in LOGGING_CASES],
)
def test_logging_routes_each_shared_case_and_writes_its_event_and_gap_items(db, user, case):
    given, expect = case["given"], case["expect"]
    irritant = log_irritant(user("director"), category=given["category"], severity="medium",
                            description="Customer unhappy", amount=given.get("amount"),
                            origin_unit=given["origin"], now=T0)

    assert keyed(irritant.assignee_id, db) == expect["assignee"]
    assert irritant.rank == expect["rank"]
    assert irritant.unroutable is expect["unroutable"]
    assert irritant.gaps == expect["gaps"]
    assert irritant.status == "open"
    assert irritant.requirements == irritant.initial_requirements
    events = db.session.scalars(select(IrritantEvent)).all()
    assert [(e.type, keyed(e.assignee_id, db), e.rank, e.gaps, e.unroutable) for e in events] == [
        ("routed", expect["assignee"], expect["rank"], expect["gaps"], expect["unroutable"])
    ]
    assert events[0].data == {"kind": "logged", "reason": None, "needs": None}
    assert events[0].org_version == 1
    expected_items = sorted(
        [(gap["unit"], "competency", key, None, None) for gap in expect["gaps"]
         for key in gap["missing_competencies"]]
        + [(gap["unit"], "authority", key, Decimal(str(detail["required"])),
            None if "limit" not in detail else Decimal(str(detail["limit"])))
           for gap in expect["gaps"] for key, detail in gap["missing_authorities"].items()]
        + [(gap["unit"], "tool", key, None, None) for gap in expect["gaps"]
           for key in gap["missing_tools"]],
        key=str,
    )
    items = db.session.scalars(select(GapItem)).all()
    assert sorted([(i.unit_key, i.kind, i.item_key, i.required, i.limit) for i in items],
                  key=str) == expected_items
    assert {(i.event_id, i.irritant_id, i.at) for i in items} <= {(events[0].id, irritant.id, T0)}


def test_requirements_at_logging_are_the_categorys_with_the_amount(db, user):
    irritant = log_irritant(user("agent.lille"), category="late-delivery", severity="high",
                            description="Parcel late", amount=Decimal("40.00"), now=T0)
    assert irritant.requirements == {"competencies": ["delivery"],
                                     "authorities": {"gesture": 40}, "tools": ["carrier-portal"]}
    assert json.dumps(irritant.requirements["authorities"]) == '{"gesture": 40}'
    assert irritant.amount == Decimal("40.00")

    cents = log_irritant(user("agent.lille"), category="late-delivery", severity="high",
                         description="Parcel late", amount=40.5, now=T0)
    assert cents.requirements["authorities"] == {"gesture": 40.5}


def test_an_absent_amount_requires_the_authority_with_zero(db, user):
    irritant = log_irritant(user("agent.lille"), category="faulty-product", severity="low",
                            description="Broken kettle", now=T0)
    assert irritant.requirements["authorities"] == {"refund": 0}
    assert irritant.amount is None


def test_a_category_without_authority_requires_none(db, user):
    irritant = log_irritant(user("agent.lille"), category="rude-service", severity="low",
                            description="Rude", now=T0)
    assert irritant.requirements == {"competencies": ["service"], "authorities": {},
                                     "tools": []}


@pytest.mark.parametrize(("category", "severity", "hours"), [
    ("rude-service", "critical", 4), ("rude-service", "high", 24),
    ("rude-service", "medium", 72), ("rude-service", "low", 168),
    ("late-delivery", "critical", 2), ("late-delivery", "high", 24),
])
def test_due_time_is_logging_time_plus_the_sla_hours(db, user, category, severity, hours):
    irritant = log_irritant(user("agent.lille"), category=category, severity=severity,
                            description="x", now=T0)
    assert irritant.created_at == T0
    assert irritant.due_at == T0 + timedelta(hours=hours)


def test_origin_defaults_to_the_reporters_unit_and_a_call_centre_agent_may_name_another(db, user):
    own = log_irritant(user("agent.marseille"), category="rude-service", severity="low",
                       description="x", now=T0)
    named = log_irritant(user("agent.marseille"), category="rude-service", severity="low",
                         description="x", origin_unit="lille", now=T0)
    assert keyed(own.origin_unit_id, db) == "marseille"
    assert keyed(named.origin_unit_id, db) == "lille"
    assert keyed(named.assignee_id, db) == "lille"
    assert named.reporter_id == user("agent.marseille").id


def test_optional_fields_are_stored_as_given(db, user):
    irritant = log_irritant(user("agent.lille"), category="rude-service", severity="low",
                            description="  Rude cashier \n", customer_ref="C-1234",
                            channel="store", now=T0)
    assert (irritant.description, irritant.customer_ref, irritant.channel) == (
        "Rude cashier", "C-1234", "store")


def test_the_open_load_breaks_a_tie_between_equally_near_units(db, user):
    director = user("director")
    for origin in ("lille", "lille", "roubaix"):
        log_irritant(director, category="rude-service", severity="low", description="x",
                     origin_unit=origin, now=T0)
    # north's children both have "service": lille has 2 open, roubaix 1.
    db.session.execute(Unit.__table__.update().where(Unit.key == "north").values(
        competencies=["billing", "delivery", "product"]))
    from irritants.services.org_version import bump_org_version

    bump_org_version()
    db.session.commit()
    irritant = log_irritant(director, category="rude-service", severity="low",
                            description="x", origin_unit="north", now=T0)
    assert keyed(irritant.assignee_id, db) == "roubaix"
    assert irritant.rank == [1, 0, 1, "roubaix"]


def test_a_closed_unit_is_never_assigned(db, user):
    # north loses "service": from north, lille and roubaix tie; lille wins on its key...
    db.session.execute(Unit.__table__.update().where(Unit.key == "north").values(
        competencies=["billing", "delivery", "product"]))
    from irritants.services.org_version import bump_org_version

    bump_org_version()
    db.session.commit()
    director = user("director")
    before = log_irritant(director, category="rude-service", severity="low", description="x",
                          origin_unit="north", now=T0)
    assert keyed(before.assignee_id, db) == "lille"
    # ...until lille closes.
    db.session.execute(Unit.__table__.update().where(Unit.key == "lille").values(closed_at=T0))
    bump_org_version()
    db.session.commit()
    after = log_irritant(director, category="rude-service", severity="low", description="x",
                         origin_unit="north", now=T0)
    assert keyed(after.assignee_id, db) == "roubaix"
    assert after.rank == [1, 0, 0, "roubaix"]
    with pytest.raises(InvalidInput) as refused:
        log_irritant(user("agent.lille"), category="rude-service", severity="low",
                     description="x", now=T0)
    assert refused.value.field_errors == {"origin_unit": ["This unit is closed."]}


BAD_INPUTS = [
    ("category", {"category": "no-such-category"}),
    ("category", {"category": None}),
    ("category", {"category": ""}),
    ("category", {"category": 12}),
    ("severity", {"severity": "urgent"}),
    ("severity", {"severity": None}),
    ("severity", {"severity": 3}),
    ("description", {"description": ""}),
    ("description", {"description": "   \n "}),
    ("description", {"description": None}),
    ("description", {"description": "x" * 10_001}),
    ("description", {"description": "nul \x00 byte"}),
    ("description", {"description": 42}),
    ("amount", {"amount": -1}),
    ("amount", {"amount": -0.01}),
    ("amount", {"amount": 1.234}),
    ("amount", {"amount": Decimal("0.001")}),
    ("amount", {"amount": True}),
    ("amount", {"amount": "40"}),
    ("amount", {"amount": [1]}),
    ("amount", {"amount": {"$gt": 0}}),
    ("amount", {"amount": float("nan")}),
    ("amount", {"amount": float("inf")}),
    ("amount", {"amount": 10**12}),
    ("origin_unit", {"origin_unit": "atlantis"}),
    ("origin_unit", {"origin_unit": 3}),
    ("customer_ref", {"customer_ref": "C" * 101}),
    ("customer_ref", {"customer_ref": "C-\x00"}),
    ("customer_ref", {"customer_ref": 1234}),
    ("channel", {"channel": "fax"}),
    ("channel", {"channel": 1}),
]


@pytest.mark.parametrize(("field", "override"), BAD_INPUTS,
                         ids=[f"{field}-{i}" for i, (field, _) in enumerate(BAD_INPUTS)])
def test_bad_input_is_refused_on_its_field_and_nothing_is_written(db, user, row_counts, field,
                                                                   override):
    actor = user("agent.lille")
    before = row_counts()
    arguments: dict[str, Any] = {"category": "late-delivery", "severity": "high",
                                 "description": "Parcel late", "amount": 40, **override}
    with pytest.raises(InvalidInput) as refused:
        log_irritant(actor, now=T0, **arguments)
    assert list(refused.value.field_errors) == [field]
    assert refused.value.field_errors[field]
    assert row_counts() == before == {
        "irritant": 0, "irritant_event": 0, "gap_item": 0, "outbox_message": 0,
        "notification": 0, "attachment": 0}


def test_an_inactive_category_is_refused(db, user, row_counts):
    from irritants.services.org_version import bump_org_version

    db.session.execute(Category.__table__.update().where(Category.key == "app-bug")
                       .values(active=False))
    bump_org_version()  # a category change is an org change (loggings cache categories)
    db.session.commit()
    with pytest.raises(InvalidInput) as refused:
        log_irritant(user("agent.lille"), category="app-bug", severity="low",
                     description="x", now=T0)
    assert refused.value.field_errors == {"category": ["Unknown category."]}
    assert row_counts()["irritant"] == 0


def test_a_logging_uses_the_category_as_changed_since_the_previous_logging(db, user):
    from irritants.services import org_edit

    agent = user("agent.lille")
    before = log_irritant(agent, category="late-delivery", severity="critical",
                          description="x", amount=40, now=T0)
    current = org_edit._category_state(org_edit.get_category("late-delivery"))
    org_edit.update_category("late-delivery", **{**current, "sla_hours": {"critical": 1},
                                                 "tools": [], "authority": None}, actor=None)

    after = log_irritant(agent, category="late-delivery", severity="critical",
                         description="x", amount=40, now=T0)

    assert (before.due_at, after.due_at) == (T0 + timedelta(hours=2), T0 + timedelta(hours=1))
    assert before.requirements == {"competencies": ["delivery"],
                                   "authorities": {"gesture": 40}, "tools": ["carrier-portal"]}
    assert after.requirements == {"competencies": ["delivery"], "authorities": {},
                                  "tools": []}
    org_edit.update_category("late-delivery", **{**current, "active": False}, actor=None)
    with pytest.raises(InvalidInput) as refused:
        log_irritant(agent, category="late-delivery", severity="low", description="x", now=T0)
    assert refused.value.field_errors == {"category": ["Unknown category."]}


def test_every_bad_field_is_reported_at_once(db, user):
    with pytest.raises(InvalidInput) as refused:
        log_irritant(user("agent.lille"), category="nope", severity="nope", description="",
                     amount=-5, origin_unit="nope", customer_ref="x" * 200, channel="nope")
    assert sorted(refused.value.field_errors) == [
        "amount", "category", "channel", "customer_ref", "description", "origin_unit",
        "severity"]


def test_the_limits_themselves_are_accepted(db, user):
    irritant = log_irritant(user("agent.lille"), category="late-delivery", severity="high",
                            description="x" * 10_000, amount=Decimal("999999999999.99"),
                            customer_ref="C" * 100, channel="other", now=T0)
    assert len(irritant.description) == 10_000
    assert irritant.amount == Decimal("999999999999.99")


def test_logging_tells_the_leads_of_the_assignee_in_app_and_by_email(db, user, sent_mail):
    irritant = log_irritant(user("agent.lille"), category="late-delivery", severity="high",
                            description="Parcel <b>late</b>", amount=40, now=T0)
    lead = user("lead.northbo")
    notes = db.session.scalars(select(Notification)).all()
    assert [(n.user_id, n.kind, n.irritant_id) for n in notes] == [
        (lead.id, "assigned", irritant.id)]
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert [(m.kind, m.payload["template"], m.payload["user_id"]) for m in messages] == [
        ("email", "assigned", lead.id)]
    assert messages[0].done_at is not None  # no Redis in tests: the job ran inline
    assert len(sent_mail) == 1
    email = sent_mail[0]
    assert email.to == ["lead.northbo@example.com"]
    # French is the language of a user without a locale.
    with force_locale("fr"):
        expected = gettext("New irritant #%(id)s for %(unit)s: %(category)s") % {
            "id": irritant.id, "unit": "North back-office", "category": "Late delivery"}
    assert email.subject == expected
    assert "Parcel <b>late</b>" in email.body
    html = email.alternatives[0][0]
    assert "Parcel &lt;b&gt;late&lt;/b&gt;" in html
    assert email.extra_headers["Message-ID"].startswith(f"<irritants.{messages[0].id}.")


def test_logging_notifies_every_active_lead_of_the_assignee_in_one_statement(
        db, user, sent_mail):
    from sqlalchemy import event

    from irritants.models import User

    first = user("lead.northbo")
    unit_id = first.unit_id
    second = User(email="lead2.northbo@example.com", name="Second lead", role="lead",
                  unit_id=unit_id)
    gone = User(email="gone.northbo@example.com", name="Gone lead", role="lead",
                unit_id=unit_id, is_active_account=False)
    agent = User(email="agent.northbo@example.com", name="Agent", role="agent",
                 unit_id=unit_id)
    db.session.add_all([second, gone, agent])
    db.session.commit()
    statements: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        irritant = log_irritant(user("agent.lille"), category="late-delivery",
                                severity="high", description="Parcel late", amount=40, now=T0)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    logged = [statement.split(" (")[0] for statement in statements]
    logged = logged[:logged.index("INSERT INTO outbox_message") + 1]
    assert logged.count("INSERT INTO notification") == 1
    # The leads are read by the notifications' INSERT ... SELECT, not by a query of their own.
    assert not [statement for statement in statements
                if statement.startswith("SELECT") and '"user".role = ' in statement]
    notes = db.session.scalars(select(Notification).order_by(Notification.user_id)).all()
    assert [(n.user_id, n.kind, n.irritant_id, n.dedupe_key) for n in notes] == [
        (lead.id, "assigned", irritant.id, f"assigned:{notes[0].data['event_id']}")
        for lead in (first, second)]
    assert notes[0].data == {"irritant_id": irritant.id, "how": "logged",
                             "unit": "North back-office", "event_id": notes[0].data["event_id"]}
    assert notes[0].created_at is not None
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.payload["user_id"] for m in messages] == [first.id, second.id]
    assert sorted(mail.to[0] for mail in sent_mail) == [
        "lead.northbo@example.com", "lead2.northbo@example.com"]


def test_an_irritant_assigned_to_a_unit_without_leads_notifies_nobody(db, user, sent_mail):
    log_irritant(user("agent.lille"), category="rude-service", severity="low",
                 description="x", now=T0)
    # lille has a lead: Louis.
    assert len(sent_mail) == 1
    log_irritant(user("agent.marseille"), category="rude-service", severity="low",
                 description="x", now=T0)
    assert len(sent_mail) == 1
    assert db.session.scalars(select(OutboxMessage)).all().__len__() == 1


def test_with_redis_down_logging_succeeds_fast_and_the_email_waits_in_the_outbox(
        app, db, user, sent_mail):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # a closed port
    try:
        started = time.monotonic()
        irritant = log_irritant(user("agent.lille"), category="late-delivery", severity="high",
                                description="Parcel late", amount=40)
        elapsed = time.monotonic() - started
    finally:
        app.config["REDIS_URL"] = None
    assert elapsed < 1.0
    assert db.session.get(Irritant, irritant.id) is not None
    pending = db.session.scalars(select(OutboxMessage)).all()
    assert [(m.done_at, m.attempts) for m in pending] == [(None, 0)]
    assert sent_mail == []

    # Redis back (or not): the relay of the next sweep sends what waited over 30 seconds.
    assert deliver_pending(older_than_seconds=30) == 0
    assert deliver_pending(now=utcnow() + timedelta(seconds=31), older_than_seconds=30) == 1
    assert [email.to for email in sent_mail] == [["lead.northbo@example.com"]]


def test_similar_open_irritants_are_the_same_category_and_origin_newest_first(db, user):
    agent = user("agent.lille")
    old = log_irritant(agent, category="rude-service", severity="low", description="a",
                       now=T0 - timedelta(days=20))
    first = log_irritant(agent, category="rude-service", severity="low", description="b",
                         now=T0 - timedelta(days=2))
    second = log_irritant(agent, category="rude-service", severity="low", description="c",
                          now=T0 - timedelta(days=1))
    log_irritant(agent, category="faulty-product", severity="low", description="d", now=T0)
    log_irritant(user("director"), category="rude-service", severity="low", description="e",
                 origin_unit="roubaix", now=T0)
    from irritants.services.resolution import resolve_irritant

    resolved = log_irritant(agent, category="rude-service", severity="low", description="f",
                            now=T0)
    resolve_irritant(resolved.id, actor=agent, resolution="done", now=T0)

    found = similar_open_irritants(category="rude-service", origin_unit="lille", now=T0)
    assert [item.id for item in found] == [second.id, first.id]
    assert old.id not in [item.id for item in found]
    assert [i.id for i in similar_open_irritants(category="rude-service", origin_unit="lille",
                                                 days=30, limit=1, now=T0)] == [second.id]
    assert similar_open_irritants(category="nope", origin_unit="lille", now=T0) == []


def test_it_happened_again_counts_an_occurrence_with_the_customer_reference(db, user):
    agent = user("agent.lille")
    irritant = log_irritant(agent, category="rude-service", severity="low", description="a",
                            now=T0)
    again = add_occurrence(irritant.id, actor=agent, customer_ref="C-77",
                           now=T0 + timedelta(hours=1))
    assert again.occurrences == 2
    event = db.session.scalars(select(IrritantEvent).where(
        IrritantEvent.type == "occurred_again")).one()
    assert (event.actor_id, event.at, event.data) == (agent.id, T0 + timedelta(hours=1),
                                                      {"customer_ref": "C-77"})
    with pytest.raises(NotFound):
        add_occurrence(999_999, actor=agent)


def test_it_happened_again_on_a_resolved_irritant_is_a_conflict(db, user):
    from irritants.services.resolution import resolve_irritant

    agent = user("agent.lille")
    irritant = log_irritant(agent, category="rude-service", severity="low", description="a",
                            now=T0)
    resolve_irritant(irritant.id, actor=agent, resolution="done", now=T0)
    with pytest.raises(Conflict):
        add_occurrence(irritant.id, actor=agent)
    assert db.session.get(Irritant, irritant.id).occurrences == 1


def test_a_photo_is_stored_under_a_generated_name_with_a_safe_display_name(db, user):
    agent = user("agent.lille")
    irritant = log_irritant(agent, category="rude-service", severity="low", description="a",
                            now=T0)
    attachment = attach_photo(irritant.id, actor=agent, data=PNG,
                              filename='../../etc/pass"wd\r\n<x>.png', now=T0)
    assert attachment.content_type == "image/png"
    assert attachment.size == len(PNG)
    assert attachment.stored_name.endswith(".png")
    assert len(attachment.stored_name) == 32 + 4
    assert attachment.original_filename == "pass_wd_x_.png"
    path = photo_path(attachment)
    assert path.read_bytes() == PNG
    assert "etc" not in str(path)
    event = db.session.scalars(select(IrritantEvent).where(
        IrritantEvent.type == "photo_added")).one()
    assert event.data == {"attachment_id": attachment.id}


@pytest.mark.parametrize(("data", "message"), [
    (b"", "The file is empty."),
    (b"<html><script>alert(1)</script></html>", NOT_A_PHOTO),
    (b"GIF89a" + b"\x00" * 20, NOT_A_PHOTO),
    (b"%PDF-1.4\n" + b"\x00" * 20, NOT_A_PHOTO),
])
def test_a_file_that_is_not_a_photo_is_refused_whatever_its_name(db, user, row_counts, data,
                                                                  message):
    agent = user("agent.lille")
    irritant = log_irritant(agent, category="rude-service", severity="low", description="a",
                            now=T0)
    before = row_counts()
    with pytest.raises(InvalidInput) as refused:
        attach_photo(irritant.id, actor=agent, data=data, filename="photo.jpg")
    assert refused.value.field_errors == {"photo": [message]}
    assert row_counts() == before


def test_a_photo_over_the_size_limit_is_refused(app, db, user, row_counts):
    agent = user("agent.lille")
    irritant = log_irritant(agent, category="rude-service", severity="low", description="a",
                            now=T0)
    before = row_counts()
    too_big = PNG + b"\x00" * app.config["PHOTO_MAX_BYTES"]
    with pytest.raises(InvalidInput) as refused:
        attach_photo(irritant.id, actor=agent, data=too_big, filename="big.png")
    assert list(refused.value.field_errors) == ["photo"]
    assert row_counts() == before


def test_only_someone_who_may_read_the_irritant_may_add_a_photo(db, user):
    irritant = log_irritant(user("agent.lille"), category="rude-service", severity="low",
                            description="a", now=T0)
    with pytest.raises(NotFound):
        attach_photo(irritant.id, actor=user("agent.marseille"), data=PNG, filename="p.png")


def test_the_email_is_in_the_recipients_language(db, user, sent_mail):
    lead = user("lead.northbo")
    lead.locale = "en"
    db.session.commit()
    irritant = log_irritant(user("agent.lille"), category="late-delivery", severity="high",
                            description="Parcel late", amount=40, now=T0)
    assert [email.subject for email in sent_mail] == [
        f"New irritant #{irritant.id} for North back-office: Late delivery"]
    assert sent_mail[0].body.startswith(
        f"A new irritant, #{irritant.id}, is assigned to North back-office.")


def test_a_subject_never_carries_a_line_break_from_the_data(db, user, sent_mail):
    db.session.execute(Unit.__table__.update().where(Unit.key == "north-bo").values(
        name="North\r\nBcc: evil@example.com"))
    db.session.execute(Category.__table__.update().where(Category.key == "late-delivery")
                       .values(label_fr="Late\ndelivery", label_en="Late\ndelivery"))
    from irritants.services.org_version import bump_org_version

    bump_org_version()
    db.session.commit()
    lead = user("lead.northbo")
    lead.locale = "en"
    db.session.commit()
    irritant = log_irritant(user("agent.lille"), category="late-delivery", severity="high",
                            description="x", amount=40, now=T0)
    subject = sent_mail[0].subject
    assert subject == (f"New irritant #{irritant.id} for North Bcc: evil@example.com: "
                       "Late delivery")
    assert "\n" not in subject
    assert "\r" not in subject
    assert sent_mail[0].message()["Bcc"] is None


def test_photos_are_listed_and_found_only_under_their_irritant(db, user):
    agent = user("agent.lille")
    first = log_irritant(agent, category="rude-service", severity="low", description="a", now=T0)
    other = log_irritant(agent, category="rude-service", severity="low", description="b", now=T0)
    photo = attach_photo(first.id, actor=agent, data=PNG, filename="a.png", now=T0)
    assert [a.id for a in attachments_of(first.id)] == [photo.id]
    assert attachments_of(other.id) == []
    assert get_attachment(first.id, photo.id).id == photo.id
    with pytest.raises(NotFound):
        get_attachment(other.id, photo.id)


def test_categories_come_most_used_at_the_origin_first_then_by_label(db, user):
    agent = user("agent.lille")
    for category in ("app-bug", "app-bug", "late-delivery"):
        log_irritant(agent, category=category, severity="low", description="x", amount=1,
                     now=T0)
    assert categories_by_use("lille", "en", now=T0) == [
        ("app-bug", "Mobile app bug"), ("late-delivery", "Late delivery"),
        ("billing-error", "Billing error"), ("faulty-product", "Faulty product"),
        ("rude-service", "Unwelcoming service")]
    assert categories_by_use("roubaix", "en", now=T0)[0] == ("billing-error", "Billing error")
