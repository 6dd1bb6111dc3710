"""Replay irritants against a changed organisation (routing.md "What-if").

Every load is 0 in a replay: it compares org shapes, not today's queues. So
a routing depends only on the origin and on the set of competent units, and
irritants are routed once per distinct (origin, competent set): amounts that
fall between the same two authority limits share a set, and so do both sides
of the replay when the change does not touch the requirements.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from irritants.routing.engine import Requirements, competent_mask, nearest_units
from irritants.routing.org import Amount, FrozenMap, OrgSnapshot, freeze_map

PROGRESS_EVERY = 10_000
"""Cases between two calls of the progress callback."""


@dataclass(frozen=True, slots=True)
class Change:
    """Grant a unit tools or competencies, or set authority limits (None: unlimited)."""

    unit: str
    grant_tools: frozenset[str] = frozenset()
    grant_competencies: frozenset[str] = frozenset()
    set_authorities: Mapping[str, Amount | None] = dataclasses.field(default_factory=FrozenMap)

    def __post_init__(self) -> None:
        object.__setattr__(self, "grant_tools", frozenset(self.grant_tools))
        object.__setattr__(self, "grant_competencies", frozenset(self.grant_competencies))
        object.__setattr__(self, "set_authorities", freeze_map(self.set_authorities))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        """A change in api.md's JSON shape."""
        return cls(
            data["unit"],
            frozenset(data.get("grant_tools") or ()),
            frozenset(data.get("grant_competencies") or ()),
            dict(data.get("set_authorities") or {}),
        )


def apply_changes(org: OrgSnapshot, changes: Sequence[Change]) -> OrgSnapshot:
    """The org with the changes applied; KeyError when one names an unknown unit."""
    return org.with_changes(changes)


@dataclass(frozen=True, slots=True)
class ReplayCase:
    """One irritant to replay: its origin and its requirements at logging."""

    irritant_id: int
    origin: str
    requirements: Requirements


@dataclass(frozen=True, slots=True)
class WhatIfReport:
    """The six figures of api.md, and which irritants change assignee."""

    replayed: int
    changed_assignee: int
    resolved_at_origin_before: int
    resolved_at_origin_after: int
    mean_distance_before: float
    mean_distance_after: float
    moves: tuple[tuple[int, str, str], ...]
    """(irritant_id, assignee before, assignee after) for each changed assignee."""

    def figures(self) -> dict[str, int | float]:
        """The six figures, named as in api.md."""
        return {
            "replayed": self.replayed,
            "changed_assignee": self.changed_assignee,
            "resolved_at_origin_before": self.resolved_at_origin_before,
            "resolved_at_origin_after": self.resolved_at_origin_after,
            "mean_distance_before": self.mean_distance_before,
            "mean_distance_after": self.mean_distance_after,
        }

    def workload_delta(self) -> dict[str, int]:
        """Per unit, irritants gained minus lost; units whose balance is 0 are left out."""
        delta: dict[str, int] = {}
        for _, before, after in self.moves:
            delta[before] = delta.get(before, 0) - 1
            delta[after] = delta.get(after, 0) + 1
        return {unit: count for unit, count in sorted(delta.items()) if count}


Outcome = tuple[str, str, int, int, bool, bool]
"""One (origin, requirements) replayed: assignee before and after, distance before
and after, resolved at origin before and after."""

MaskIds = tuple[int, int]
"""Ids of the competent sets before and after the change."""


class _Replayer:
    """Routes of the replay, memoised at every level where irritants share them.

    Requirements -> the ids of their competent sets on both sides (amounts
    between the same two limits share them); (origin, ids) -> the outcome;
    (origin, one id) -> a routing, shared by both sides when a set is unchanged.
    """

    def __init__(self, org: OrgSnapshot, changed: OrgSnapshot,
                 excluded: Collection[str] = frozenset()) -> None:
        self.org, self.changed = org, changed
        self.excluded = frozenset(excluded)
        self.mask_ids: dict[int, int] = {}
        self.masks: list[int] = []
        self.by_canonical: dict[tuple[Any, ...], MaskIds] = {}
        self.routings: dict[tuple[int, int], tuple[int, int, bool]] = {}

    def ids_of(self, needs: Requirements) -> MaskIds:
        """The ids of the sets of units competent for `needs`, before and after."""
        canonical = (
            needs.competencies,
            needs.tools,
            _buckets(self.org, needs),
            _buckets(self.changed, needs),
        )
        found = self.by_canonical.get(canonical)
        if found is None:
            found = (
                self._intern(competent_mask(self.org, needs, self.excluded)),
                self._intern(competent_mask(self.changed, needs, self.excluded)),
            )
            self.by_canonical[canonical] = found
        return found

    def outcome(self, origin_key: str, ids: MaskIds) -> Outcome:
        """Both routings of one origin, and what they add to the figures."""
        origin = self.org._pos[origin_key]
        before, distance_before, unroutable_before = self._routing(origin, ids[0])
        after, distance_after, unroutable_after = self._routing(origin, ids[1])
        keys = self.org._keys
        return (
            keys[before],
            keys[after],
            distance_before,
            distance_after,
            before == origin and not unroutable_before,
            after == origin and not unroutable_after,
        )

    def _intern(self, mask: int) -> int:
        found = self.mask_ids.get(mask)
        if found is None:
            found = self.mask_ids[mask] = len(self.masks)
            self.masks.append(mask)
        return found

    def _routing(self, origin: int, mask_id: int) -> tuple[int, int, bool]:
        """(assignee position, distance, unroutable) with every load 0."""
        found = self.routings.get((origin, mask_id))
        if found is None:
            nearest = nearest_units(self.org, origin, self.masks[mask_id])
            if nearest is None:
                # Unroutable: lands at the root, its distance is the origin's depth.
                found = (0, self.org._depth[origin], True)
            else:
                distance, _, tied = nearest
                # Every load is 0: the tie goes to the smallest key.
                found = (min(tied, key=self.org._keys.__getitem__), distance, False)
            self.routings[(origin, mask_id)] = found
        return found


def _buckets(org: OrgSnapshot, needs: Requirements) -> tuple[tuple[str, int], ...]:
    """Each required amount as the number of distinct limits below it."""
    indexes = org._authority_indexes
    buckets: list[tuple[str, int]] = []
    for authority, amount in needs.authorities.items():
        index = indexes.get(authority)
        buckets.append((authority, -1 if index is None else index.bucket(amount)))
    return tuple(buckets)


def replay(
    org: OrgSnapshot,
    changes: Sequence[Change],
    cases: Iterable[ReplayCase],
    progress: Callable[[int], None] | None = None,
    excluded: Collection[str] = frozenset(),
) -> WhatIfReport:
    """Route every case on the org and on the changed org, loads 0, and compare.

    KeyError when a change names an unknown unit or a case an unknown origin.
    `progress`, when given, is called with the number of cases done so far.
    `excluded` units never receive work on either side (closed units: as route()'s
    `excluded`, the same for every case).
    """
    replayer = _Replayer(org, org.with_changes(changes), excluded)
    by_requirements: dict[Requirements, MaskIds] = {}
    outcomes: dict[tuple[str, MaskIds], Outcome] = {}
    moves: list[tuple[int, str, str]] = []
    sums = [0, 0, 0, 0]  # distance before, after; resolved at origin before, after
    replayed = 0
    for case in cases:
        ids = by_requirements.get(case.requirements)
        if ids is None:
            ids = by_requirements[case.requirements] = replayer.ids_of(case.requirements)
        found = outcomes.get((case.origin, ids))
        if found is None:
            found = outcomes[(case.origin, ids)] = replayer.outcome(case.origin, ids)
        _add(sums, found)
        if found[0] != found[1]:
            moves.append((case.irritant_id, found[0], found[1]))
        replayed += 1
        if progress is not None and replayed % PROGRESS_EVERY == 0:
            progress(replayed)
    if progress is not None and replayed % PROGRESS_EVERY:
        progress(replayed)
    return _report(replayed, sums, moves)


def _add(sums: list[int], outcome: Outcome) -> None:
    sums[0] += outcome[2]
    sums[1] += outcome[3]
    sums[2] += outcome[4]
    sums[3] += outcome[5]


def _report(replayed: int, sums: list[int], moves: list[tuple[int, str, str]]) -> WhatIfReport:
    return WhatIfReport(
        replayed=replayed,
        changed_assignee=len(moves),
        resolved_at_origin_before=sums[2],
        resolved_at_origin_after=sums[3],
        mean_distance_before=sums[0] / replayed if replayed else 0.0,
        mean_distance_after=sums[1] / replayed if replayed else 0.0,
        moves=tuple(moves),
    )
