"""The hand-written dump of irritants gives exactly what IrritantSchema dumps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from irritants.api.schemas import IrritantSchema
from irritants.api.serializers import dump_irritant, irritant_json
from irritants.extensions import db
from irritants.models import Irritant, User
from irritants.services.escalation import escalate_irritant, reassign_irritant, sweep_overdue
from irritants.services.intake import log_irritant
from irritants.services.resolution import resolve_irritant, take_irritant

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def user(email: str) -> User:
    found = db.session.scalar(sa.select(User).where(User.email == email))
    assert found is not None
    return found


def many_irritants() -> list[Irritant]:
    director, agent = user("director@example.com"), user("agent.lille@example.com")
    made = [
        log_irritant(agent, category="rude-service", severity="low", description="é \"q\" <b>",
                     now=T0),
        log_irritant(director, category="faulty-product", severity="critical", amount=80,
                     origin_unit="nice", customer_ref="C-1", channel="phone", description="d",
                     now=T0),
        log_irritant(director, category="faulty-product", severity="high", description="d",
                     amount=Decimal("12.5"), origin_unit="lille", now=T0),
        log_irritant(director, category="late-delivery", severity="medium", amount=500,
                     origin_unit="lille", description="d", now=T0),
        log_irritant(director, category="app-bug", severity="low", description="d", now=T0),
    ]
    take_irritant(made[0].id, actor=agent, now=T0)
    resolve_irritant(made[1].id, actor=director, resolution="Refunded", root_cause="other",
                     root_cause_detail="Supplier", now=T0)
    escalate_irritant(made[3].id, actor=director, reason="r", now=T0,
                      needs={"tools": ["crm"], "authorities": {"gesture": 900}})
    reassign_irritant(made[4].id, actor=director, unit="north-bo", reason="r", now=T0)
    sweep_overdue(T0 + timedelta(hours=500))
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Irritant).order_by(Irritant.id)))


def test_every_kind_of_irritant_dumps_as_the_schema_does(db, org):
    schema = IrritantSchema()
    bodies = [irritant_json(irritant, now=T0 + timedelta(hours=h))
              for irritant in many_irritants() for h in (0, 1000)]
    assert len(bodies) == 10
    for body in bodies:
        fast = dump_irritant(body)
        assert fast == schema.dump(body)
        assert json.dumps(fast, sort_keys=True) == json.dumps(schema.dump(body), sort_keys=True)


@pytest.mark.parametrize("gaps", [
    [],
    [{"unit": "lille", "missing_competencies": ["a"], "missing_authorities": {},
      "missing_tools": []}],
    [{"unit": "nice", "missing_competencies": [], "missing_tools": ["t", "u"],
      "missing_authorities": {"refund": {"required": 200}, "gesture": {"required": 1.5,
                                                                       "limit": 50}}}],
    [{"unit": "x"}, {"unit": "y", "missing_authorities": None, "missing_tools": None}],
])
def test_gaps_of_any_shape_dump_as_the_schema_does(gaps):
    body: dict[str, Any] = {
        "id": 7, "status": "open", "category": "c", "severity": "low", "origin_unit": "o",
        "assignee": "a", "rank": [1, 0, 3, "a"], "unroutable": False, "escalation_level": 2,
        "overdue": True, "created_at": T0, "due_at": T0, "description": "d",
        "requirements": {"competencies": ["x"], "authorities": {"refund": Decimal("80.50")},
                         "tools": []},
        "gaps": gaps, "amount": Decimal("80.50"), "customer_ref": None, "channel": None,
        "occurrences": 1, "reporter": "r@example.com", "taken_by": None, "resolution": None,
        "root_cause": None, "root_cause_detail": None, "resolved_at": None, "updated_at": T0,
    }
    assert dump_irritant(body) == IrritantSchema().dump(body)


def test_the_list_answers_the_page_schema_s_dump(client, org, auth_headers):
    many_irritants()
    headers = auth_headers("director@example.com")
    answer = client.get("/api/v1/irritants?per_page=3&page=2", headers=headers).get_json()
    irritants = db.session.scalars(
        sa.select(Irritant).order_by(Irritant.created_at.desc(), Irritant.id.desc())
        .offset(3).limit(3)).all()
    expected = [IrritantSchema().dump(irritant_json(irritant)) for irritant in irritants]
    for item in expected + answer["items"]:
        item.pop("overdue")  # computed at the moment of each answer
    assert answer["items"] == expected
    assert (answer["page"], answer["per_page"], answer["total"]) == (2, 3, 5)
