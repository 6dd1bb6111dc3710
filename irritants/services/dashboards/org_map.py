"""The map: units with their figures over a period, a unit's children, the unit search,
and where one irritant went through the tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from irritants.extensions import db
from irritants.models import GapItem, Irritant, Unit, User
from irritants.services.dashboards.common import Period, _require_director
from irritants.services.errors import NotFound
from irritants.services.snapshot import cached_org
from irritants.services.text_search import contains_any_case


@dataclass
class MapNode:
    """One unit of the map with its figures over a period."""

    key: str
    name: str
    depth: int
    children: int
    closed: bool
    originated: int = 0
    resolved: int = 0
    top_lack: tuple[str, str, int] | None = None
    """(kind, key, count) of the item it lacked most."""
    child_nodes: list[MapNode] | None = field(default=None)


MAP_CHILDREN_SHOWN = 100


def map_nodes(*, actor: User, keys: Sequence[str], period: Period) -> dict[str, MapNode]:
    """The figures of these units (at most a few hundred), in three grouped queries."""
    _require_director(actor)
    org = cached_org()
    snapshot = org.snapshot
    known = [key for key in dict.fromkeys(keys) if key in snapshot]
    nodes = {key: MapNode(key, snapshot.unit(key).name, snapshot.depth(key),
                          len(snapshot.children(key)), key in org.closed) for key in known}
    if not known:
        return nodes
    ids = [org.id_of[key] for key in known]
    logged = [Irritant.created_at >= period.since, Irritant.created_at < period.until]
    for unit_id, count in db.session.execute(
            select(Irritant.origin_unit_id, func.count())
            .where(Irritant.origin_unit_id.in_(ids), *logged)
            .group_by(Irritant.origin_unit_id)).tuples():
        nodes[org.key_of[unit_id]].originated = int(count)
    for unit_id, count in db.session.execute(
            select(Irritant.assignee_id, func.count())
            .where(Irritant.assignee_id.in_(ids), Irritant.status == "resolved", *logged)
            .group_by(Irritant.assignee_id)).tuples():
        nodes[org.key_of[unit_id]].resolved = int(count)
    lacks = db.session.execute(
        select(GapItem.unit_key, GapItem.kind, GapItem.item_key, func.count())
        .where(GapItem.unit_key.in_(known), GapItem.at >= period.since,
               GapItem.at < period.until)
        .group_by(GapItem.unit_key, GapItem.kind, GapItem.item_key)).tuples()
    for unit, kind, key, count in lacks:
        node = nodes[unit]
        best = node.top_lack
        if best is None or (-count, kind, key) < (-best[2], best[0], best[1]):
            node.top_lack = (kind, key, int(count))
    return nodes


def map_children(*, actor: User, unit: str, period: Period,
                 shown: int = MAP_CHILDREN_SHOWN) -> tuple[list[MapNode], int]:
    """The first `shown` children of a unit with their figures, and how many it has."""
    _require_director(actor)
    snapshot = cached_org().snapshot
    if unit not in snapshot:
        raise NotFound(f"no unit {unit}")
    children = snapshot.children(unit)
    nodes = map_nodes(actor=actor, keys=children[:shown], period=period)
    return [nodes[key] for key in children[:shown]], len(children)


def search_units(*, actor: User, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Units whose key or name contains `text` (any case): {"key", "name", "path"}."""
    _require_director(actor)
    needle = (text or "").strip().lower()
    if not needle:
        return []
    rows = db.session.execute(
        select(Unit.key, Unit.name).where(contains_any_case(needle, Unit.key, Unit.name))
        .order_by(func.length(Unit.name), Unit.name, Unit.key).limit(limit)).tuples().all()
    snapshot = cached_org().snapshot
    return [{"key": key, "name": name,
             "path": list(reversed(snapshot.ancestors(key))) if key in snapshot else [key]}
            for key, name in rows]


def irritant_path(*, actor: User, irritant_id: int) -> dict[str, Any]:
    """Where an irritant went: origin, assignee and the tree path between them.

    {"irritant", "origin", "assignee", "path" (origin up to the lowest common
    ancestor, then down to the assignee, both included), "lca", "gaps" (unit ->
    gap of its last routing)}. NotAllowed, NotFound.
    """
    _require_director(actor)
    irritant = db.session.get(Irritant, irritant_id) if 0 < irritant_id < 2**63 else None
    if irritant is None:
        raise NotFound(f"no irritant {irritant_id}")
    org = cached_org()
    snapshot = org.snapshot
    origin = org.key_of.get(irritant.origin_unit_id)
    assignee = org.key_of.get(irritant.assignee_id)
    if origin not in snapshot or assignee not in snapshot:
        raise NotFound(f"irritant {irritant_id} is outside the org")
    path = [*snapshot.path(origin, assignee), assignee]
    return {
        "irritant": irritant,
        "origin": origin,
        "assignee": assignee,
        "path": path,
        "lca": snapshot.lca(origin, assignee),
        "gaps": {gap.get("unit"): gap for gap in irritant.gaps or []},
    }
