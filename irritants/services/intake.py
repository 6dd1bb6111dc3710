"""Logging irritants: log, "it happened again", similar open ones, photos."""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import filetype
from flask import current_app
from sqlalchemy import func, select

from irritants.extensions import db
from irritants.models import (
    CHANNELS,
    SEVERITIES,
    UNRESOLVED,
    Attachment,
    Category,
    Irritant,
    IrritantEvent,
    User,
    utcnow,
)
from irritants.services import access
from irritants.services.assignment import (
    apply_assignment,
    due_from,
    record_routing,
    requirements_at_logging,
    route_from_origin,
)
from irritants.services.errors import Conflict, NotFound
from irritants.services.messages import _
from irritants.services.notifications import notify_assigned
from irritants.services.outbox import enqueue_messages
from irritants.services.snapshot import CachedCategory, CachedOrg, cached_org
from irritants.services.transactions import commit_keeping_loaded, commit_or_conflict
from irritants.services.validation import (
    FieldErrors,
    check_amount,
    check_choice,
    check_text,
    get_by_id,
)

CATEGORY_USAGE_DAYS = 30
MAX_DESCRIPTION = 10_000
MAX_CUSTOMER_REF = 100
PHOTO_TYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
}


def log_irritant(
    actor: User,
    *,
    category: str,
    severity: str,
    description: str,
    amount: Decimal | float | int | None = None,
    origin_unit: str | None = None,
    customer_ref: str | None = None,
    channel: str | None = None,
    now: datetime | None = None,
    before_commit: Callable[[Irritant], None] | None = None,
) -> Irritant:
    """Log, route and commit an irritant, then notify; InvalidInput (nothing written).

    before_commit(irritant) runs once everything is written, in the same transaction
    (the API stores its Idempotency-Key answer there)."""
    now = now or utcnow()
    org = cached_org()
    errors = FieldErrors()
    found = _active_category(org, category, errors)
    severity_value = check_choice(severity, "severity", errors, SEVERITIES)
    text = check_text(description, "description", errors, max_length=MAX_DESCRIPTION)
    amount_value = check_amount(amount, "amount", errors)
    origin = _origin(org, actor, origin_unit, errors)
    reference = check_text(customer_ref, "customer_ref", errors, max_length=MAX_CUSTOMER_REF,
                           required=False)
    channel_value = check_choice(channel, "channel", errors, CHANNELS, required=False)
    errors.raise_if_any()
    assert found is not None
    assert severity_value is not None
    assert text is not None
    assert origin is not None

    needs = requirements_at_logging(found, amount_value)
    assignment = route_from_origin(org, origin, needs)
    irritant = Irritant(
        category_id=found.id, severity=severity_value, description=text, amount=amount_value,
        customer_ref=reference, channel=channel_value, origin_unit_id=org.id_of[origin],
        reporter_id=actor.id, initial_requirements=needs.to_dict(),
        requirements=needs.to_dict(), excluded=[], occurrences=1, escalation_level=0,
        created_at=now, due_at=due_from(found, severity_value, now),
    )
    apply_assignment(irritant, assignment, org, now)
    db.session.add(irritant)
    db.session.flush()
    event = record_routing(irritant, assignment, org, actor=actor, now=now, kind="logged")
    messages = notify_assigned(irritant, event, "logged")
    db.session.flush()
    message_ids = [message.id for message in messages]
    if before_commit is not None:
        before_commit(irritant)
    # Everything was just written by this transaction: nothing to reload after the commit.
    commit_keeping_loaded()
    enqueue_messages(message_ids)
    return irritant


def _active_category(org: CachedOrg, key: Any, errors: FieldErrors) -> CachedCategory | None:
    """The category from the org's cache: a category change bumps the org version."""
    if key is None or key == "":
        errors.add("category", _("This field is required."))
        return None
    if not isinstance(key, str):
        errors.add("category", _("Must be a string."))
        return None
    found = org.categories.get(key)
    if found is None or not found.active:
        errors.add("category", _("Unknown category."))
        return None
    return found


def _origin(org: CachedOrg, actor: User, key: Any, errors: FieldErrors) -> str | None:
    if key is None or key == "":
        key = org.key_of.get(actor.unit_id)
    if not isinstance(key, str):
        errors.add("origin_unit", _("Must be a string."))
        return None
    if key not in org.snapshot:
        errors.add("origin_unit", _("Unknown unit."))
        return None
    if key in org.closed:
        errors.add("origin_unit", _("This unit is closed."))
        return None
    return key


def similar_open_irritants(
    *, category: str, origin_unit: str, days: int = 14, limit: int = 5,
    now: datetime | None = None, actor: User | None = None,
) -> list[Irritant]:
    """Unresolved irritants of that category at that origin from the last days, newest first.

    With an actor, only those the actor may read.
    """
    org = cached_org()
    origin_id = org.id_of.get(origin_unit)
    category_id = db.session.scalar(select(Category.id).where(Category.key == category))
    if origin_id is None or category_id is None:
        return []
    since = (now or utcnow()) - timedelta(days=days)
    query = (
        select(Irritant)
        .where(
            Irritant.category_id == category_id,
            Irritant.origin_unit_id == origin_id,
            Irritant.status.in_(UNRESOLVED),
            Irritant.created_at >= since,
        )
        .order_by(Irritant.created_at.desc(), Irritant.id.desc())
    )
    if actor is None:
        return list(db.session.scalars(query.limit(limit)).all())
    found = [item for item in db.session.scalars(query.limit(limit * 10)).all()
             if access.may_read(actor, item)]
    return found[:limit]


def add_occurrence(irritant_id: int, *, actor: User, customer_ref: str | None = None,
                   now: datetime | None = None) -> Irritant:
    """"It happened again": one more occurrence; NotFound, Conflict when resolved."""
    now = now or utcnow()
    errors = FieldErrors()
    reference = check_text(customer_ref, "customer_ref", errors, max_length=MAX_CUSTOMER_REF,
                           required=False)
    irritant = get_by_id(Irritant, irritant_id)
    if irritant is None:
        raise NotFound(f"irritant {irritant_id}")
    errors.raise_if_any()
    if irritant.status == "resolved":
        raise Conflict(_("This irritant is already resolved."))
    irritant.occurrences += 1
    irritant.updated_at = now
    db.session.add(IrritantEvent(irritant_id=irritant.id, type="occurred_again", at=now,
                                 actor_id=actor.id, data={"customer_ref": reference}))
    commit_or_conflict()
    return irritant


def attach_photo(irritant_id: int, *, actor: User, data: bytes, filename: str,
                 now: datetime | None = None) -> Attachment:
    """Store a JPEG, PNG, WebP or HEIC photo under a generated name; InvalidInput("photo")."""
    now = now or utcnow()
    irritant = get_by_id(Irritant, irritant_id)
    if irritant is None or not access.may_read(actor, irritant):
        raise NotFound(f"irritant {irritant_id}")
    errors = FieldErrors()
    limit = int(current_app.config["PHOTO_MAX_BYTES"])
    kind = filetype.guess(data) if data else None
    if not data:
        errors.add("photo", _("The file is empty."))
    elif len(data) > limit:
        errors.add("photo", _("The photo must be at most %(size)d MB.", size=limit // 1_000_000))
    elif kind is None or kind.mime not in PHOTO_TYPES:
        errors.add("photo", _("The photo must be a JPEG, PNG, WebP or HEIC image."))
    errors.raise_if_any()
    assert kind is not None
    extension = PHOTO_TYPES[kind.mime]
    stored_name = f"{secrets.token_hex(16)}.{extension}"
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / stored_name
    with open(path, "xb") as stored:
        stored.write(data)
    attachment = Attachment(
        irritant_id=irritant.id, stored_name=stored_name,
        original_filename=safe_filename(filename, extension), content_type=kind.mime,
        size=len(data), uploaded_by_id=actor.id, created_at=now,
    )
    try:
        db.session.add(attachment)
        db.session.flush()
        db.session.add(IrritantEvent(irritant_id=irritant.id, type="photo_added", at=now,
                                     actor_id=actor.id, data={"attachment_id": attachment.id}))
        db.session.commit()
    except Exception:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise
    return attachment


def attachments_of(irritant_id: int) -> list[Attachment]:
    """The irritant's photos, oldest first (read access is the caller's check)."""
    return list(db.session.scalars(
        select(Attachment).where(Attachment.irritant_id == irritant_id).order_by(Attachment.id)
    ).all())


def get_attachment(irritant_id: int, attachment_id: int) -> Attachment:
    """The photo, only if it belongs to that irritant; NotFound otherwise."""
    attachment = get_by_id(Attachment, attachment_id)
    if attachment is None or attachment.irritant_id != irritant_id:
        raise NotFound(f"attachment {attachment_id}")
    return attachment


attachment_of = get_attachment


def categories_by_use(origin_unit: str | None, locale: str, *,
                      now: datetime | None = None) -> list[tuple[str, str]]:
    """(key, label) of the active categories: most logged at the origin in the last
    30 days first, then alphabetically by label."""
    counts: dict[int, int] = {}
    origin_id = cached_org().id_of.get(origin_unit) if origin_unit else None
    if origin_id is not None:
        since = (now or utcnow()) - timedelta(days=CATEGORY_USAGE_DAYS)
        rows = db.session.execute(
            select(Irritant.category_id, func.count())
            .where(Irritant.origin_unit_id == origin_id, Irritant.created_at >= since)
            .group_by(Irritant.category_id)
        ).all()
        counts = {category_id: count for category_id, count in rows}
    categories = db.session.scalars(select(Category).where(Category.active.is_(True))).all()
    ordered = sorted(
        categories, key=lambda c: (-counts.get(c.id, 0), c.label(locale).casefold(), c.key)
    )
    return [(category.key, category.label(locale)) for category in ordered]


def photo_path(attachment: Attachment) -> Path:
    """Where the photo's bytes are stored."""
    return Path(current_app.config["UPLOAD_DIR"]) / os.path.basename(attachment.stored_name)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\"'<>\\/:*?|;]+")


def safe_filename(filename: Any, extension: str) -> str:
    """The user's file name for display only: base name, no control or path characters."""
    name = filename if isinstance(filename, str) else ""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" ._")
    if len(name) > 200:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[:190] + dot + suffix[:9]) if dot else name[:200]
    return name or f"photo.{extension}"
