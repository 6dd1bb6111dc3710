"""The irritant page's timeline: each immutable event as who, when and what, in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from irritants.models import Category, IrritantEvent
from irritants.services import queues
from irritants.web.filters import money_filter
from irritants.web.irritant.support import language, unit_name


@dataclass
class TimelineEntry:
    """One line of the timeline, ready for the template (every text is escaped there)."""

    kind: str
    at: datetime
    who: str
    title: str
    details: list[str] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    quote: str | None = None
    attachment_id: int | None = None


def root_cause_label(category: Category, key: str | None) -> str:
    """The root cause's label in the current language, else its key."""
    if not key:
        return ""
    for cause in category.root_causes or []:
        if cause.get("key") == key:
            return str(cause.get(language()) or cause.get("fr") or key)
    return key


def build_timeline(events: list[IrritantEvent], category: Category) -> list[TimelineEntry]:
    """The events, oldest first, in plain words."""
    return [_entry(event, category) for event in events]


def _entry(event: IrritantEvent, category: Category) -> TimelineEntry:
    who = event.actor.name if event.actor is not None else _("Irritants (automatic)")
    entry = TimelineEntry(kind=event.type, at=event.at, who=who, title="")
    data: dict[str, Any] = event.data or {}
    builder = _BUILDERS.get(event.type)
    if builder is None:
        entry.title = event.type
    else:
        builder(entry, event, data, category)
    return entry


def _routed(entry: TimelineEntry, event: IrritantEvent, data: dict[str, Any],
            category: Category) -> None:
    unit = unit_name(event.assignee_id)
    if data.get("kind") == "escalation":
        entry.title = _("Escalated and routed again to %(unit)s", unit=unit)
        entry.quote = data.get("reason")
        entry.details += _needs_sentences(data.get("needs") or {})
    else:
        entry.title = _("Logged and sent to %(unit)s", unit=unit)
    entry.explanation = queues.explain_routing(event)
    if event.rank:
        distance, up = int(event.rank[0]), int(event.rank[1])
        entry.details.append(
            ngettext("Rank: %(num)d step through the tree, %(up)d of them up.",
                     "Rank: %(num)d steps through the tree, %(up)d of them up.",
                     distance, up=up)
        )


def _needs_sentences(needs: dict[str, Any]) -> list[str]:
    """What the escalating team said it lacked, by the vocabulary's labels (the event keeps
    the keys)."""
    sentences = []
    if needs.get("tools"):
        sentences.append(_("Tools it lacked: %(items)s.", items=_labels("tool", needs["tools"])))
    if needs.get("competencies"):
        sentences.append(_("Skills it lacked: %(items)s.",
                           items=_labels("competency", needs["competencies"])))
    for key, amount in (needs.get("authorities") or {}).items():
        sentences.append(_("Authority it lacked: %(authority)s for %(amount)s €.",
                           authority=_labels("authority", [key]), amount=money_filter(amount)))
    return sentences


def _labels(kind: str, keys: list[str]) -> str:
    return ", ".join(queues.vocabulary_labels(kind, keys))


def _sla_escalated(entry: TimelineEntry, event: IrritantEvent, data: dict[str, Any],
                   category: Category) -> None:
    entry.title = _("Overdue: escalated to %(unit)s (escalation level %(level)s)",
                    unit=unit_name(event.assignee_id), level=event.escalation_level or 0)
    entry.explanation = queues.explain_routing(event)


def _reassigned(entry: TimelineEntry, event: IrritantEvent, data: dict[str, Any],
                category: Category) -> None:
    entry.title = _("Reassigned to %(unit)s", unit=unit_name(event.assignee_id))
    entry.quote = data.get("reason")


def _taken(entry: TimelineEntry, event: IrritantEvent, data: dict[str, Any],
           category: Category) -> None:
    entry.title = _("Taken in hand")


def _commented(entry: TimelineEntry, event: IrritantEvent, data: dict[str, Any],
               category: Category) -> None:
    entry.title = _("Comment")
    entry.quote = data.get("text")


def _resolved(entry: TimelineEntry, event: IrritantEvent, data: dict[str, Any],
              category: Category) -> None:
    entry.title = _("Resolved")
    entry.quote = data.get("resolution")
    if data.get("root_cause"):
        entry.details.append(_("Root cause: %(cause)s",
                               cause=root_cause_label(category, data["root_cause"])))
    if data.get("root_cause_detail"):
        entry.details.append(data["root_cause_detail"])


def _occurred_again(entry: TimelineEntry, event: IrritantEvent, data: dict[str, Any],
                    category: Category) -> None:
    entry.title = _("It happened again")
    if data.get("customer_ref"):
        entry.details.append(_("Customer reference: %(ref)s", ref=data["customer_ref"]))


def _photo_added(entry: TimelineEntry, event: IrritantEvent, data: dict[str, Any],
                 category: Category) -> None:
    entry.title = _("Photo added")
    attachment_id = data.get("attachment_id")
    entry.attachment_id = attachment_id if isinstance(attachment_id, int) else None


_BUILDERS = {
    "routed": _routed,
    "sla_escalated": _sla_escalated,
    "reassigned": _reassigned,
    "taken": _taken,
    "commented": _commented,
    "resolved": _resolved,
    "occurred_again": _occurred_again,
    "photo_added": _photo_added,
}
