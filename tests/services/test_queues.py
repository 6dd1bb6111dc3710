"""Queues, lists, events, and the plain-language explanation of a routing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from irritants.models import IrritantEvent, VocabularyLabel
from irritants.services.errors import InvalidInput
from irritants.services.escalation import escalate_irritant, reassign_irritant, sweep_overdue
from irritants.services.intake import log_irritant
from irritants.services.queues import (
    IrritantFilters,
    events_of,
    explain_routing,
    queue_counts,
    queue_for,
    visible_irritants,
)
from irritants.services.resolution import comment_on, resolve_irritant, take_irritant

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def log(user: Any, category: str = "rude-service", origin: str = "lille",
        severity: str = "low", amount: Any = None, now: datetime = T0) -> Any:
    return log_irritant(user("director"), category=category, severity=severity,
                        description="x", amount=amount, origin_unit=origin, now=now)


def test_a_queue_lists_the_unresolved_irritants_overdue_first_then_by_due_time(db, user):
    low = log(user, severity="low")            # due T0 + 168h
    critical = log(user, severity="critical")  # due T0 + 4h
    high = log(user, severity="high")          # due T0 + 24h
    resolved = log(user, severity="critical")
    resolve_irritant(resolved.id, actor=user("director"), resolution="ok", now=T0)
    elsewhere = log(user, origin="roubaix")
    now = T0 + timedelta(hours=5)               # critical is overdue

    page = queue_for("lille", actor=user("lead.lille"), now=now)

    assert [item.id for item in page.items] == [critical.id, high.id, low.id]
    assert (page.page, page.per_page, page.total) == (1, 50, 3)
    assert [item.is_overdue(now) for item in page.items] == [True, False, False]
    assert elsewhere.id not in [item.id for item in page.items]
    assert queue_counts("lille", actor=user("lead.lille"), now=now) == {
        "open": 3, "in_progress": 0, "overdue": 1}


def test_a_queue_may_include_the_descendants_and_counts_states(db, user):
    first = log(user, origin="lille")
    log(user, origin="roubaix")
    log(user, origin="marseille")
    take_irritant(first.id, actor=user("agent.lille"), now=T0)
    lead = user("lead.north")
    assert queue_for("north", actor=lead).total == 0
    wide = queue_for("north", actor=lead, include_descendants=True)
    assert wide.total == 2
    assert queue_counts("north", actor=lead, include_descendants=True, now=T0) == {
        "open": 1, "in_progress": 1, "overdue": 0}


def test_queue_filters_and_pages(db, user):
    ids = [log(user, severity="high" if n % 2 else "low", now=T0 + timedelta(minutes=n)).id
           for n in range(5)]
    lead = user("lead.lille")
    high = queue_for("lille", actor=lead, filters=IrritantFilters(severity="high"))
    assert [item.id for item in high.items] == [ids[1], ids[3]]
    second = queue_for("lille", actor=lead, page=2, per_page=2)
    assert (len(second.items), second.total, second.page) == (2, 5, 2)
    past_the_end = queue_for("lille", actor=lead, page=4, per_page=2)
    assert (past_the_end.items, past_the_end.total) == ([], 5)


@pytest.mark.parametrize(("page", "per_page", "field"), [
    (0, 50, "page"), (1, 0, "per_page"), (1, 501, "per_page"), ("1", 50, "page"),
    (True, 50, "page"),
])
def test_bad_pagination_is_refused(db, user, page, per_page, field):
    with pytest.raises(InvalidInput) as refused:
        visible_irritants(user("director"), page=page, per_page=per_page)
    assert list(refused.value.field_errors) == [field]


def test_the_list_is_newest_first_and_filters_by_keys(db, user):
    old = log(user, now=T0)
    new = log(user, now=T0 + timedelta(hours=1))
    delivery = log(user, category="late-delivery", amount=40, now=T0 + timedelta(hours=2))
    resolve_irritant(old.id, actor=user("director"), resolution="ok", root_cause="training",
                     now=T0)
    director = user("director")
    assert [i.id for i in visible_irritants(director).items] == [delivery.id, new.id, old.id]
    by = {
        "status": IrritantFilters(status="resolved"),
        "assignee": IrritantFilters(assignee="north-bo"),
        "origin": IrritantFilters(origin_unit="lille"),
        "category": IrritantFilters(category="late-delivery"),
        "root_cause": IrritantFilters(root_cause="training"),
        "unknown unit": IrritantFilters(assignee="atlantis"),
    }
    found = {name: [i.id for i in visible_irritants(director, filters=f).items]
             for name, f in by.items()}
    assert found == {
        "status": [old.id], "assignee": [delivery.id],
        "origin": [delivery.id, new.id, old.id], "category": [delivery.id],
        "root_cause": [old.id], "unknown unit": []}
    with pytest.raises(InvalidInput):
        visible_irritants(director, filters=IrritantFilters(status="closed"))


def test_events_are_oldest_first_with_every_step(db, user):
    irritant = log(user, severity="critical")
    lead = user("lead.lille")
    take_irritant(irritant.id, actor=lead, now=T0 + timedelta(minutes=1))
    comment_on(irritant.id, actor=lead, text="Looking", now=T0 + timedelta(minutes=2))
    escalate_irritant(irritant.id, actor=lead, reason="r", now=T0 + timedelta(minutes=3))
    sweep_overdue(T0 + timedelta(hours=5))
    reassign_irritant(irritant.id, actor=user("director"), unit="lille", reason="back",
                      now=T0 + timedelta(hours=6))
    resolve_irritant(irritant.id, actor=lead, resolution="ok", now=T0 + timedelta(hours=7))
    assert [event.type for event in events_of(irritant.id)] == [
        "routed", "taken", "commented", "routed", "sla_escalated", "reassigned", "resolved"]


def routed_event(db: Any, irritant_id: int) -> IrritantEvent:
    return db.session.scalars(select(IrritantEvent).where(
        IrritantEvent.irritant_id == irritant_id, IrritantEvent.type == "routed")
        .order_by(IrritantEvent.id.desc())).first()


def test_the_explanation_names_what_nearer_units_lacked_and_who_has_everything(db, user, app):
    db.session.add(VocabularyLabel(kind="tool", key="refund-terminal",
                                   label_fr="terminal de remboursement",
                                   label_en="refund terminal"))
    db.session.commit()
    irritant = log(user, category="faulty-product", amount=80)
    with force_locale("en"):
        sentences = explain_routing(routed_event(db, irritant.id))
    assert sentences == [
        "Store Lille lacks the refund terminal.",
        "Region North lacks it too.",
        "Store Roubaix, 2 steps away, has everything it takes.",
    ]


def test_the_explanation_of_an_unroutable_irritant_says_where_it_went(db, user):
    irritant = log(user, category="faulty-product", origin="nice", amount=200)
    with force_locale("en"):
        sentences = explain_routing(routed_event(db, irritant.id))
    assert sentences == [
        "Store Nice lacks an authority for refund up to 200 € (it holds none) and the "
        "refund-terminal.",
        "Region South lacks the refund-terminal.",
        "Customer service division lacks it too.",
        "No unit has everything it takes; sent to Head office.",
    ]


def test_the_explanation_spells_out_authorities_and_competencies(db, user):
    irritant = log(user, category="late-delivery", amount=500)
    with force_locale("en"):
        sentences = explain_routing(routed_event(db, irritant.id))
    assert sentences == [
        "Store Lille lacks the delivery competency, the authority for gesture up to 500 € "
        "(its limit is 50 €), and the carrier-portal.",
        "Region North lacks the authority for gesture up to 500 € (its limit is 300 €) and the "
        "carrier-portal.",
        "Customer service division, 2 steps away, has everything it takes.",
    ]


def test_the_explanation_in_french_names_amounts_in_euros_with_their_cents(db, user):
    irritant = log(user, category="late-delivery", amount=Decimal("1500.5"))
    with force_locale("fr"):
        sentences = explain_routing(routed_event(db, irritant.id))
    assert sentences[0] == (
        "Il manque à Store Lille la compétence delivery, l’habilitation gesture jusqu’à "
        "1\u202f500,50\u00a0€ (sa limite est de 50\u00a0€) et l’outil carrier-portal.")


def test_the_explanation_at_the_origin_and_after_an_escalation(db, user):
    irritant = log(user)
    with force_locale("en"):
        assert explain_routing(routed_event(db, irritant.id)) == [
            "Store Lille, where it happened, has everything it takes."]
    escalate_irritant(irritant.id, actor=user("lead.lille"), reason="r", now=T0)
    with force_locale("en"):
        assert explain_routing(routed_event(db, irritant.id)) == [
            "Escalated by Store Lille, which is now left out.",
            "Region North, 1 step away, has everything it takes."]


def test_the_explanation_is_translated(db, user):
    irritant = log(user, category="faulty-product", amount=80)
    db.session.add(VocabularyLabel(kind="tool", key="refund-terminal",
                                   label_fr="terminal de remboursement",
                                   label_en="refund terminal"))
    db.session.commit()
    with force_locale("en"):
        english = explain_routing(routed_event(db, irritant.id))
    with force_locale("fr"):
        french = explain_routing(routed_event(db, irritant.id))
    assert len(french) == len(english) == 3
    assert "terminal de remboursement" in french[0]
    assert "Store Lille" in french[0]


@pytest.mark.parametrize("irritant_id", [0, -1, 2**63, 10**30, True])
def test_an_id_no_database_can_hold_is_not_found(db, user, irritant_id):
    from irritants.services.errors import NotFound
    from irritants.services.queues import get_irritant

    with pytest.raises(NotFound):
        get_irritant(irritant_id, actor=user("director"))
    with pytest.raises(NotFound):
        resolve_irritant(irritant_id, actor=user("director"), resolution="ok")
    with pytest.raises(NotFound):
        escalate_irritant(irritant_id, actor=user("director"), reason="r")
