"""Reading irritants: one irritant, lists, the queue of a unit, events, and why it went there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, event, false, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from irritants.extensions import db
from irritants.models import (
    SEVERITIES,
    STATUSES,
    UNRESOLVED,
    Category,
    Irritant,
    IrritantEvent,
    IrritantTally,
    User,
    VocabularyLabel,
    utcnow,
)
from irritants.services import access, tally
from irritants.services.errors import NotFound
from irritants.services.messages import _, amount, current_language, n_
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
    # One query: the units come from the org snapshot, the rest is joined.
    irritant = db.session.scalar(
        select(Irritant)
        .options(joinedload(Irritant.category), joinedload(Irritant.reporter),
                 joinedload(Irritant.taken_by))
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


@dataclass(frozen=True)
class _Keys:
    """The columns the scope and the filters read: the irritant's, or the tally's."""

    status: Any
    severity: Any
    assignee_id: Any
    origin_unit_id: Any
    category_id: Any


_IRRITANT_KEYS = _Keys(Irritant.status, Irritant.severity, Irritant.assignee_id,
                       Irritant.origin_unit_id, Irritant.category_id)
_TALLY_KEYS = _Keys(IrritantTally.status, IrritantTally.severity, IrritantTally.assignee_id,
                    IrritantTally.origin_unit_id, IrritantTally.category_id)


def _scope(query: Select[Any], actor: User) -> Select[Any]:
    """Only the irritants the actor may read (api.md's table), in SQL."""
    if actor.role == "agent":
        return query.where(or_(Irritant.reporter_id == actor.id,
                               Irritant.origin_unit_id == actor.unit_id,
                               Irritant.assignee_id == actor.unit_id))
    return query.where(*_lead_or_all_scope(_IRRITANT_KEYS, actor))


def _lead_or_all_scope(keys: _Keys, actor: User) -> list[Any]:
    """The scope of the roles that read by units only (everything but agents)."""
    if actor.role in access.SEES_ALL:
        return []
    if actor.role == "lead":
        org = cached_org()
        own = org.key_of.get(actor.unit_id)
        if own is None:
            return [false()]
        if own == org.snapshot.root:
            return []
        ids = access.subtree_ids(own)
        return [or_(keys.origin_unit_id.in_(ids), keys.assignee_id.in_(ids))]
    return [false()]


def _check_filters(filters: IrritantFilters | None) -> None:
    if filters is None:
        return
    errors = FieldErrors()
    if filters.status is not None and filters.status not in STATUSES:
        errors.add("status", _("Must be one of: %(choices)s.", choices=", ".join(STATUSES)))
    if filters.severity is not None and filters.severity not in SEVERITIES:
        errors.add("severity", _("Must be one of: %(choices)s.", choices=", ".join(SEVERITIES)))
    errors.raise_if_any()


def _key_filters(keys: _Keys, filters: IrritantFilters) -> list[Any]:
    """The conditions of the filters on the tally's keys."""
    org = cached_org()
    conditions: list[Any] = []
    if filters.status is not None:
        conditions.append(keys.status == filters.status)
    if filters.severity is not None:
        conditions.append(keys.severity == filters.severity)
    for key, column in ((filters.assignee, keys.assignee_id),
                        (filters.origin_unit, keys.origin_unit_id)):
        if key is not None:
            conditions.append(column == org.id_of.get(key, -1))
    if filters.category is not None:
        conditions.append(keys.category_id == select(Category.id).where(
            Category.key == filters.category).scalar_subquery())
    return conditions


def _filtered(query: Select[Any], filters: IrritantFilters | None, now: datetime) -> Select[Any]:
    if filters is None:
        return query
    _check_filters(filters)
    query = query.where(*_key_filters(_IRRITANT_KEYS, filters))
    if filters.root_cause is not None:
        query = query.where(Irritant.root_cause == filters.root_cause)
    if filters.reporter_id is not None:
        query = query.where(Irritant.reporter_id == filters.reporter_id)
    if filters.overdue is True:
        query = query.where(Irritant.status.in_(UNRESOLVED), Irritant.due_at < now)
    elif filters.overdue is False:
        query = query.where(or_(Irritant.status == "resolved", Irritant.due_at >= now))
    return query


def _tally_total(actor: User, filters: IrritantFilters | None) -> int | None:
    """The list's total from the tally, or None when the tally cannot say (agents' scope
    names the reporter; root cause, reporter and overdue are not among its keys)."""
    if actor.role == "agent":
        return None
    if filters is not None and (filters.root_cause is not None or filters.reporter_id
                                is not None or filters.overdue is not None):
        return None
    conditions = _lead_or_all_scope(_TALLY_KEYS, actor)
    if filters is not None:
        conditions += _key_filters(_TALLY_KEYS, filters)
    return tally.total(conditions)


# Beyond this offset a page is read as ids first (an index-only scan of the order's
# index), then the rows of those ids: the rows skipped are never fetched.
_DEFERRED_OFFSET = 200


def _page_of(query: Select[Any], order: Sequence[Any], page: int, per_page: int,
             total: int | None = None) -> Page:
    if total is None:
        total = db.session.scalar(
            select(func.count()).select_from(query.with_only_columns(Irritant.id).subquery())
        ) or 0
    offset = (page - 1) * per_page
    if offset >= total:
        return Page(items=[], page=page, per_page=per_page, total=total)
    options = (selectinload(Irritant.category),)
    if offset >= _DEFERRED_OFFSET:
        ids = query.with_only_columns(Irritant.id).order_by(*order).offset(offset).limit(
            per_page).subquery()
        items = db.session.scalars(
            select(Irritant).join(ids, Irritant.id == ids.c.id).options(*options)
            .order_by(*order)
        ).all()
    else:
        items = db.session.scalars(
            query.options(*options).order_by(*order).offset(offset).limit(per_page)
        ).all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)


def visible_irritants(actor: User, *, filters: IrritantFilters | None = None, page: int = 1,
                      per_page: int = 50, now: datetime | None = None) -> Page:
    """The irritants the actor may read, filtered, newest first."""
    page, per_page = _check_page(page, per_page)
    _check_filters(filters)
    query = _filtered(_scope(select(Irritant), actor), filters, now or utcnow())
    return _page_of(query, (Irritant.created_at.desc(), Irritant.id.desc()), page, per_page,
                    total=_tally_total(actor, filters))


def _queue_units(unit_key: str, actor: User, include_descendants: bool) -> list[Any]:
    """The condition on the assignee of a unit's queue (none for the whole organisation:
    every irritant is assigned to a unit of the root's subtree)."""
    org = cached_org()
    if unit_key not in org.snapshot or not access.may_view_queue(actor, unit_key):
        raise NotFound(f"unit {unit_key}")
    if not include_descendants:
        return [Irritant.assignee_id == org.id_of[unit_key]]
    if unit_key == org.snapshot.root:
        return []
    return [Irritant.assignee_id.in_(access.subtree_ids(unit_key))]


def queue_for(unit_key: str, *, actor: User, filters: IrritantFilters | None = None,
              page: int = 1, per_page: int = 50, include_descendants: bool = False,
              now: datetime | None = None, total: int | None = None) -> Page:
    """Unresolved irritants assigned to the unit (or its subtree): overdue first, then by due
    time (due_at ascending does both). NotFound outside the actor's scope.

    `total`: the caller already knows it (queue_counts' open + in_progress, without filters).
    """
    page, per_page = _check_page(page, per_page)
    query = select(Irritant).where(
        Irritant.status.in_(UNRESOLVED), *_queue_units(unit_key, actor, include_descendants))
    query = _filtered(query, filters, now or utcnow())
    return _page_of(query, (Irritant.due_at, Irritant.id), page, per_page, total=total)


def queue_counts(unit_key: str, *, actor: User, include_descendants: bool = False,
                 now: datetime | None = None) -> dict[str, int]:
    """{"open": n, "in_progress": n, "overdue": n} of the unit's (or subtree's) queue, in one
    pass over the queue index (assignee, status, due time)."""
    now = now or utcnow()
    where = [*_queue_units(unit_key, actor, include_descendants),
             Irritant.status.in_(UNRESOLVED)]
    open_, in_progress, overdue = db.session.execute(
        select(func.count(case((Irritant.status == "open", 1))),
               func.count(case((Irritant.status == "in_progress", 1))),
               func.count(case((Irritant.due_at < now, 1))))
        .select_from(Irritant).where(*where)
    ).one()
    return {"open": open_, "in_progress": in_progress, "overdue": overdue}


def events_of(irritant_id: int) -> list[IrritantEvent]:
    """Every event of the irritant, oldest first (read access is the caller's check)."""
    return list(db.session.scalars(
        select(IrritantEvent)
        .options(joinedload(IrritantEvent.actor))  # units come from the org snapshot
        .where(IrritantEvent.irritant_id == irritant_id)
        .order_by(IrritantEvent.at, IrritantEvent.id)
    ).all())


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
            phrases.append(_("the authority for %(authority)s up to %(required)s € (its limit "
                             "is %(limit)s €)", authority=label,
                             required=amount(detail["required"]),
                             limit=amount(detail["limit"])))
        else:
            phrases.append(_("an authority for %(authority)s up to %(required)s € (it holds "
                             "none)", authority=label,
                             required=amount(detail.get("required", 0))))
    phrases += [_("the %(tool)s", tool=labels.get("tool", key))
                for key in gap.get("missing_tools", ())]
    return phrases


class _Names:
    def __init__(self, org: Any) -> None:
        self.org = org

    def unit(self, key: str) -> str:
        return self.org.snapshot.unit(key).name if key in self.org.snapshot else key


_LABELS_KEY = "irritants.vocabulary_labels"


def _vocabulary_labels() -> dict[tuple[str, str], tuple[str, str]]:
    """(kind, key) -> (French, English) of every vocabulary label, read once per database
    transaction (a page explains several routings; the vocabularies are short)."""
    session = db.session()
    labels = session.info.get(_LABELS_KEY)
    if labels is None:
        rows = db.session.execute(select(VocabularyLabel.kind, VocabularyLabel.key,
                                         VocabularyLabel.label_fr, VocabularyLabel.label_en))
        labels = {(kind, key): (fr, en) for kind, key, fr, en in rows}
        session.info[_LABELS_KEY] = labels
    return labels  # type: ignore[no-any-return]


@event.listens_for(Session, "after_transaction_end")
def _forget_labels(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_LABELS_KEY, None)


class _Labels:
    """VocabularyLabel names in the current language, the key when there is none."""

    def __init__(self, wanted: set[tuple[str, str]]) -> None:
        self.language = current_language()
        self.labels: dict[tuple[str, str], str] = {}
        if wanted:
            known = _vocabulary_labels()
            for kind_key in wanted:
                found = known.get(kind_key)
                if found is not None:
                    text = found[1] if self.language == "en" else found[0]
                    self.labels[kind_key] = text or kind_key[1]

    def get(self, kind: str, key: str) -> str:
        return self.labels.get((kind, key), key)

    def join(self, phrases: list[str]) -> str:
        from babel.lists import format_list

        if not phrases:
            return ""
        return format_list(phrases, locale=self.language)


def vocabulary_labels(kind: str, keys: Sequence[str]) -> list[str]:
    """The labels of these items of a vocabulary ("tool", "competency", "authority") in the
    current language, in the same order; an item without a label keeps its key."""
    labels = _Labels({(kind, key) for key in keys})
    return [labels.get(kind, key) for key in keys]
