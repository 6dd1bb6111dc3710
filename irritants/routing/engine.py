"""Route an irritant to the nearest competent unit and record the gaps (routing.md).

The search never scans the organisation. The competent units are one
integer bitmask (an AND of per-competency and per-tool masks and of the
authority limits that cover the amounts), so requirements nobody meets are
known at once. Then rings are searched outward from the origin: ring `up`
is ancestor a_up and its subtree minus the subtree of a_(up-1), level by
level, and within a level the ring is at most two runs of breadth-first
positions. The search stops as soon as no further ring can be nearer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from irritants.routing.org import Amount, FrozenMap, OrgSnapshot, Unit, freeze_map

Rank = tuple[int, int, int, str]
"""(distance, up, open_load, key): the lowest wins."""

OpenLoad = Mapping[str, int] | Callable[[Collection[str]], Mapping[str, int]]
"""Open irritants per unit: a mapping, or a function asked only for the tied keys."""


@dataclass(frozen=True, slots=True)
class Requirements:
    """What a unit needs to be competent: competencies, authority amounts, tools."""

    competencies: frozenset[str] = frozenset()
    authorities: Mapping[str, Amount] = dataclasses.field(default_factory=FrozenMap)
    tools: frozenset[str] = frozenset()
    _hash: int = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Stored immutable and sorted, so requirements are hashable (what-if dedupes on them).
        object.__setattr__(self, "competencies", frozenset(self.competencies))
        object.__setattr__(self, "tools", frozenset(self.tools))
        object.__setattr__(self, "authorities", freeze_map(self.authorities))
        object.__setattr__(self, "_hash", hash((self.competencies, self.authorities, self.tools)))

    def __hash__(self) -> int:
        # Computed once: a replay hashes the same requirements several times.
        return self._hash

    @classmethod
    def for_category(
        cls,
        competency: str,
        authority: str | None = None,
        amount: Amount | None = None,
        tools: Iterable[str] = (),
    ) -> Requirements:
        """The requirements at logging: the category's needs, the amount 0 when absent."""
        authorities = {} if authority is None else {authority: 0 if amount is None else amount}
        return cls(frozenset({competency}), authorities, frozenset(tools))

    def combined_with(self, other: Requirements) -> Requirements:
        """Both sets of needs; amounts of the same authority combine by max."""
        authorities = dict(self.authorities)
        for authority, amount in other.authorities.items():
            held = authorities.get(authority)
            authorities[authority] = amount if held is None else max(held, amount)
        return Requirements(
            self.competencies | other.competencies, authorities, self.tools | other.tools
        )

    def to_dict(self) -> dict[str, Any]:
        """{"competencies": [...], "authorities": {key: amount}, "tools": [...]}, lists sorted."""
        return {
            "competencies": sorted(self.competencies),
            "authorities": dict(self.authorities),
            "tools": sorted(self.tools),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Requirements:
        """The inverse of to_dict; absent fields are empty."""
        return cls(
            frozenset(data.get("competencies") or ()),
            dict(data.get("authorities") or {}),
            frozenset(data.get("tools") or ()),
        )


@dataclass(frozen=True, slots=True)
class Gap:
    """What one unit on the path lacks to satisfy the requirements."""

    unit: str
    missing_competencies: tuple[str, ...]
    missing_authorities: Mapping[str, Mapping[str, Amount]]
    missing_tools: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of api.md."""
        return {
            "unit": self.unit,
            "missing_competencies": list(self.missing_competencies),
            "missing_authorities": {
                authority: dict(detail) for authority, detail in self.missing_authorities.items()
            },
            "missing_tools": list(self.missing_tools),
        }


@dataclass(frozen=True, slots=True)
class Assignment:
    """The outcome of one routing: assignee, rank (None when unroutable) and gaps in path order."""

    assignee: str
    rank: Rank | None
    unroutable: bool
    gaps: tuple[Gap, ...]

    def to_dict(self) -> dict[str, Any]:
        """{"assignee", "rank": list or None, "unroutable", "gaps": [...]}."""
        return {
            "assignee": self.assignee,
            "rank": None if self.rank is None else list(self.rank),
            "unroutable": self.unroutable,
            "gaps": [gap.to_dict() for gap in self.gaps],
        }


def competent(unit: Unit, needs: Requirements) -> bool:
    """Whether the unit has every competency, authority (limit null or >= amount) and tool."""
    if not needs.competencies <= unit.competencies or not needs.tools <= unit.tools:
        return False
    for authority, amount in needs.authorities.items():
        if authority not in unit.authorities:
            return False
        limit = unit.authorities[authority]
        if limit is not None and limit < amount:
            return False
    return True


def gap_of(unit: Unit, needs: Requirements) -> Gap | None:
    """What the unit lacks for the requirements, None when it lacks nothing."""
    missing_competencies = needs.competencies - unit.competencies
    missing_tools = needs.tools - unit.tools
    missing_authorities = _missing_authorities(unit, needs) if needs.authorities else NOTHING
    if not (missing_competencies or missing_authorities or missing_tools):
        return None
    return Gap(
        unit.key,
        tuple(sorted(missing_competencies)),
        missing_authorities,
        tuple(sorted(missing_tools)),
    )


NOTHING: FrozenMap[Any] = FrozenMap()


def _missing_authorities(unit: Unit, needs: Requirements) -> FrozenMap[FrozenMap[Amount]]:
    """{authority: {"required": x, "limit": y}} for the limits that fall short."""
    missing: dict[str, FrozenMap[Amount]] = {}
    held = unit.authorities
    for authority, amount in needs.authorities.items():
        if authority not in held:
            missing[authority] = FrozenMap({"required": amount})
            continue
        limit = held[authority]
        if limit is not None and limit < amount:
            missing[authority] = FrozenMap({"required": amount, "limit": limit})
    return FrozenMap(missing) if missing else NOTHING


def gaps_along(
    org: OrgSnapshot, origin: str, assignee: str, needs: Requirements
) -> tuple[Gap, ...]:
    """The gaps of the units on the tree path from origin towards assignee, in path order."""
    gaps = (gap_of(org.unit(key), needs) for key in org.path(origin, assignee))
    return tuple(gap for gap in gaps if gap is not None)


def route(
    org: OrgSnapshot,
    origin: str,
    needs: Requirements,
    open_load: OpenLoad | None = None,
    excluded: frozenset[str] = frozenset(),
) -> Assignment:
    """Assign to the competent unit of lowest rank; the root, unroutable, when none.

    KeyError when the origin is not in the org; excluded keys it does not know
    are ignored, and so are requirement keys nobody holds (nobody is competent).
    """
    if origin not in org:
        raise KeyError(origin)
    candidates = competent_mask(org, needs, excluded)
    nearest = nearest_units(org, org._pos[origin], candidates)
    if nearest is None:
        return Assignment(org.root, None, True, gaps_along(org, origin, org.root, needs))
    distance, up, tied = nearest
    load, assignee = _break_tie([org._keys[position] for position in tied], open_load)
    gaps = gaps_along(org, origin, assignee, needs)
    return Assignment(assignee, (distance, up, load, assignee), False, gaps)


def competent_mask(
    org: OrgSnapshot, needs: Requirements, excluded: Iterable[str] = frozenset()
) -> int:
    """Bitmask (by breadth-first position) of the competent units not excluded."""
    mask = org._everyone
    for competency in needs.competencies:
        mask &= org._competency_masks.get(competency, 0)
    for tool in needs.tools:
        mask &= org._tool_masks.get(tool, 0)
    for authority, amount in needs.authorities.items():
        if not mask:
            return 0
        index = org._authority_indexes.get(authority)
        mask = 0 if index is None else mask & index.covering(amount)
    for key in excluded:
        position = org._pos.get(key)
        if position is not None and mask >> position & 1:
            mask ^= 1 << position
    return mask


def nearest_units(
    org: OrgSnapshot, origin: int, candidates: int
) -> tuple[int, int, list[int]] | None:
    """(distance, up, positions tied on both) of the nearest candidates, None when none."""
    if not candidates:
        return None
    if candidates >> origin & 1:
        return 0, 0, [origin]
    best: tuple[int, int, list[int]] | None = None
    best_distance = len(org._keys) + 1
    ancestor, previous, up = origin, -1, 0
    # A ring `up` holds units at distance >= up and loses ties on up: stop once up >= best.
    while ancestor >= 0 and up < best_distance:
        found = _search_ring(org, candidates, ancestor, previous, best_distance - up)
        if found is not None:
            down, tied = found
            best_distance = up + down
            best = (best_distance, up, tied)
        previous, ancestor, up = ancestor, org._parent[ancestor], up + 1
    return best


def _search_ring(
    org: OrgSnapshot, candidates: int, ancestor: int, previous: int, limit: int
) -> tuple[int, list[int]] | None:
    """The smallest down < limit with candidates under `ancestor` but not under `previous`."""
    if candidates >> ancestor & 1:
        return 0, [ancestor]
    start, end = org._child_start, org._child_end
    low, high = start[ancestor], end[ancestor]
    # [skip_low, skip_high): the previous ancestor's subtree at the same level.
    skip_low, skip_high = (previous, previous + 1) if previous >= 0 else (low, low)
    down = 1
    while down < limit and low < high:
        if skip_low == low and skip_high == high:
            return None  # the rest of this subtree was the previous ring's
        found = (candidates >> low) & ((1 << (high - low)) - 1)
        if found and skip_low < skip_high:
            found &= ~(((1 << (skip_high - skip_low)) - 1) << (skip_low - low))
        if found:
            return down, _bit_positions(found, low)
        low, high = start[low], end[high - 1]
        if skip_low < skip_high:
            skip_low, skip_high = start[skip_low], end[skip_high - 1]
        if skip_low >= skip_high:
            skip_low = skip_high = low
        down += 1
    return None


def _bit_positions(bits: int, offset: int) -> list[int]:
    """offset + the index of each set bit of `bits` (> 0)."""
    if bits & (bits - 1) == 0:
        return [offset + bits.bit_length() - 1]
    # Many bits: find them in the binary text, at C speed.
    text = format(bits, "b")[::-1]
    found: list[int] = []
    index = text.find("1")
    while index >= 0:
        found.append(offset + index)
        index = text.find("1", index + 1)
    return found


def _break_tie(keys: list[str], open_load: OpenLoad | None) -> tuple[int, str]:
    """(open_load, key) lowest among units tied on (distance, up); loads read for them only."""
    if open_load is None:
        return 0, min(keys)
    loads = open_load if isinstance(open_load, Mapping) else open_load(keys)
    return min((loads.get(key, 0), key) for key in keys)
