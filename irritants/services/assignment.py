"""The one place that routes an irritant and records it (routing.md), for logging and
manual escalation alike: load the snapshot, read the loads of tied units only, call
the core, write the routing event and its gap items in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from irritants.extensions import db
from irritants.models import GapItem, Irritant, IrritantEvent, User
from irritants.routing import Assignment, Requirements, route
from irritants.services.rows import insert_objects, insert_rows
from irritants.services.snapshot import CachedOrg, open_load, plain_amount

DEFAULT_SLA_HOURS = {"critical": 4, "high": 24, "medium": 72, "low": 168}


class CategoryRules(Protocol):
    """What routing and the SLA read of a category: a Category row or its cached data."""

    @property
    def competency(self) -> str: ...
    @property
    def authority(self) -> str | None: ...
    @property
    def tools(self) -> Iterable[str] | None: ...
    @property
    def sla_hours(self) -> Mapping[str, Any] | None: ...


def sla_hours(category: CategoryRules, severity: str) -> float:
    """The category's hours for this severity, else routing.md's defaults."""
    hours = (category.sla_hours or {}).get(severity)
    if isinstance(hours, int | float | Decimal) and not isinstance(hours, bool) and hours >= 0:
        return float(hours)
    return float(DEFAULT_SLA_HOURS[severity])


def due_from(category: CategoryRules, severity: str, start: datetime) -> datetime:
    """The due time of an SLA clock started at `start`."""
    return start + timedelta(hours=sla_hours(category, severity))


def requirements_at_logging(category: CategoryRules, amount: Decimal | None) -> Requirements:
    """The category's competency, its authority with the amount (0 when absent), its tools."""
    return Requirements.for_category(
        category.competency,
        category.authority,
        0 if amount is None else plain_amount(amount),
        category.tools or (),
    )


def route_from_origin(org: CachedOrg, origin: str, needs: Requirements,
                      excluded: Iterable[str] = ()) -> Assignment:
    """routing.md's assignment; closed units never receive work."""
    return route(org.snapshot, origin, needs, open_load=open_load,
                 excluded=frozenset(excluded) | org.closed)


def apply_assignment(irritant: Irritant, assignment: Assignment, org: CachedOrg,
                     now: datetime) -> None:
    """Set the assignee, rank, unroutable and gaps; back to open, nobody on it."""
    irritant.assignee_id = org.id_of[assignment.assignee]
    irritant.rank = None if assignment.rank is None else list(assignment.rank)
    irritant.unroutable = assignment.unroutable
    irritant.gaps = [gap.to_dict() for gap in assignment.gaps]
    irritant.status = "open"
    irritant.taken_by_id = None
    irritant.updated_at = now


def record_routing(
    irritant: Irritant,
    assignment: Assignment,
    org: CachedOrg,
    *,
    actor: User | None,
    now: datetime,
    kind: str,
    reason: str | None = None,
    needs: dict[str, Any] | None = None,
) -> IrritantEvent:
    """Write the routing event and its gap items of an applied assignment.

    The irritant must have an id (flushed) and the assignment applied. No commit.
    The event and its gap items are written with Core inserts (rows.py): a routing is
    on the path of every logging, and one flush per row type was most of its cost.
    """
    db.session.flush()  # the irritant's own changes first (a lost race fails here)
    (event,) = insert_objects(IrritantEvent, [{
        "irritant_id": irritant.id,
        "type": "routed",
        "at": now,
        "actor_id": actor.id if actor else None,
        "assignee_id": irritant.assignee_id,
        "rank": irritant.rank,
        "gaps": irritant.gaps,
        "unroutable": assignment.unroutable,
        "org_version": org.version,
        "data": {"kind": kind, "reason": reason, "needs": needs},
    }])
    insert_rows(GapItem, gap_item_rows(event.id, irritant.id, assignment, now))
    return event


def gap_items(event: IrritantEvent, irritant_id: int, assignment: Assignment,
              now: datetime) -> list[GapItem]:
    """One row per missing item per unit, for the gap aggregates."""
    return [GapItem(**row) for row in gap_item_rows(event.id, irritant_id, assignment, now)]


def gap_item_rows(event_id: int, irritant_id: int, assignment: Assignment,
                  now: datetime) -> list[dict[str, Any]]:
    """gap_items() as plain rows (attribute -> value), for a Core insert."""
    items: list[dict[str, Any]] = []

    def item(unit: str, kind: str, key: str, required: Any = None, limit: Any = None) -> None:
        items.append({
            "event_id": event_id, "irritant_id": irritant_id, "at": now, "unit_key": unit,
            "kind": kind, "item_key": key, "required": _decimal(required),
            "limit": _decimal(limit),
        })

    for gap in assignment.gaps:
        for competency in gap.missing_competencies:
            item(gap.unit, "competency", competency)
        for authority, detail in gap.missing_authorities.items():
            item(gap.unit, "authority", authority, detail.get("required"), detail.get("limit"))
        for tool in gap.missing_tools:
            item(gap.unit, "tool", tool)
    return items


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value))
