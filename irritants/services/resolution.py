"""Working an irritant: take it, comment on it, resolve it."""

from __future__ import annotations

from datetime import datetime

from irritants.extensions import db
from irritants.models import Category, Irritant, IrritantEvent, User, utcnow
from irritants.services import access
from irritants.services.errors import Conflict, NotAllowed, NotFound
from irritants.services.messages import _
from irritants.services.notifications import notify_resolved
from irritants.services.outbox import enqueue_messages
from irritants.services.transactions import commit_or_conflict, conflict_on_stale
from irritants.services.validation import FieldErrors, check_text, get_by_id

MAX_TEXT = 10_000
MAX_ROOT_CAUSE_DETAIL = 2000


def _readable(irritant_id: int, actor: User, operation: str) -> Irritant:
    if not access.role_may(actor, operation):
        raise NotAllowed(operation)
    irritant = get_by_id(Irritant, irritant_id)
    if irritant is None or not access.may_read(actor, irritant):
        raise NotFound(f"irritant {irritant_id}")
    return irritant


def take_irritant(irritant_id: int, *, actor: User, now: datetime | None = None) -> Irritant:
    """In progress, with the actor working on it (assignee must be the actor's unit).

    NotAllowed, NotFound, Conflict (resolved, taken by someone else, or lost a race).
    """
    now = now or utcnow()
    irritant = _readable(irritant_id, actor, "take")
    if not access.may_take(actor, irritant):
        # api.md: an object outside the caller's scope for this call answers 404.
        raise NotFound(f"irritant {irritant_id}")
    if irritant.status == "resolved":
        raise Conflict(_("This irritant is already resolved."))
    if irritant.status == "in_progress":
        if irritant.taken_by_id == actor.id:
            return irritant
        raise Conflict(_("Someone else already took this irritant."))
    irritant.status = "in_progress"
    irritant.taken_by_id = actor.id
    irritant.updated_at = now
    db.session.add(IrritantEvent(irritant_id=irritant.id, type="taken", at=now,
                                 actor_id=actor.id, assignee_id=irritant.assignee_id, data={}))
    commit_or_conflict()
    return irritant


def comment_on(irritant_id: int, *, actor: User, text: str, now: datetime | None = None
               ) -> IrritantEvent:
    """Add a comment (not admins); NotAllowed, NotFound, InvalidInput("text")."""
    now = now or utcnow()
    irritant = _readable(irritant_id, actor, "comment")
    errors = FieldErrors()
    body = check_text(text, "text", errors, max_length=MAX_TEXT)
    errors.raise_if_any()
    event = IrritantEvent(irritant_id=irritant.id, type="commented", at=now, actor_id=actor.id,
                          data={"text": body})
    db.session.add(event)
    db.session.commit()
    return event


def resolve_irritant(
    irritant_id: int,
    *,
    actor: User,
    resolution: str,
    root_cause: str | None = None,
    root_cause_detail: str | None = None,
    require_root_cause: bool = False,
    now: datetime | None = None,
) -> Irritant:
    """Resolved, with the resolution and root cause; the reporter is told.

    NotAllowed, NotFound, InvalidInput (resolution, root_cause, root_cause_detail),
    Conflict (already resolved, or lost a race).
    """
    now = now or utcnow()
    irritant = _readable(irritant_id, actor, "resolve")
    if not access.may_resolve(actor, irritant):
        raise NotFound(f"irritant {irritant_id}")
    category = db.session.get(Category, irritant.category_id)
    assert category is not None
    errors = FieldErrors()
    text = check_text(resolution, "resolution", errors, max_length=MAX_TEXT)
    cause, detail = _root_cause(category, root_cause, root_cause_detail, require_root_cause,
                                errors)
    if irritant.status == "resolved":
        raise Conflict(_("This irritant is already resolved."))
    errors.raise_if_any()
    irritant.status = "resolved"
    irritant.resolved_at = now
    irritant.resolution = text
    irritant.root_cause = cause
    irritant.root_cause_detail = detail
    irritant.updated_at = now
    event = IrritantEvent(irritant_id=irritant.id, type="resolved", at=now, actor_id=actor.id,
                          assignee_id=irritant.assignee_id,
                          data={"resolution": text, "root_cause": cause,
                                "root_cause_detail": detail})
    with conflict_on_stale():
        db.session.add(event)
        db.session.flush()
        messages = notify_resolved(irritant, event)
        db.session.commit()
    enqueue_messages(messages)
    return irritant


def _root_cause(category: Category, root_cause: object, detail: object, required: bool,
                errors: FieldErrors) -> tuple[str | None, str | None]:
    keys = [cause.get("key") for cause in category.root_causes or []]
    if root_cause is None or root_cause == "":
        if required:
            errors.add("root_cause", _("Choose a root cause."))
        check_text(detail, "root_cause_detail", errors, max_length=MAX_ROOT_CAUSE_DETAIL,
                   required=False)
        return None, None
    if not isinstance(root_cause, str) or root_cause not in keys:
        errors.add("root_cause", _("Choose one of the category's root causes."))
        return None, None
    text = check_text(detail, "root_cause_detail", errors, max_length=MAX_ROOT_CAUSE_DETAIL,
                      required=root_cause == "other")
    return root_cause, text

