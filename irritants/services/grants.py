"""Granting a gap: give a unit the tools, competencies or authority limits it lacked.

One transaction: validate, change the unit row, record an AuditEvent of type
"grant" (who, when, why, before, after, what was granted), bump the org version
once, commit. The next routing, everywhere, sees the new capability. The
dashboards read the grant events to compare the unit before and after.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from irritants.extensions import db
from irritants.models import AuditEvent, OrgState, Unit, User, utcnow
from irritants.services import org_edit
from irritants.services.errors import InvalidInput, NotAllowed, NotFound
from irritants.services.messages import _, number, quoted
from irritants.services.org_admin import MAX_LIMIT
from irritants.services.org_version import bump_org_version
from irritants.services.snapshot import plain_amount

GRANTERS = frozenset({"director", "admin"})
MAX_REASON = 2000


def may_grant(user: User) -> bool:
    """Directors and admins."""
    return user.role in GRANTERS


def grant_gap(*, actor: User, unit: str, grant_tools: Iterable[str] = (),
              grant_competencies: Iterable[str] = (),
              set_authorities: Mapping[str, Any] | None = None, reason: str,
              now: datetime | None = None) -> AuditEvent:
    """Give the unit these tools and competencies and raise these authority limits
    (None: unlimited); returns the "grant" AuditEvent.

    Keys must be in the org's vocabularies; a limit may only go up; something
    must change. NotAllowed (role), NotFound (unit), InvalidInput (nothing written).
    """
    if not may_grant(actor):
        raise NotAllowed("only directors and admins grant")
    now = now or utcnow()
    try:
        # Serialise with the other org edits (PostgreSQL row lock; a no-op on SQLite).
        db.session.execute(select(OrgState.id).where(OrgState.id == 1).with_for_update())
        row = db.session.scalar(select(Unit).where(Unit.key == unit)) if isinstance(
            unit, str) else None
        if row is None:
            raise NotFound(_("Unknown unit %(key)s.", key=quoted(unit)))
        granted = _validated(row, grant_tools, grant_competencies, set_authorities or {},
                             reason)
        before = _capabilities(row)
        after = _granted(before, granted)
        row.tools, row.competencies, row.authorities = (
            after["tools"], after["competencies"], after["authorities"])
        version = bump_org_version()
        event = AuditEvent(at=now, actor_id=actor.id, type="grant", subject=row.key, data={
            "reason": granted.pop("reason"), "granted": granted, "before": before,
            "after": after, "org_version": version,
        })
        db.session.add(event)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return event


def _validated(row: Unit, tools: Iterable[str], competencies: Iterable[str],
               limits: Mapping[str, Any], reason: Any) -> dict[str, Any]:
    """{"tools", "competencies", "authorities", "reason"}: only what changes; InvalidInput."""
    errors: dict[str, list[str]] = {}
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        errors["reason"] = [_("Say why: this field is required.")]
    elif len(text) > MAX_REASON:
        errors["reason"] = [_("At most %(count)d characters.", count=MAX_REASON)]
    if row.closed_at is not None:
        errors["unit"] = [_("Unit %(key)s is closed: it receives no work.", key=quoted(row.key))]
    tool_keys = _keys(tools, "grant_tools", errors)
    competency_keys = _keys(competencies, "grant_competencies", errors)
    if not isinstance(limits, Mapping):
        errors["set_authorities"] = [_("Must map an authority to a limit.")]
        limits = {}
    _check_vocabulary({"tool": tool_keys, "competency": competency_keys,
                       "authority": sorted(limits)}, errors)
    raised = _raised_limits(row, limits, errors)
    granted = {
        "tools": sorted(set(tool_keys) - set(row.tools or [])),
        "competencies": sorted(set(competency_keys) - set(row.competencies or [])),
        "authorities": raised,
    }
    if not errors and not any(granted.values()):
        errors["unit"] = [_("Unit %(key)s already has all of this: nothing to grant.",
                            key=quoted(row.key))]
    if errors:
        raise InvalidInput(errors)
    return {**granted, "reason": text}


def _keys(value: Any, field: str, errors: dict[str, list[str]]) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        errors[field] = [_("Must be a list of keys.")]
        return []
    keys = list(value)
    if not all(isinstance(key, str) and key for key in keys):
        errors[field] = [_("Must be a list of keys.")]
        return []
    return sorted(set(keys))


FIELDS = {"tool": "grant_tools", "competency": "grant_competencies",
          "authority": "set_authorities"}


def _check_vocabulary(chosen: Mapping[str, Iterable[str]], errors: dict[str, list[str]]) -> None:
    """A key outside the org's vocabularies is refused: a typo must not create a tool."""
    known = {kind: {item.key for item in items}
             for kind, items in org_edit.vocabularies().items()}
    messages = {
        "tool": _("Unknown tool %(key)s: choose one of the organisation's tools."),
        "competency": _("Unknown competency %(key)s: choose one of the organisation's "
                        "competencies."),
        "authority": _("Unknown authority %(key)s: choose one of the organisation's "
                       "authorities."),
    }
    for kind, keys in chosen.items():
        for key in keys:
            if key not in known.get(kind, set()):
                errors.setdefault(FIELDS[kind], []).append(messages[kind] % {"key": quoted(key)})


def _raised_limits(row: Unit, limits: Mapping[str, Any],
                   errors: dict[str, list[str]]) -> dict[str, Any]:
    """The limits that go up (None: unlimited); an error for a bad or lower one."""
    held = row.authorities or {}
    raised: dict[str, Any] = {}
    for key, limit in sorted(limits.items()):
        field = f"set_authorities.{key}"
        if limit is not None and not _is_limit(limit):
            errors[field] = [_("The limit of %(key)s must be a number >= 0 (at most %(max)s), "
                               "or empty for unlimited.", key=quoted(key), max=number(MAX_LIMIT))]
            continue
        plain = None if limit is None else plain_amount(Decimal(str(limit)))
        if key in held:
            current = held[key]
            if plain == current:
                continue  # already held: nothing changes
            if current is None or (plain is not None and plain < current):
                errors[field] = [_("Unit %(unit)s already holds %(key)s up to %(limit)s: "
                                   "a grant only raises a limit.", unit=quoted(row.key),
                                   key=quoted(key), limit=_limit_text(current))]
                continue
        raised[key] = plain
    return raised


def _is_limit(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return False
    return math.isfinite(value) and 0 <= value <= MAX_LIMIT


def _limit_text(limit: Any) -> str:
    return _("unlimited") if limit is None else str(limit)


def _capabilities(row: Unit) -> dict[str, Any]:
    return {
        "competencies": sorted(set(row.competencies or [])),
        "tools": sorted(set(row.tools or [])),
        "authorities": {key: plain_amount(limit)
                        for key, limit in sorted((row.authorities or {}).items())},
    }


def _granted(before: dict[str, Any], granted: dict[str, Any]) -> dict[str, Any]:
    return {
        "competencies": sorted(set(before["competencies"]) | set(granted["competencies"])),
        "tools": sorted(set(before["tools"]) | set(granted["tools"])),
        "authorities": dict(sorted({**before["authorities"], **granted["authorities"]}
                                   .items())),
    }


def grants_of(unit: str, *, limit: int = 20) -> list[AuditEvent]:
    """The latest grants to a unit, newest first."""
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.type == "grant", AuditEvent.subject == unit)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)))


__all__ = ["grant_gap", "grants_of", "may_grant"]
