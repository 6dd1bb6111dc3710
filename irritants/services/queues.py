"""Reading irritants: one irritant, lists, the queue of a unit, events, and why it went there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from irritants.extensions import db
from irritants.models import (
    SEVERITIES,
    STATUSES,
    UNRESOLVED,
    Category,
    Irritant,
    IrritantEvent,
    User,
    VocabularyLabel,
    utcnow,
)
from irritants.services import access
from irritants.services.errors import NotAllowed, NotFound
from irritants.services.messages import _, current_language, n_
from irritants.services.snapshot import cached_org
from irritants.services.validation import FieldErrors, valid_id

MAX_PER_PAGE = 500


@dataclass
class Page:
    """One page of a list, as api.md answers it."""

    items: list[Any]
    page: int
    per_page: int
    total: int


@dataclass
class IrritantFilters:
    """List filters; keys, not ids. None means any."""

    status: str | None = None
    assignee: str | None = None
    origin_unit: str | None = None
    category: str | None = None
    root_cause: str | None = None
    severity: str | None = None
    reporter_id: int | None = None  # "my irritants"
    overdue: bool | None = None


def get_irritant(irritant_id: int, *, actor: User) -> Irritant:
    """The irritant; NotFound when it does not exist or is outside the actor's scope."""
    if not valid_id(irritant_id):
        raise NotFound(f"irritant {irritant_id}")
    irritant = db.session.scalar(
        select(Irritant)
        .options(selectinload(Irritant.category), selectinload(Irritant.origin_unit),
                 selectinload(Irritant.assignee), selectinload(Irritant.reporter),
                 selectinload(Irritant.taken_by))
        .where(Irritant.id == irritant_id)
    )
    if irritant is None or not access.may_read(actor, irritant):
        raise NotFound(f"irritant {irritant_id}")
    return irritant


def _check_page(page: Any, per_page: Any) -> tuple[int, int]:
    errors = FieldErrors()
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        errors.add("page", _("Must be a whole number of at least 1."))
    if (isinstance(per_page, bool) or not isinstance(per_page, int)
            or not 1 <= per_page <= MAX_PER_PAGE):
        errors.add("per_page", _("Must be a whole number from 1 to %(max)d.", max=MAX_PER_PAGE))
    errors.raise_if_any()
    return page, per_page


def _scope(query: Select[Any], actor: User) -> Select[Any]:
    """Only the irritants the actor may read (api.md's table), in SQL."""
    if actor.role in access.SEES_ALL:
        return query
    if actor.role == "agent":
        return query.where(or_(Irritant.reporter_id == actor.id,
                               Irritant.origin_unit_id == actor.unit_id,
                               Irritant.assignee_id == actor.unit_id))
    if actor.role == "lead":
        org = cached_org()
        own = org.key_of.get(actor.unit_id)
        if own is None:
            return query.where(False)
        if own == org.snapshot.root:
            return query
        ids = access.subtree_ids(own)
        return query.where(or_(Irritant.origin_unit_id.in_(ids), Irritant.assignee_id.in_(ids)))
    return query.where(False)


def _filtered(query: Select[Any], filters: IrritantFilters | None, now: datetime) -> Select[Any]:
    if filters is None:
        return query
    errors = FieldErrors()
    org = cached_org()
    if filters.status is not None and filters.status not in STATUSES:
        errors.add("status", _("Must be one of: %(choices)s.", choices=", ".join(STATUSES)))
    if filters.severity is not None and filters.severity not in SEVERITIES:
        errors.add("severity", _("Must be one of: %(choices)s.", choices=", ".join(SEVERITIES)))
    errors.raise_if_any()
    if filters.status is not None:
        query = query.where(Irritant.status == filters.status)
    if filters.severity is not None:
        query = query.where(Irritant.severity == filters.severity)
    for key, column in ((filters.assignee, Irritant.assignee_id),
                        (filters.origin_unit, Irritant.origin_unit_id)):
        if key is not None:
            query = query.where(column == org.id_of.get(key, -1))
    if filters.category is not None:
        query = query.where(Irritant.category_id == select(Category.id).where(
            Category.key == filters.category).scalar_subquery())
    if filters.root_cause is not None:
        query = query.where(Irritant.root_cause == filters.root_cause)
    if filters.reporter_id is not None:
        query = query.where(Irritant.reporter_id == filters.reporter_id)
    if filters.overdue is True:
        query = query.where(Irritant.status.in_(UNRESOLVED), Irritant.due_at < now)
    elif filters.overdue is False:
        query = query.where(or_(Irritant.status == "resolved", Irritant.due_at >= now))
    return query


def _page_of(query: Select[Any], order: Sequence[Any], page: int, per_page: int) -> Page:
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = db.session.scalars(
        query.options(selectinload(Irritant.category), selectinload(Irritant.origin_unit),
                      selectinload(Irritant.assignee))
        .order_by(*order).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)


def visible_irritants(actor: User, *, filters: IrritantFilters | None = None, page: int = 1,
                      per_page: int = 50, now: datetime | None = None) -> Page:
    """The irritants the actor may read, filtered, newest first."""
    page, per_page = _check_page(page, per_page)
    query = _filtered(_scope(select(Irritant), actor), filters, now or utcnow())
    return _page_of(query, (Irritant.created_at.desc(), Irritant.id.desc()), page, per_page)


def _queue_units(unit_key: str, actor: User, include_descendants: bool) -> list[int]:
    org = cached_org()
    if unit_key not in org.snapshot or not access.may_view_queue(actor, unit_key):
        raise NotFound(f"unit {unit_key}")
    if not include_descendants:
        return [org.id_of[unit_key]]
    return access.subtree_ids(unit_key)


def queue_for(unit_key: str, *, actor: User, filters: IrritantFilters | None = None,
              page: int = 1, per_page: int = 50, include_descendants: bool = False,
              now: datetime | None = None) -> Page:
    """Unresolved irritants assigned to the unit (or its subtree): overdue first, then by due
    time (due_at ascending does both). NotFound outside the actor's scope."""
    page, per_page = _check_page(page, per_page)
    ids = _queue_units(unit_key, actor, include_descendants)
    query = select(Irritant).where(Irritant.status.in_(UNRESOLVED))
    query = query.where(Irritant.assignee_id.in_(ids)) if len(ids) > 1 else query.where(
        Irritant.assignee_id == ids[0])
    query = _filtered(query, filters, now or utcnow())
    return _page_of(query, (Irritant.due_at, Irritant.id), page, per_page)


def queue_counts(unit_key: str, *, actor: User, include_descendants: bool = False,
                 now: datetime | None = None) -> dict[str, int]:
    """{"open": n, "in_progress": n, "overdue": n} of the unit's (or subtree's) queue."""
    now = now or utcnow()
    ids = _queue_units(unit_key, actor, include_descendants)
    where = [Irritant.assignee_id.in_(ids), Irritant.status.in_(UNRESOLVED)]
    counts = dict(db.session.execute(
        select(Irritant.status, func.count()).where(*where).group_by(Irritant.status)).all())
    overdue = db.session.scalar(
        select(func.count()).select_from(Irritant).where(*where, Irritant.due_at < now)) or 0
    return {"open": counts.get("open", 0), "in_progress": counts.get("in_progress", 0),
            "overdue": overdue}


def events_of(irritant_id: int) -> list[IrritantEvent]:
    """Every event of the irritant, oldest first (read access is the caller's check)."""
    return list(db.session.scalars(
        select(IrritantEvent)
        .options(selectinload(IrritantEvent.actor), selectinload(IrritantEvent.assignee))
        .where(IrritantEvent.irritant_id == irritant_id)
        .order_by(IrritantEvent.at, IrritantEvent.id)
    ).all())


def unit_options(actor: User) -> list[tuple[str, str]]:
    """(key, name) of the open units, for reassignment forms."""
    if not access.role_may(actor, "reassign"):
        raise NotAllowed("reassign")
    org = cached_org()
    # Depth first from the root: a form lists each unit under its parent.
    return [(key, org.snapshot.unit(key).name) for key in org.snapshot.subtree(org.snapshot.root)
            if key not in org.closed]


# -- why it went there ---------------------------------------------------------------


def explain_routing(event: IrritantEvent) -> list[str]:
    """Plain sentences from an event's gaps and rank, in the current language."""
    org = cached_org()
    names = _Names(org)
    assignee = org.key_of.get(event.assignee_id or 0, "")
    if event.type == "sla_escalated":
        return [_("Overdue: escalated to %(unit)s, the level above.", unit=names.unit(assignee))]
    if event.type == "reassigned":
        return [_("Reassigned by hand to %(unit)s.", unit=names.unit(assignee))]
    if event.type != "routed":
        return []
    sentences: list[str] = []
    data = event.data or {}
    if data.get("kind") == "escalation" and (data.get("needs") or {}).get("from"):
        sentences.append(_("Escalated by %(unit)s, which is now left out.",
                           unit=names.unit(data["needs"]["from"])))
    gaps = event.gaps or []
    labels = _Labels({(kind, key) for gap in gaps for kind, key in _gap_keys(gap)})
    previous: tuple[Any, ...] | None = None
    for gap in gaps:
        signature = (tuple(gap.get("missing_competencies", ())),
                     tuple(sorted((gap.get("missing_authorities") or {}).items(), key=str)),
                     tuple(gap.get("missing_tools", ())))
        unit = names.unit(gap["unit"])
        if signature == previous:
            count = len(_gap_keys(gap))
            sentences.append(n_("%(unit)s lacks it too.", "%(unit)s lacks them too.", count,
                                unit=unit))
        else:
            sentences.append(_("%(unit)s lacks %(items)s.", unit=unit,
                               items=labels.join(_gap_phrases(gap, labels))))
        previous = signature
    if event.unroutable or event.rank is None:
        sentences.append(_("No unit has everything it takes; sent to %(unit)s.",
                           unit=names.unit(assignee)))
    else:
        distance = int(event.rank[0])
        if distance == 0:
            sentences.append(_("%(unit)s, where it happened, has everything it takes.",
                               unit=names.unit(assignee)))
        else:
            sentences.append(n_("%(unit)s, %(num)d step away, has everything it takes.",
                                "%(unit)s, %(num)d steps away, has everything it takes.",
                                distance, unit=names.unit(assignee)))
    return sentences


def _gap_keys(gap: dict[str, Any]) -> list[tuple[str, str]]:
    return ([("competency", key) for key in gap.get("missing_competencies", ())]
            + [("authority", key) for key in (gap.get("missing_authorities") or {})]
            + [("tool", key) for key in gap.get("missing_tools", ())])


def _gap_phrases(gap: dict[str, Any], labels: _Labels) -> list[str]:
    phrases = [_("the %(competency)s competency", competency=labels.get("competency", key))
               for key in gap.get("missing_competencies", ())]
    for key, detail in (gap.get("missing_authorities") or {}).items():
        label = labels.get("authority", key)
        if "limit" in detail:
            phrases.append(_("the authority for %(authority)s up to %(required)s (its limit is "
                             "%(limit)s)", authority=label, required=_number(detail["required"]),
                             limit=_number(detail["limit"])))
        else:
            phrases.append(_("any authority for %(authority)s (%(required)s needed)",
                             authority=label, required=_number(detail.get("required", 0))))
    phrases += [_("the %(tool)s", tool=labels.get("tool", key))
                for key in gap.get("missing_tools", ())]
    return phrases


def _number(value: Any) -> str:
    try:
        from flask_babel import format_decimal

        from irritants.services.messages import _can_translate

        if _can_translate():
            return str(format_decimal(value))
    except (TypeError, ValueError):
        pass
    return str(value)


class _Names:
    def __init__(self, org: Any) -> None:
        self.org = org

    def unit(self, key: str) -> str:
        return self.org.snapshot.unit(key).name if key in self.org.snapshot else key


class _Labels:
    """VocabularyLabel names in the current language, the key when there is none."""

    def __init__(self, wanted: set[tuple[str, str]]) -> None:
        self.language = current_language()
        self.labels: dict[tuple[str, str], str] = {}
        if wanted:
            rows = db.session.scalars(select(VocabularyLabel).where(
                VocabularyLabel.key.in_({key for _kind, key in wanted}))).all()
            for row in rows:
                text = row.label_en if self.language == "en" else row.label_fr
                self.labels[(row.kind, row.key)] = text or row.key

    def get(self, kind: str, key: str) -> str:
        return self.labels.get((kind, key), key)

    def join(self, phrases: list[str]) -> str:
        from babel.lists import format_list

        if not phrases:
            return ""
        return format_list(phrases, locale=self.language)
