"""Models to the plain dicts that the response schemas dump (api.md's shapes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from irritants.extensions import db
from irritants.models import SEVERITIES, Category, Irritant, IrritantEvent, Unit, User, utcnow
from irritants.services.assignment import sla_hours
from irritants.services.snapshot import cached_org

# Event data keys shown in the API, by name (the rest of `data` stays internal).
_EVENT_DATA_KEYS = (
    "reason", "needs", "text", "resolution", "root_cause", "root_cause_detail", "customer_ref",
    "filename", "from",
)
_ASSIGNING_EVENTS = frozenset({"routed", "sla_escalated", "reassigned"})


def irritant_json(irritant: Irritant, now: datetime | None = None,
                  emails: Mapping[int, str] | None = None,
                  key_of: Mapping[int, str] | None = None) -> dict[str, Any]:
    """An irritant as api.md shows it; `overdue` is computed at `now`."""
    key_of = cached_org().key_of if key_of is None else key_of
    now = now or utcnow()
    if emails is None:
        emails = _emails_of([irritant])
    requirements = irritant.requirements or {}
    return {
        "id": irritant.id,
        "status": irritant.status,
        "category": irritant.category.key,
        "severity": irritant.severity,
        "origin_unit": key_of.get(irritant.origin_unit_id) or irritant.origin_unit.key,
        "assignee": key_of.get(irritant.assignee_id) or irritant.assignee.key,
        "rank": irritant.rank,
        "unroutable": bool(irritant.unroutable),
        "escalation_level": irritant.escalation_level,
        "overdue": irritant.is_overdue(now),
        "created_at": irritant.created_at,
        "due_at": irritant.due_at,
        "requirements": {
            "competencies": sorted(requirements.get("competencies") or ()),
            "authorities": dict(requirements.get("authorities") or {}),
            "tools": sorted(requirements.get("tools") or ()),
        },
        "gaps": list(irritant.gaps or ()),
        "description": irritant.description,
        "amount": irritant.amount,
        "customer_ref": irritant.customer_ref,
        "channel": irritant.channel,
        "occurrences": irritant.occurrences,
        "reporter": emails.get(irritant.reporter_id) if irritant.reporter_id else None,
        "taken_by": emails.get(irritant.taken_by_id) if irritant.taken_by_id else None,
        "resolution": irritant.resolution,
        "root_cause": irritant.root_cause,
        "root_cause_detail": irritant.root_cause_detail,
        "resolved_at": irritant.resolved_at,
        "updated_at": irritant.updated_at,
    }


def irritants_json(irritants: Iterable[Irritant]) -> list[dict[str, Any]]:
    """Several irritants, with one `now`, one org and one query of emails for all."""
    now = utcnow()
    listed = list(irritants)
    emails = _emails_of(listed)
    key_of = cached_org().key_of
    return [irritant_json(irritant, now, emails, key_of) for irritant in listed]


def _emails_of(irritants: Sequence[Irritant]) -> dict[int, str]:
    """The emails of the reporters and takers of these irritants, by user id."""
    ids = {user_id for irritant in irritants
           for user_id in (irritant.reporter_id, irritant.taken_by_id) if user_id}
    if not ids:
        return {}
    rows = db.session.execute(sa.select(User.id, User.email).where(User.id.in_(ids)))
    return {row.id: row.email for row in rows}


def event_json(event: IrritantEvent, key_of: Mapping[int, str]) -> dict[str, Any]:
    """One event: type, at, actor, and the fields of its type."""
    body: dict[str, Any] = {
        "type": event.type,
        "at": event.at,
        "actor": event.actor.email if event.actor_id else None,
    }
    if event.type in _ASSIGNING_EVENTS or event.assignee_id is not None:
        body["assignee"] = (
            key_of.get(event.assignee_id) or event.assignee.key
            if event.assignee_id is not None else None
        )
    if event.type == "routed":
        body["rank"] = event.rank
        body["gaps"] = list(event.gaps or ())
        body["unroutable"] = bool(event.unroutable)
    if event.type == "sla_escalated" and event.escalation_level is not None:
        body["escalation_level"] = event.escalation_level
    if event.type == "reassigned" and body.get("assignee"):
        body["unit"] = body["assignee"]
    data: Mapping[str, Any] = event.data or {}
    for key in _EVENT_DATA_KEYS:
        if data.get(key) is not None:
            body[key] = data[key]
    return body


def irritant_detail_json(irritant: Irritant, events: Iterable[IrritantEvent]) -> dict[str, Any]:
    """An irritant with its events, oldest first."""
    key_of = cached_org().key_of
    body = irritant_json(irritant, key_of=key_of)
    body["events"] = [event_json(event, key_of) for event in events]
    return body


def comment_json(event: IrritantEvent) -> dict[str, Any]:
    """The comment event just added."""
    return {
        "id": event.id,
        "irritant_id": event.irritant_id,
        "type": event.type,
        "at": event.at,
        "actor": event.actor.email if event.actor_id else None,
        "text": (event.data or {}).get("text", ""),
    }


def unit_json(unit: Unit) -> dict[str, Any]:
    """A unit: key, name, parent key."""
    parent = cached_org().key_of.get(unit.parent_id) if unit.parent_id is not None else None
    return {"key": unit.key, "name": unit.name, "parent": parent}


def category_json(category: Category) -> dict[str, Any]:
    """A category: labels, SLA hours per severity (defaults applied), root causes."""
    return {
        "key": category.key,
        "labels": {"fr": category.label_fr, "en": category.label_en or category.label_fr},
        "sla_hours": {severity: sla_hours(category, severity) for severity in SEVERITIES},
        "root_causes": [
            {"key": cause["key"],
             "labels": {"fr": cause.get("fr") or cause["key"],
                        "en": cause.get("en") or cause.get("fr") or cause["key"]}}
            for cause in category.root_causes or ()
        ],
        "active": category.active,
    }
