"""The queue's rows, worked out in Python once per request rather than in the template.

A page of 50 rows cost far more to render than its SQL: each row called half a dozen
macros; each macro asked Flask-Babel for its labels (every call looking up the locale,
the domain and the catalogue again through the request context), formatted its times
through the |datetime and |timeago filters (every call resolving the locale and the
time zone again), built its URLs with url_for and rendered a CSRF field. Here the
labels are translated once per request, the locale and the time zone resolved once,
the URLs built once with the ids written into them; the template lays the values out.

The words and markup are those of the shared macros (templates/irritant/_macros.html:
status_label, severity_label and sla_clock), which the other pages still use:
tests/web/test_queue_pages.py checks that a row says what the macros say.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from irritants.models import Irritant, User
from irritants.services import access
from irritants.web.filters import TimeFormat
from irritants.web.irritant.support import language, unit_name


def _markup(message: str) -> Markup:
    """A translated message as the templates' _() gives it: trusted, its %(name)s to fill
    with escaped values."""
    return Markup(message)  # noqa: S704 - our own catalogue, as Jinja's i18n treats it


@dataclass(frozen=True)
class QueueText:
    """The words of the rows, translated once per request (each as the templates' _() gives
    it, so that the page's bytes are the macros')."""

    status: dict[str, Markup]
    severity: dict[str, Markup]
    overdue: Markup
    take: Markup
    due: Markup  # %(when)s
    was_due: Markup  # %(when)s
    escalation_level: Markup  # %(level)s
    from_unit: Markup  # %(unit)s
    with_unit: Markup  # %(unit)s

    @classmethod
    def translated(cls) -> QueueText:
        return cls(
            status={"open": _markup(_("Open")), "in_progress": _markup(_("In progress")),
                    "resolved": _markup(_("Resolved"))},
            severity={"low": _markup(_("Low")), "medium": _markup(_("Medium")),
                      "high": _markup(_("High")), "critical": _markup(_("Critical"))},
            overdue=_markup(_("Overdue")),
            take=_markup(_("Take it")),
            due=_markup(_("Due %(when)s")),
            was_due=_markup(_("was due %(when)s")),
            escalation_level=_markup(_("Escalation level %(level)s")),
            from_unit=_markup(_("From %(unit)s")),
            with_unit=_markup(_("With %(unit)s")),
        )


@dataclass(frozen=True)
class QueueRow:
    """One irritant of the queue, every value ready to show."""

    id: int
    url: str
    category: str
    severity: str
    severity_label: Markup
    status: str
    status_label: Markup
    description: str
    overdue: bool
    due: Markup  # "Due <time>…</time>" or "was due <time>…</time>"
    escalation: Markup | None  # "Escalation level 2"
    origin: Markup  # "From Store Lille"
    assignee: Markup  # "With Region North"
    occurrences: Markup | None  # "3 occurrences", when more than one
    take_url: str | None  # when the actor may take it now


def url_of_id(endpoint: str) -> Callable[[int], str]:
    """url_for(endpoint, irritant_id=n) for many ids at the cost of one url_for: the URL is
    built once around a marker id, then each id is written where the marker was (the
    route's int converter writes an id as its plain digits)."""
    marker = "918273645"
    before, after = url_for(endpoint, irritant_id=int(marker)).split(marker)
    return lambda irritant_id: f"{before}{int(irritant_id)}{after}"


def queue_rows(items: Iterable[Irritant], *, actor: User, now: datetime,
               text: QueueText) -> list[QueueRow]:
    """The rows of a page of the queue (unresolved irritants only, as queue_for lists)."""
    times = TimeFormat(now)
    lang = language()
    show_url, take_url = url_of_id("irritant.show"), url_of_id("irritant.take")

    def due(irritant: Irritant, overdue: bool) -> Markup:
        moment = Markup('<time datetime="%s" title="%s">%s</time>') % (  # noqa: S704
            irritant.due_at.isoformat(), times.format_datetime(irritant.due_at),
            times.format_timeago(irritant.due_at))
        return (text.was_due if overdue else text.due) % {"when": moment}

    rows = []
    for irritant in items:
        overdue = irritant.is_overdue(now)
        level = irritant.escalation_level
        rows.append(QueueRow(
            id=irritant.id,
            url=show_url(irritant.id),
            category=irritant.category.label(lang),
            severity=irritant.severity,
            severity_label=text.severity.get(irritant.severity, text.severity["critical"]),
            status=irritant.status,
            status_label=text.status.get(irritant.status, text.status["resolved"]),
            description=irritant.description,
            overdue=overdue,
            due=due(irritant, overdue),
            escalation=text.escalation_level % {"level": level} if level else None,
            origin=text.from_unit % {"unit": unit_name(irritant.origin_unit_id)},
            assignee=text.with_unit % {"unit": unit_name(irritant.assignee_id)},
            occurrences=_occurrences(irritant.occurrences),
            take_url=(take_url(irritant.id) if irritant.status == "open"
                      and access.may_take(actor, irritant) else None),
        ))
    return rows


def _occurrences(count: int) -> Markup | None:
    if count <= 1:
        return None
    return _markup(ngettext("%(num)d occurrence", "%(num)d occurrences", count))
