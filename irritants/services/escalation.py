"""Escalation (manual, with what the team lacks), reassignment, and the SLA sweep."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from irritants.extensions import db
from irritants.models import (
    UNRESOLVED,
    Category,
    Irritant,
    IrritantEvent,
    OutboxMessage,
    User,
    utcnow,
)
from irritants.routing import Requirements
from irritants.services import access
from irritants.services.assignment import (
    apply_assignment,
    due_from,
    record_routing,
    route_from_origin,
    sla_hours,
)
from irritants.services.errors import Conflict, NotAllowed, NotFound
from irritants.services.messages import _
from irritants.services.notifications import notify_assigned
from irritants.services.outbox import enqueue_messages
from irritants.services.snapshot import CachedOrg, cached_org, plain_amount
from irritants.services.transactions import conflict_on_stale
from irritants.services.validation import (
    FieldErrors,
    check_amount,
    check_keys,
    check_text,
    get_by_id,
)

log = logging.getLogger(__name__)

MAX_REASON = 2000
SWEEP_CHUNK = 500
NEEDS_FIELDS = ("tools", "competencies", "authorities")


def escalate_irritant(irritant_id: int, *, actor: User, reason: str,
                      needs: dict[str, Any] | None = None, now: datetime | None = None
                      ) -> Irritant:
    """Add the needs, leave the current assignee out and route again from the origin.

    NotAllowed (role, or assignee outside the actor's subtree), NotFound, InvalidInput,
    Conflict (resolved, or lost a race).
    """
    now = now or utcnow()
    irritant = _editable(irritant_id, actor, "escalate", access.may_escalate)
    errors = FieldErrors()
    text = check_text(reason, "reason", errors, max_length=MAX_REASON)
    added = parse_needs(needs, errors)
    errors.raise_if_any()
    assert text is not None
    assert added is not None
    org = cached_org()
    current = org.key_of[irritant.assignee_id]
    excluded = [*irritant.excluded, current] if current not in irritant.excluded else list(
        irritant.excluded)
    requirements = Requirements.from_dict(irritant.requirements).combined_with(added)
    origin = org.key_of[irritant.origin_unit_id]
    assignment = route_from_origin(org, origin, requirements, excluded)
    category = db.session.get(Category, irritant.category_id)
    assert category is not None
    with conflict_on_stale():
        apply_assignment(irritant, assignment, org, now)
        irritant.requirements = requirements.to_dict()
        irritant.excluded = excluded
        irritant.due_at = due_from(category, irritant.severity, now)
        event = record_routing(irritant, assignment, org, actor=actor, now=now,
                               kind="escalation", reason=text,
                               needs={"from": current, **added.to_dict()})
        messages = notify_assigned(irritant, event, "escalation")
        db.session.commit()
    enqueue_messages(messages)
    return irritant


def parse_needs(needs: Any, errors: FieldErrors) -> Requirements | None:
    """{"tools": [...], "competencies": [...], "authorities": {key: amount}}, each optional.

    Keys the org has never heard of are accepted (routing.md); shapes are not.
    """
    if needs is None:
        return Requirements()
    if not isinstance(needs, dict):
        errors.add("needs", _("Must be an object with tools, competencies and authorities."))
        return None
    before = len(errors)
    for field in needs:
        if field not in NEEDS_FIELDS:
            errors.add(f"needs.{field}", _("Unknown field."))
    tools = check_keys(needs.get("tools"), "needs.tools", errors)
    competencies = check_keys(needs.get("competencies"), "needs.competencies", errors)
    authorities = _authorities(needs.get("authorities"), errors)
    if len(errors) != before:
        return None
    return Requirements(frozenset(competencies), authorities, frozenset(tools))


def _authorities(raw: Any, errors: FieldErrors) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.add("needs.authorities", _("Must be an object of authority: amount."))
        return {}
    authorities: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key.strip() or len(key) > 100 or "\x00" in key:
            errors.add("needs.authorities", _("Authority keys must be non-empty strings."))
            continue
        field = f"needs.authorities.{key}"
        if value is None:
            errors.add(field, _("Must be a number."))
            continue
        amount = check_amount(value, field, errors)
        if amount is not None:
            authorities[key.strip()] = plain_amount(amount)
    return authorities


def reassign_irritant(irritant_id: int, *, actor: User, unit: str, reason: str,
                      now: datetime | None = None) -> Irritant:
    """Assign by hand to any open unit, with a reason; not a routing (rank None, gaps kept).

    NotAllowed, NotFound, InvalidInput (unit, reason), Conflict.
    """
    now = now or utcnow()
    irritant = _editable(irritant_id, actor, "reassign", access.may_reassign)
    org = cached_org()
    errors = FieldErrors()
    text = check_text(reason, "reason", errors, max_length=MAX_REASON)
    if not isinstance(unit, str) or not unit:
        errors.add("unit", _("This field is required."))
    elif unit not in org.snapshot:
        errors.add("unit", _("Unknown unit."))
    elif unit in org.closed:
        errors.add("unit", _("This unit is closed."))
    elif org.id_of[unit] == irritant.assignee_id:
        errors.add("unit", _("The irritant is already assigned to this unit."))
    errors.raise_if_any()
    previous = org.key_of[irritant.assignee_id]
    category = db.session.get(Category, irritant.category_id)
    assert category is not None
    with conflict_on_stale():
        irritant.assignee_id = org.id_of[unit]
        irritant.rank = None
        irritant.unroutable = False
        irritant.status = "open"
        irritant.taken_by_id = None
        irritant.due_at = due_from(category, irritant.severity, now)
        irritant.updated_at = now
        event = IrritantEvent(irritant_id=irritant.id, type="reassigned", at=now,
                              actor_id=actor.id, assignee_id=irritant.assignee_id,
                              data={"reason": text, "from": previous})
        db.session.add(event)
        db.session.flush()
        messages = notify_assigned(irritant, event, "reassigned")
        db.session.commit()
    enqueue_messages(messages)
    return irritant


def _editable(irritant_id: int, actor: User, operation: str, allowed: Any) -> Irritant:
    """The irritant, if the actor may act on it: NotAllowed, NotFound, Conflict (resolved)."""
    if not access.role_may(actor, operation):
        raise NotAllowed(operation)
    irritant = get_by_id(Irritant, irritant_id)
    if irritant is None or not access.may_read(actor, irritant):
        raise NotFound(f"irritant {irritant_id}")
    if not allowed(actor, irritant):
        # api.md: an object outside the caller's scope for this call answers 404.
        raise NotFound(f"irritant {irritant_id}")
    if irritant.status == "resolved":
        raise Conflict(_("This irritant is already resolved."))
    return irritant


# -- SLA sweep ---------------------------------------------------------------------


def sweep_overdue(now: datetime | None = None) -> int:
    """Escalate every overdue irritant once to the parent of its assignee; the number escalated.

    Idempotent: a compare-and-set on escalation_level, plus the unique index on
    (irritant, level) of sla_escalated events. Works in chunks (one transaction
    each), by increasing id, so one sweep escalates an irritant at most once.
    """
    now = now or utcnow()
    org = cached_org()
    escalated = 0
    last_id = 0
    while True:
        rows = _overdue_chunk(now, last_id)
        if not rows:
            db.session.commit()
            return escalated
        last_id = rows[-1].id
        try:
            done, messages = _escalate_rows(org, rows, now)
            db.session.commit()
        except IntegrityError:
            # Another sweep wrote one of these levels: redo the chunk one irritant at a time.
            db.session.rollback()
            done, messages = _escalate_one_by_one(org, rows, now)
        escalated += done
        enqueue_messages(messages)


def _overdue_chunk(now: datetime, after_id: int) -> Sequence[Any]:
    query = (
        select(Irritant.id, Irritant.assignee_id, Irritant.escalation_level, Irritant.severity,
               Irritant.category_id)
        .where(Irritant.status.in_(UNRESOLVED), Irritant.due_at < now, Irritant.id > after_id)
        .order_by(Irritant.id)
        .limit(SWEEP_CHUNK)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Two sweeps at once share the work instead of waiting on each other's rows.
        query = query.with_for_update(skip_locked=True, of=Irritant)
    return db.session.execute(query).all()


def _escalate_one_by_one(org: CachedOrg, rows: Sequence[Any], now: datetime
                         ) -> tuple[int, list[OutboxMessage]]:
    done, messages = 0, []
    for row in rows:
        try:
            count, written = _escalate_rows(org, [row], now)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            log.info("irritant %s already escalated to level %s", row.id,
                     row.escalation_level + 1)
            continue
        done += count
        messages += written
    return done, messages


def _escalate_rows(org: CachedOrg, rows: Sequence[Any], now: datetime
                   ) -> tuple[int, list[OutboxMessage]]:
    categories = {category.id: category for category in db.session.scalars(
        select(Category).where(Category.id.in_({row.category_id for row in rows})))}
    done, messages = 0, []
    for row in rows:
        target = _accountable_parent(org, org.key_of[row.assignee_id])
        level = row.escalation_level + 1
        hours = sla_hours(categories[row.category_id], row.severity)
        result = db.session.execute(
            update(Irritant)
            .where(Irritant.id == row.id, Irritant.escalation_level == row.escalation_level,
                   Irritant.status != "resolved", Irritant.due_at < now)
            .values(assignee_id=org.id_of[target], status="open", taken_by_id=None,
                    escalation_level=level, due_at=due_from(categories[row.category_id],
                                                            row.severity, now),
                    rank=None, updated_at=now, row_version=Irritant.row_version + 1)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            continue  # resolved, or escalated by someone else meanwhile
        event = IrritantEvent(irritant_id=row.id, type="sla_escalated", at=now,
                              assignee_id=org.id_of[target], escalation_level=level,
                              data={"from": org.key_of[row.assignee_id], "hours": hours})
        db.session.add(event)
        db.session.flush()
        irritant = db.session.get(Irritant, row.id, populate_existing=True)
        assert irritant is not None
        messages += notify_assigned(irritant, event, "sla_escalated")
        done += 1
    return done, messages


def _accountable_parent(org: CachedOrg, key: str) -> str:
    """The parent (the first one not closed); the root stays the root."""
    parent = org.snapshot.parent(key)
    if parent is None:
        return key
    while parent in org.closed and org.snapshot.parent(parent) is not None:
        parent = org.snapshot.parent(parent)
    return parent
