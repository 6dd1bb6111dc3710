"""Granting a gap: one transaction, one audit event, one org version, and routing sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from irritants.extensions import db as _db
from irritants.models import AuditEvent, Unit, User
from irritants.services import dashboards
from irritants.services.dashboards import Period
from irritants.services.errors import InvalidInput, NotAllowed, NotFound
from irritants.services.grants import grant_gap, grants_of
from irritants.services.intake import log_irritant
from irritants.services.org_version import current_org_version

DAY0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def user(name: str) -> User:
    return _db.session.scalars(select(User).where(User.email == f"{name}@example.com")).one()


def unit(key: str) -> Unit:
    _db.session.expire_all()
    return _db.session.scalars(select(Unit).where(Unit.key == key)).one()


def audit_count() -> int:
    return _db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def rude_from_north_bo(when: datetime) -> Any:
    return log_irritant(user("lead.northbo"), category="rude-service", severity="medium",
                        description="Nobody answered", now=when)


def test_a_grant_changes_the_unit_records_who_when_why_and_bumps_the_version_once(
        org: dict[str, Any]) -> None:
    version = current_org_version()
    before = rude_from_north_bo(DAY0)
    assert before.rank == [1, 1, 0, "north"]  # North back-office lacks "service"

    event = grant_gap(actor=user("director"), unit="north-bo", grant_competencies=["service"],
                      grant_tools=["crm", "pos"], reason="Train the back-office on service",
                      now=DAY0 + timedelta(days=1))

    assert current_org_version() == version + 1
    assert (event.type, event.subject, event.actor_id, event.at) == (
        "grant", "north-bo", user("director").id, DAY0 + timedelta(days=1))
    assert event.data == {
        "reason": "Train the back-office on service",
        "granted": {"tools": ["pos"], "competencies": ["service"], "authorities": {}},
        "before": {"competencies": ["billing", "delivery"], "tools": ["carrier-portal", "crm"],
                   "authorities": {"gesture": 300, "refund": 500}},
        "after": {"competencies": ["billing", "delivery", "service"],
                  "tools": ["carrier-portal", "crm", "pos"],
                  "authorities": {"gesture": 300, "refund": 500}},
        "org_version": version + 1,
    }
    assert sorted(unit("north-bo").competencies) == ["billing", "delivery", "service"]
    after = rude_from_north_bo(DAY0 + timedelta(days=2))
    assert (after.rank, after.gaps) == ([0, 0, 0, "north-bo"], [])
    assert [grant.id for grant in grants_of("north-bo")] == [event.id]


def test_a_grant_raises_a_limit_or_makes_it_unlimited(org: dict[str, Any]) -> None:
    grant_gap(actor=user("admin"), unit="lille", set_authorities={"gesture": 250.0,
                                                                  "refund": None},
              reason="Delegate gestures to the store")
    assert unit("lille").authorities == {"gesture": 250, "refund": None}
    late = log_irritant(user("agent.lille"), category="late-delivery", severity="low",
                        description="Parcel late", amount=200)
    # Lille now holds the gesture, but still lacks delivery and the carrier portal.
    assert late.gaps[0] == {"unit": "lille", "missing_competencies": ["delivery"],
                            "missing_authorities": {}, "missing_tools": ["carrier-portal"]}


@pytest.mark.parametrize(("changes", "field"), [
    ({"grant_tools": ["refund-termnial"]}, "grant_tools"),
    ({"grant_competencies": ["servcie"]}, "grant_competencies"),
    ({"set_authorities": {"gestrue": 100}}, "set_authorities"),
    ({"set_authorities": {"gesture": 20}}, "set_authorities.gesture"),
    ({"set_authorities": {"gesture": -1}}, "set_authorities.gesture"),
    ({"set_authorities": {"gesture": "lots"}}, "set_authorities.gesture"),
    ({"grant_tools": ["pos"]}, "unit"),
    ({"grant_tools": "pos"}, "grant_tools"),
])
def test_a_bad_grant_names_the_field_and_writes_nothing(
        org: dict[str, Any], changes: dict[str, Any], field: str) -> None:
    version, audits = current_org_version(), audit_count()
    with pytest.raises(InvalidInput) as error:
        grant_gap(actor=user("director"), unit="lille", reason="Because", **changes)
    assert list(error.value.field_errors) == [field]
    assert (current_org_version(), audit_count()) == (version, audits)
    assert unit("lille").tools == ["pos"]


def test_a_grant_needs_a_reason_and_an_open_unit(org: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as error:
        grant_gap(actor=user("director"), unit="lille", grant_tools=["crm"], reason="  ")
    assert list(error.value.field_errors) == ["reason"]
    with pytest.raises(NotFound):
        grant_gap(actor=user("director"), unit="atlantis", grant_tools=["crm"], reason="x")


@pytest.mark.parametrize("role", ["agent.lille", "lead.north"])
def test_only_directors_and_admins_grant(org: dict[str, Any], role: str) -> None:
    version, audits = current_org_version(), audit_count()
    with pytest.raises(NotAllowed):
        grant_gap(actor=user(role), unit="lille", grant_tools=["crm"], reason="Please")
    assert (current_org_version(), audit_count()) == (version, audits)


def test_the_ledger_shows_the_unit_before_and_after_its_grant(org: dict[str, Any]) -> None:
    rude_from_north_bo(DAY0)
    rude_from_north_bo(DAY0 + timedelta(days=1))
    grant_gap(actor=user("director"), unit="north-bo", grant_competencies=["service"],
              reason="Train them", now=DAY0 + timedelta(days=3))
    rude_from_north_bo(DAY0 + timedelta(days=4))
    now = DAY0 + timedelta(days=6)

    effects = dashboards.grants_with_effects(
        actor=user("director"), period=Period(DAY0 - timedelta(days=7), now), now=now)

    assert len(effects) == 1
    effect = effects[0]
    assert (effect["unit"], effect["actor"], effect["reason"], effect["window_days"]) == (
        "north-bo", "Diane Director", "Train them", 3)
    assert (effect["gaps_before"], effect["gaps_after"]) == (2, 0)
    assert (effect["before"]["logged"], effect["before"]["mean_distance"]) == (2, 1.0)
    assert (effect["after"]["logged"], effect["after"]["mean_distance"]) == (1, 0.0)
    # A lead of another subtree does not see it.
    assert dashboards.grants_with_effects(actor=user("lead.lille"),
                                          period=Period(DAY0, now), now=now) == []


def test_each_grant_is_measured_over_its_own_windows(org: dict[str, Any]) -> None:
    rude_from_north_bo(DAY0)
    rude_from_north_bo(DAY0 + timedelta(days=1))
    grant_gap(actor=user("director"), unit="north-bo", grant_tools=["pos"],
              reason="A till", now=DAY0 + timedelta(days=2))
    grant_gap(actor=user("director"), unit="north-bo", grant_competencies=["service"],
              reason="Train them", now=DAY0 + timedelta(days=3))
    rude_from_north_bo(DAY0 + timedelta(days=4))
    grant_gap(actor=user("director"), unit="lille", grant_tools=["crm"],
              reason="A CRM", now=DAY0 + timedelta(days=5))
    now = DAY0 + timedelta(days=6)

    effects = dashboards.grants_with_effects(
        actor=user("director"), period=Period(DAY0 - timedelta(days=7), now), now=now)

    assert [(effect["unit"], effect["reason"], effect["window_days"], effect["gaps_before"],
             effect["gaps_after"], effect["before"]["logged"], effect["after"]["logged"])
            for effect in effects] == [
        ("lille", "A CRM", 1, 0, 0, 0, 0),  # nothing logged at Lille
        ("north-bo", "Train them", 3, 2, 0, 2, 1),  # lacked "service" twice, then never
        ("north-bo", "A till", 4, 0, 0, 2, 1),  # never lacked the till
    ]
