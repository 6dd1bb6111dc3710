"""Manual escalation and reassignment (routing.md "Escalation")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from irritants.models import GapItem, Irritant, IrritantEvent, Notification, Unit
from irritants.services.errors import Conflict, InvalidInput, NotFound
from irritants.services.escalation import escalate_irritant, reassign_irritant
from irritants.services.intake import log_irritant
from irritants.services.resolution import resolve_irritant, take_irritant

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CASES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "org-small-cases.json").read_text()
)["cases"]
ESCALATION_CASES = [case for case in CASES if "excluded" in case["given"]]


def key_of(db: Any, unit_id: int | None) -> str | None:
    return None if unit_id is None else db.session.get(Unit, unit_id).key


def log(user: Any, category: str, origin: str, amount: Any = None, severity: str = "medium",
        now: datetime = T0) -> Irritant:
    return log_irritant(user("director"), category=category, severity=severity,
                        description="x", amount=amount, origin_unit=origin, now=now)


@pytest.mark.parametrize(
    "case", ESCALATION_CASES,
    ids=[f"{c['given']['category']}-{c['given']['origin']}-out-{'-'.join(c['given']['excluded'])}"
         for c in ESCALATION_CASES],
)
def test_escalating_away_from_each_excluded_unit_routes_each_shared_case(db, user, case):
    given, expect = case["given"], case["expect"]
    for unit, load in given.get("load", {}).items():
        for _ in range(load):
            log(user, "rude-service", unit)
    irritant = log(user, given["category"], given["origin"], given.get("amount"))
    director = user("director")
    for step, unit in enumerate(given["excluded"]):
        assert key_of(db, irritant.assignee_id) == unit
        irritant = escalate_irritant(
            irritant.id, actor=director, reason=f"step {step}",
            needs=given.get("added_needs") if step == 0 else None, now=T0)

    assert key_of(db, irritant.assignee_id) == expect["assignee"]
    assert irritant.rank == expect["rank"]
    assert irritant.unroutable is expect["unroutable"]
    assert irritant.gaps == expect["gaps"]
    assert irritant.excluded == given["excluded"]
    last = db.session.scalars(select(IrritantEvent).where(
        IrritantEvent.irritant_id == irritant.id).order_by(IrritantEvent.id.desc())).first()
    assert (last.type, key_of(db, last.assignee_id), last.rank, last.gaps, last.unroutable) == (
        "routed", expect["assignee"], expect["rank"], expect["gaps"], expect["unroutable"])


def test_manual_escalation_adds_the_needs_excludes_the_assignee_and_restarts_the_clock(
        db, user, sent_mail):
    irritant = log(user, "late-delivery", "lille", amount=40, severity="high")
    assert key_of(db, irritant.assignee_id) == "north-bo"
    lead = user("lead.northbo")
    take_irritant(irritant.id, actor=lead, now=T0 + timedelta(minutes=5))
    later = T0 + timedelta(hours=3)

    escalated = escalate_irritant(
        irritant.id, actor=lead, reason="We lack the warehouse system",
        needs={"tools": ["wms"], "authorities": {"gesture": 20}}, now=later)

    assert key_of(db, escalated.assignee_id) == "logistics"
    assert escalated.rank == [4, 3, 0, "logistics"]
    assert escalated.excluded == ["north-bo"]
    assert escalated.requirements == {
        "competencies": ["delivery"], "authorities": {"gesture": 40},
        "tools": ["carrier-portal", "wms"]}
    assert escalated.initial_requirements == {
        "competencies": ["delivery"], "authorities": {"gesture": 40},
        "tools": ["carrier-portal"]}
    assert (escalated.status, escalated.taken_by_id) == ("open", None)
    assert escalated.due_at == later + timedelta(hours=24)
    assert escalated.escalation_level == 0
    event = db.session.scalars(select(IrritantEvent).where(
        IrritantEvent.type == "routed").order_by(IrritantEvent.id.desc())).first()
    assert (event.at, event.actor_id, event.rank) == (later, lead.id, [4, 3, 0, "logistics"])
    assert event.data == {
        "kind": "escalation", "reason": "We lack the warehouse system",
        "needs": {"from": "north-bo", "competencies": [], "authorities": {"gesture": 20},
                  "tools": ["wms"]}}
    items = db.session.scalars(select(GapItem).where(GapItem.event_id == event.id)).all()
    assert sorted((i.unit_key, i.kind, i.item_key) for i in items) == [
        ("cs", "tool", "wms"),
        ("hq", "tool", "carrier-portal"), ("hq", "tool", "wms"),
        ("lille", "competency", "delivery"), ("lille", "tool", "carrier-portal"),
        ("lille", "tool", "wms"),
        ("north", "tool", "carrier-portal"), ("north", "tool", "wms"),
    ]


def test_the_amounts_of_the_same_authority_combine_by_max(db, user):
    irritant = log(user, "late-delivery", "lille", amount=40)
    director = user("director")
    lower = escalate_irritant(irritant.id, actor=director, reason="r",
                              needs={"authorities": {"gesture": 10}}, now=T0)
    assert lower.requirements["authorities"] == {"gesture": 40}
    higher = escalate_irritant(lower.id, actor=director, reason="r",
                               needs={"authorities": {"gesture": 250.5}}, now=T0)
    assert higher.requirements["authorities"] == {"gesture": 250.5}


def test_a_need_the_org_never_heard_of_is_accepted_and_makes_it_unroutable(db, user):
    irritant = log(user, "rude-service", "lille")
    escalated = escalate_irritant(irritant.id, actor=user("lead.lille"), reason="r",
                                  needs={"tools": ["teleporter"], "competencies": ["magic"]},
                                  now=T0)
    assert key_of(db, escalated.assignee_id) == "hq"
    assert (escalated.rank, escalated.unroutable) == (None, True)
    assert escalated.gaps[0] == {"unit": "lille", "missing_competencies": ["magic"],
                                 "missing_authorities": {}, "missing_tools": ["teleporter"]}


def test_escalation_tells_the_leads_of_the_new_assignee(db, user, sent_mail):
    irritant = log(user, "rude-service", "lille")
    sent_mail.clear()
    north = user("lead.north")
    north.locale = "en"
    db.session.commit()
    escalate_irritant(irritant.id, actor=user("lead.lille"), reason="Too hard", now=T0)
    assert [(n.user_id, n.data["how"]) for n in db.session.scalars(
        select(Notification).order_by(Notification.id)).all()][-1] == (north.id, "escalation")
    assert [email.to for email in sent_mail] == [["lead.north@example.com"]]
    assert sent_mail[0].subject == f"Irritant #{irritant.id} escalated to Region North: " \
        "Unwelcoming service"


BAD_ESCALATIONS = [
    ("reason", {"reason": ""}),
    ("reason", {"reason": "   "}),
    ("reason", {"reason": None}),
    ("reason", {"reason": "r" * 2001}),
    ("reason", {"reason": 5}),
    ("needs", {"needs": ["wms"]}),
    ("needs", {"needs": "wms"}),
    ("needs.tools", {"needs": {"tools": "wms"}}),
    ("needs.tools", {"needs": {"tools": [""]}}),
    ("needs.tools", {"needs": {"tools": [3]}}),
    ("needs.tools", {"needs": {"tools": ["x" * 101]}}),
    ("needs.competencies", {"needs": {"competencies": [None]}}),
    ("needs.competencies", {"needs": {"competencies": {"a": 1}}}),
    ("needs.authorities", {"needs": {"authorities": [1]}}),
    ("needs.authorities", {"needs": {"authorities": {"": 5}}}),
    ("needs.authorities.gesture", {"needs": {"authorities": {"gesture": -1}}}),
    ("needs.authorities.gesture", {"needs": {"authorities": {"gesture": 1.001}}}),
    ("needs.authorities.gesture", {"needs": {"authorities": {"gesture": True}}}),
    ("needs.authorities.gesture", {"needs": {"authorities": {"gesture": "100"}}}),
    ("needs.authorities.gesture", {"needs": {"authorities": {"gesture": None}}}),
    ("needs.authorities.gesture", {"needs": {"authorities": {"gesture": [100]}}}),
    ("needs.budget", {"needs": {"budget": 5}}),
]


@pytest.mark.parametrize(("field", "override"), BAD_ESCALATIONS,
                         ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_ESCALATIONS)])
def test_a_bad_escalation_is_refused_on_its_field_and_changes_nothing(db, user, row_counts,
                                                                       field, override):
    irritant = log(user, "rude-service", "lille")
    version = irritant.row_version
    before = row_counts()
    arguments: dict[str, Any] = {"reason": "Cannot do it", "needs": None, **override}
    with pytest.raises(InvalidInput) as refused:
        escalate_irritant(irritant.id, actor=user("lead.lille"), now=T0, **arguments)
    assert list(refused.value.field_errors) == [field]
    assert row_counts() == before
    unchanged = db.session.get(Irritant, irritant.id)
    assert (unchanged.row_version, key_of(db, unchanged.assignee_id), unchanged.excluded) == (
        version, "lille", [])


def test_escalating_a_resolved_irritant_is_a_conflict(db, user):
    irritant = log(user, "rude-service", "lille")
    resolve_irritant(irritant.id, actor=user("lead.lille"), resolution="done", now=T0)
    with pytest.raises(Conflict):
        escalate_irritant(irritant.id, actor=user("lead.lille"), reason="r", now=T0)


def test_reassignment_keeps_the_gaps_clears_rank_and_unroutable_and_restarts_the_clock(
        db, user, sent_mail):
    irritant = log(user, "faulty-product", "nice", amount=200, severity="high")
    assert (key_of(db, irritant.assignee_id), irritant.unroutable) == ("hq", True)
    gaps = irritant.gaps
    director = user("director")
    later = T0 + timedelta(hours=1)
    sent_mail.clear()

    moved = reassign_irritant(irritant.id, actor=director, unit="marseille",
                              reason="Marseille has the terminal", now=later)

    assert key_of(db, moved.assignee_id) == "marseille"
    assert (moved.rank, moved.unroutable, moved.gaps, moved.status) == (None, False, gaps, "open")
    assert moved.due_at == later + timedelta(hours=24)
    assert moved.excluded == []
    assert moved.requirements == moved.initial_requirements
    event = db.session.scalars(select(IrritantEvent).order_by(IrritantEvent.id.desc())).first()
    assert (event.type, event.at, event.actor_id, key_of(db, event.assignee_id), event.rank,
            event.gaps, event.data) == (
        "reassigned", later, director.id, "marseille", None, None,
        {"reason": "Marseille has the terminal", "from": "hq"})
    assert db.session.scalars(select(GapItem)).all().__len__() == len(
        [1 for gap in gaps for _ in [*gap["missing_competencies"], *gap["missing_tools"],
                                     *gap["missing_authorities"]]])
    assert sent_mail == []  # marseille has no lead


def test_a_later_escalation_routes_from_the_origin_leaving_out_units_escalated_away_from(
        db, user):
    director = user("director")
    irritant = log(user, "rude-service", "lille")
    # lille escalates by hand -> north.
    irritant = escalate_irritant(irritant.id, actor=director, reason="r1", now=T0)
    assert key_of(db, irritant.assignee_id) == "north"
    # A director reassigns it to roubaix by hand (not an escalation: north is not excluded).
    irritant = reassign_irritant(irritant.id, actor=director, unit="roubaix", reason="r2",
                                 now=T0)
    assert irritant.excluded == ["lille"]
    # roubaix escalates: routed again from lille, without lille and roubaix -> north.
    irritant = escalate_irritant(irritant.id, actor=director, reason="r3", now=T0)
    assert irritant.excluded == ["lille", "roubaix"]
    assert key_of(db, irritant.assignee_id) == "north"
    assert irritant.rank == [1, 1, 0, "north"]
    assert irritant.gaps == []


@pytest.mark.parametrize(("unit", "message"), [
    ("atlantis", "Unknown unit."),
    ("", "This field is required."),
    (None, "This field is required."),
    ("lille", "The irritant is already assigned to this unit."),
])
def test_a_bad_reassignment_is_refused_and_changes_nothing(db, user, row_counts, unit, message):
    irritant = log(user, "rude-service", "lille")
    before = row_counts()
    with pytest.raises(InvalidInput) as refused:
        reassign_irritant(irritant.id, actor=user("director"), unit=unit, reason="r", now=T0)
    assert refused.value.field_errors == {"unit": [message]}
    assert row_counts() == before


def test_reassigning_to_a_closed_unit_or_without_reason_is_refused(db, user):
    irritant = log(user, "rude-service", "lille")
    db.session.execute(Unit.__table__.update().where(Unit.key == "nice").values(closed_at=T0))
    from irritants.services.org_version import bump_org_version

    bump_org_version()
    db.session.commit()
    with pytest.raises(InvalidInput) as refused:
        reassign_irritant(irritant.id, actor=user("director"), unit="nice", reason=" ", now=T0)
    assert refused.value.field_errors == {"reason": ["This field is required."],
                                          "unit": ["This unit is closed."]}


def test_a_lead_may_escalate_only_what_is_assigned_in_their_subtree(db, user):
    irritant = log(user, "late-delivery", "lille", amount=40)  # -> north-bo
    with pytest.raises(NotFound):  # origin lille is theirs, the assignee is not: out of scope
        escalate_irritant(irritant.id, actor=user("lead.lille"), reason="r", now=T0)
    with pytest.raises(NotFound):
        reassign_irritant(irritant.id, actor=user("lead.lille"), unit="lille", reason="r")
    moved = escalate_irritant(irritant.id, actor=user("lead.north"), reason="r", now=T0)
    assert key_of(db, moved.assignee_id) == "cs"
