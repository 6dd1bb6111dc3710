"""Models to the plain dicts that the response schemas dump (api.md's shapes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Response, jsonify
from sqlalchemy.orm.util import identity_key

from irritants.api.schemas import iso_utc, json_number
from irritants.extensions import db
from irritants.models import SEVERITIES, Category, Irritant, IrritantEvent, Unit, User, utcnow
from irritants.services.assignment import sla_hours
from irritants.services.snapshot import cached_org, category_keys, unit_keys

# Event data keys shown in the API, by name (the rest of `data` stays internal).
_EVENT_DATA_KEYS = (
    "reason", "needs", "text", "resolution", "root_cause", "root_cause_detail", "customer_ref",
    "filename", "from",
)
_ASSIGNING_EVENTS = frozenset({"routed", "sla_escalated", "reassigned"})


def irritant_json(irritant: Irritant, now: datetime | None = None,
                  emails: Mapping[int, str] | None = None,
                  key_of: Mapping[int, str] | None = None) -> dict[str, Any]:
    """An irritant as api.md shows it; `overdue` is computed at `now`.

    Unit and category keys come from the cached org (a logged irritant has only its
    category_id: reading irritant.category would cost a query)."""
    key_of = unit_keys() if key_of is None else key_of
    category_key_of = category_keys()
    now = now or utcnow()
    if emails is None:
        emails = _emails_of([irritant])
    requirements = irritant.requirements or {}
    return {
        "id": irritant.id,
        "status": irritant.status,
        "category": category_key_of.get(irritant.category_id) or irritant.category.key,
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
    key_of = unit_keys()
    return [irritant_json(irritant, now, emails, key_of) for irritant in listed]


def _emails_of(irritants: Sequence[Irritant]) -> dict[int, str]:
    """The emails of the reporters and takers of these irritants, by user id.

    Users already loaded in the session (the actor, a joined reporter) cost no query.
    """
    ids = {user_id for irritant in irritants
           for user_id in (irritant.reporter_id, irritant.taken_by_id) if user_id}
    if not ids:
        return {}
    emails: dict[int, str] = {}
    identity_map = db.session().identity_map
    for user_id in ids:
        user = identity_map.get(identity_key(User, user_id))
        email = user.__dict__.get("email") if user is not None else None
        if email is not None:
            emails[user_id] = email
    missing = ids - emails.keys()
    if missing:
        rows = db.session.execute(sa.select(User.id, User.email).where(User.id.in_(missing)))
        emails.update({row.id: row.email for row in rows})
    return emails


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
    key_of = unit_keys()
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


# -- dumping without marshmallow -------------------------------------------------------
# A list answers 50 to 500 irritants: dumping each through IrritantSchema costs more than
# the queries. These functions give exactly what the schemas dump (tests/api/
# test_fast_dump.py compares them on many irritants); the schemas still document the
# answers in the OpenAPI description.


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _texts(values: Iterable[Any] | None) -> list[str | None] | None:
    return None if values is None else [_text(value) for value in values]


def _gap(gap: Mapping[str, Any]) -> dict[str, Any]:
    dumped: dict[str, Any] = {}
    if "unit" in gap:
        dumped["unit"] = _text(gap["unit"])
    if "missing_competencies" in gap:
        dumped["missing_competencies"] = _texts(gap["missing_competencies"])
    if "missing_authorities" in gap:
        missing = gap["missing_authorities"]
        dumped["missing_authorities"] = None if missing is None else {
            str(key): {name: json_number(detail[name]) for name in ("required", "limit")
                       if name in detail}
            for key, detail in missing.items()
        }
    if "missing_tools" in gap:
        dumped["missing_tools"] = _texts(gap["missing_tools"])
    return dumped


def dump_irritant(body: Mapping[str, Any]) -> dict[str, Any]:
    """IrritantSchema().dump(body) for the dicts irritant_json() makes."""
    requirements = body["requirements"]
    rank = body["rank"]
    return {
        "id": int(body["id"]),
        "status": _text(body["status"]),
        "category": _text(body["category"]),
        "severity": _text(body["severity"]),
        "origin_unit": _text(body["origin_unit"]),
        "assignee": _text(body["assignee"]),
        "rank": None if rank is None else list(rank),
        "unroutable": bool(body["unroutable"]),
        "escalation_level": int(body["escalation_level"]),
        "overdue": bool(body["overdue"]),
        "created_at": iso_utc(body["created_at"]),
        "due_at": iso_utc(body["due_at"]),
        "requirements": {
            "competencies": _texts(requirements["competencies"]),
            "authorities": {key: json_number(amount)
                            for key, amount in (requirements["authorities"] or {}).items()},
            "tools": _texts(requirements["tools"]),
        },
        "gaps": [_gap(gap) for gap in body["gaps"]],
        "description": _text(body["description"]),
        "amount": json_number(body["amount"]),
        "customer_ref": _text(body["customer_ref"]),
        "channel": _text(body["channel"]),
        "occurrences": int(body["occurrences"]),
        "reporter": _text(body["reporter"]),
        "taken_by": _text(body["taken_by"]),
        "resolution": _text(body["resolution"]),
        "root_cause": _text(body["root_cause"]),
        "root_cause_detail": _text(body["root_cause_detail"]),
        "resolved_at": iso_utc(body["resolved_at"]),
        "updated_at": iso_utc(body["updated_at"]),
    }


def irritant_page_response(result: Mapping[str, Any]) -> Response:
    """A page of irritants as a JSON response (the page schema's dump, by hand)."""
    return jsonify({
        "items": [dump_irritant(body) for body in irritants_json(result["items"])],
        "page": int(result["page"]),
        "per_page": int(result["per_page"]),
        "total": int(result["total"]),
    })
