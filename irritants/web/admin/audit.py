"""An audit event's data as readable lines in the reader's language.

"Name: Store Lens → Lens", "Authorities: gesture ≤ 50 → gesture ≤ 50, refund ≤ 500":
one line per changed field, then one per other fact (reason, org version...). Lines are
plain text: the template escapes them. A field this module does not know shows its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import format_datetime, format_decimal, pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from irritants.models import SEVERITIES
from irritants.web.intake.forms import SEVERITY_NAMES
from irritants.web.navigation import role_label

FIELD_LABELS = {
    "key": _l("Key"),
    "name": _l("Name"),
    "parent": _l("Parent"),
    "closed": _l("Closed"),
    "competencies": _l("Competencies"),
    "tools": _l("Tools"),
    "authorities": _l("Authorities"),
    "kind": _l("Kind"),
    "label_fr": _l("French label"),
    "label_en": _l("English label"),
    "competency": _l("Competency"),
    "authority": _l("Authority"),
    "sla_hours": _l("SLA hours"),
    "root_causes": _l("Root causes"),
    "active": _l("Active"),
    "email": _l("Email address"),
    "role": _l("Role"),
    "unit": _l("Unit"),
    "locale": _l("Language"),
    "reason": _l("Reason"),
    "granted": _l("Granted"),
    "org_version": _l("Organisation version"),
    "expires_at": _l("Link valid until"),
    "purpose": _l("Link for"),
    "api_tokens_revoked": _l("API tokens revoked"),
    "links_revoked": _l("Password links revoked"),
    "units_created": _l("Units created"),
    "units_updated": _l("Units updated"),
    "categories_created": _l("Categories created"),
    "categories_updated": _l("Categories updated"),
    "users_created": _l("Users created"),
    "users_updated": _l("Users updated"),
    "labels_created": _l("Labels created"),
    "labels_updated": _l("Labels updated"),
}
PURPOSES = {"invite": _l("an invitation"), "reset": _l("a password reset")}


def field_label(field: str) -> str:
    """The field's name in the reader's language; its key when unknown."""
    return str(FIELD_LABELS.get(field, field))


def change_lines(data: Mapping[str, Any] | None) -> list[str]:
    """The readable lines of an audit event's data: changes first, then the other facts."""
    data = data or {}
    before = data.get("before") or {}
    after = data.get("after") or {}
    lines = [_change(field, before, after) for field in _fields(before, after)
             if before.get(field) != after.get(field)]
    lines += [_("%(field)s: %(value)s", field=field_label(key), value=plain(key, value))
              for key, value in sorted(data.items()) if key not in ("before", "after")]
    return lines


def _fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [*after, *(field for field in before if field not in after)]


def _change(field: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    if not before:  # created: only the new values
        return _("%(field)s: %(value)s", field=field_label(field),
                 value=plain(field, after.get(field)))
    return _("%(field)s: %(before)s → %(after)s", field=field_label(field),
             before=plain(field, before.get(field)), after=plain(field, after.get(field)))


def plain(field: str, value: Any) -> str:
    """A value in plain words: lists joined, limits as "refund ≤ 500", yes/no, dates."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        return format_decimal(value)
    if isinstance(value, list):
        return ", ".join(_list_item(item) for item in value) or _nothing()
    if isinstance(value, Mapping):
        return _mapping(field, value)
    return _text(field, str(value))


def _nothing() -> str:
    return pgettext("an empty list", "none")


def _list_item(item: Any) -> str:
    if isinstance(item, Mapping):  # a root cause: {"key", "fr", "en"}
        return str(item.get("key", "?"))
    return plain("", item)


def _mapping(field: str, value: Mapping[str, Any]) -> str:
    # In a stable order: PostgreSQL's JSONB keeps keys in its own order, not the writer's.
    if not value:
        return _nothing()
    if field == "authorities":
        return ", ".join(_limit(key, limit) for key, limit in sorted(value.items()))
    if field == "sla_hours":
        return ", ".join(
            _("%(severity)s: %(hours)s h", hours=plain("", hours),
              severity=str(SEVERITY_NAMES.get(severity, severity)).lower())
            for severity, hours in sorted(value.items(), key=_severity_order))
    return ", ".join(_("%(field)s (%(value)s)", field=field_label(key), value=plain(key, item))
                     for key, item in sorted(value.items()) if item not in ([], {}, None))


def _severity_order(entry: tuple[str, Any]) -> tuple[int, str]:
    """Most severe first; an unknown key after the known ones."""
    severity = entry[0]
    most_severe_first = SEVERITIES[::-1]
    return (most_severe_first.index(severity) if severity in most_severe_first
            else len(most_severe_first), severity)


def _limit(authority: str, limit: Any) -> str:
    if limit is None:
        return _("%(authority)s without limit", authority=authority)
    return _("%(authority)s ≤ %(limit)s", authority=authority, limit=plain("", limit))


def _text(field: str, text: str) -> str:
    if field == "role":
        return role_label(text)
    if field == "purpose":
        return str(PURPOSES.get(text, text))
    if field == "expires_at":
        try:
            return format_datetime(datetime.fromisoformat(text), "short")
        except ValueError:
            return text
    return text
