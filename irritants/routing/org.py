"""The organisation tree as an immutable, indexed snapshot (routing.md "Unit").

Units are numbered in breadth-first order (children sorted by key), which the
engine relies on: the descendants of any unit at any one level form a
contiguous run of positions, so a ring of the outward search is a couple of
bit ranges of one integer.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from irritants.routing.whatif import Change

Amount = int | float | Decimal
"""An amount or a limit: the core compares them and never converts them."""

V = TypeVar("V")

# At most about twice this many suffix masks are kept per authority; amounts
# between two of them are completed bit by bit (see _AuthorityIndex).
_CHECKPOINTS = 64


class FrozenMap(Mapping[str, V]):
    """An immutable, hashable mapping; it keeps the order it was given."""

    __slots__ = ("_data", "_hash")

    def __init__(self, items: Mapping[str, V] | Iterable[tuple[str, V]] = ()) -> None:
        self._data: dict[str, V] = dict(items)
        self._hash: int | None = None

    def __getitem__(self, key: str) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    # The dict's own views and get: the Mapping mixins go through __getitem__.
    def keys(self) -> KeysView[str]:
        return self._data.keys()

    def items(self) -> ItemsView[str, V]:
        return self._data.items()

    def values(self) -> ValuesView[V]:
        return self._data.values()

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        # Cached: requirements are hashed once per replayed irritant.
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def _first(pair: tuple[str, Any]) -> str:
    return pair[0]


def freeze_map(items: Mapping[str, V] | Iterable[tuple[str, V]]) -> FrozenMap[V]:
    """`items` as a FrozenMap sorted by key (a FrozenMap is taken as it is)."""
    if isinstance(items, FrozenMap):
        return items
    pairs = items.items() if isinstance(items, Mapping) else items
    return FrozenMap(sorted(pairs, key=_first))


@dataclass(frozen=True, slots=True)
class Unit:
    """A node of the organisation tree; authorities map a key to a limit (None: unlimited)."""

    key: str
    name: str
    parent: str | None
    competencies: frozenset[str] = frozenset()
    authorities: Mapping[str, Amount | None] = dataclasses.field(default_factory=FrozenMap)
    tools: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Accept any set or mapping, store immutable ones so a Unit is hashable.
        object.__setattr__(self, "competencies", frozenset(self.competencies))
        object.__setattr__(self, "tools", frozenset(self.tools))
        object.__setattr__(self, "authorities", freeze_map(self.authorities))


def mask_of(positions: Iterable[int], size: int) -> int:
    """The integer whose set bits are `positions` (all < size), built in one pass."""
    buffer = bytearray((size >> 3) + 1)
    for position in positions:
        buffer[position >> 3] |= 1 << (position & 7)
    return int.from_bytes(buffer, "little")


@dataclass(frozen=True, slots=True)
class _AuthorityIndex:
    """Who holds one authority, to find the units whose limit covers an amount.

    `limits` holds the finite limits in ascending order and `positions` the
    units holding them. A suffix mask (every unit from a checkpoint to the end)
    is kept for a bounded number of checkpoints; an amount falling between two
    checkpoints adds the few units in between bit by bit.
    """

    size: int
    unlimited: int
    limits: list[Amount]
    positions: list[int]
    checkpoints: list[int]
    suffix_masks: list[int]
    thresholds: list[Amount]

    @classmethod
    def build(cls, size: int, holders: Iterable[tuple[int, Amount | None]]) -> _AuthorityIndex:
        """Index (position, limit) pairs of the units holding the authority."""
        unlimited: list[int] = []
        finite: list[tuple[Amount, int]] = []
        for position, limit in holders:
            if limit is None:
                unlimited.append(position)
            else:
                finite.append((limit, position))
        finite.sort()
        limits = [limit for limit, _ in finite]
        positions = [position for _, position in finite]
        checkpoints = _checkpoints(limits)
        suffix_masks: list[int] = []
        accumulated = 0
        ends = [*checkpoints[1:], len(limits)][: len(checkpoints)]
        for start, end in reversed(list(zip(checkpoints, ends, strict=True))):
            accumulated |= mask_of(positions[start:end], size)
            suffix_masks.append(accumulated)
        suffix_masks.reverse()
        thresholds = [limits[i] for i in range(len(limits)) if i == 0 or limits[i] != limits[i - 1]]
        return cls(
            size, mask_of(unlimited, size), limits, positions, checkpoints, suffix_masks, thresholds
        )

    def covering(self, amount: Amount) -> int:
        """Mask of the units whose limit is null or at least `amount`."""
        first = bisect_left(self.limits, amount)
        if first == len(self.limits):
            return self.unlimited
        which = bisect_left(self.checkpoints, first)
        if which == len(self.checkpoints):
            stop, mask = len(self.limits), self.unlimited
        else:
            stop, mask = self.checkpoints[which], self.unlimited | self.suffix_masks[which]
        if stop > first:
            mask |= mask_of(self.positions[first:stop], self.size)
        return mask

    def bucket(self, amount: Amount) -> int:
        """Amounts with the same bucket are covered by exactly the same units."""
        return bisect_left(self.thresholds, amount)


def _checkpoints(limits: Sequence[Amount]) -> list[int]:
    """Starts of runs of equal limits worth a suffix mask.

    A run start is kept when it is at least `step` after the last kept one, or
    when its run is at least `step` long, so any amount is at most about
    2 * step positions before the next checkpoint.
    """
    starts = [i for i in range(len(limits)) if i == 0 or limits[i] != limits[i - 1]]
    step = max(1, len(limits) // _CHECKPOINTS)
    kept: list[int] = []
    for number, start in enumerate(starts):
        following = starts[number + 1] if number + 1 < len(starts) else len(limits)
        if not kept or start - kept[-1] >= step or following - start >= step:
            kept.append(start)
    return kept


class OrgSnapshot:
    """An immutable organisation tree indexed for routing: depths, subtrees, LCA, bitmasks."""

    __slots__ = (
        "_version",
        "_keys",
        "_pos",
        "_units",
        "_parent",
        "_depth",
        "_tin",
        "_tout",
        "_dfs",
        "_child_start",
        "_child_end",
        "_jump",
        "_competency_masks",
        "_tool_masks",
        "_authority_indexes",
        "_everyone",
    )

    _version: int
    _keys: list[str]
    _pos: dict[str, int]
    _units: list[Unit]
    _parent: list[int]
    _depth: list[int]
    _tin: list[int]
    _tout: list[int]
    _dfs: list[int]
    _child_start: list[int]
    _child_end: list[int]
    _jump: list[int]
    _competency_masks: dict[str, int]
    _tool_masks: dict[str, int]
    _authority_indexes: dict[str, _AuthorityIndex]
    _everyone: int

    def __init__(self) -> None:
        raise TypeError("use OrgSnapshot.build(units)")

    # -- building -----------------------------------------------------------

    @classmethod
    def build(cls, units: Iterable[Unit], version: int = 0) -> OrgSnapshot:
        """Index a tree of units; ValueError (naming the key) on a broken tree."""
        by_key = _units_by_key(units)
        root = _single_root(by_key)
        children = _children_by_parent(by_key)
        order = _breadth_first(root, children, by_key)
        org: OrgSnapshot = object.__new__(cls)
        org._version = version
        org._index_tree(order, by_key, children)
        org._index_capabilities()
        return org

    def _index_tree(
        self, order: list[str], by_key: dict[str, Unit], children: dict[str, list[str]]
    ) -> None:
        """Positions, parents, depths, children runs, Euler intervals, jump pointers."""
        size = len(order)
        self._keys = order
        self._pos = {key: position for position, key in enumerate(order)}
        self._units = [by_key[key] for key in order]
        pos = self._pos
        self._parent = [-1 if unit.parent is None else pos[unit.parent] for unit in self._units]
        self._depth = depth = [0] * size
        self._child_start = start = [0] * size
        self._child_end = end = [0] * size
        following = 1
        for position, key in enumerate(order):
            start[position] = following
            following += len(children.get(key, ()))
            end[position] = following
            for child in range(start[position], following):
                depth[child] = depth[position] + 1
        self._index_euler_tour()
        self._index_jumps()

    def _index_euler_tour(self) -> None:
        """Preorder numbers (tin) and last preorder number of each subtree (tout)."""
        size = len(self._keys)
        sizes = [1] * size
        parent = self._parent
        for position in range(size - 1, 0, -1):
            sizes[parent[position]] += sizes[position]
        tin = [0] * size
        for position in range(size):
            following = tin[position] + 1
            for child in range(self._child_start[position], self._child_end[position]):
                tin[child] = following
                following += sizes[child]
        self._tin = tin
        self._tout = [tin[position] + sizes[position] - 1 for position in range(size)]
        dfs = [0] * size
        for position, number in enumerate(tin):
            dfs[number] = position
        self._dfs = dfs

    def _index_jumps(self) -> None:
        """Skew-binary jump pointers (Myers 1983): any ancestor in O(log depth) steps."""
        parent, depth = self._parent, self._depth
        jump = [0] * len(parent)
        for position in range(1, len(parent)):
            above = parent[position]
            hop = jump[above]
            if depth[above] - depth[hop] == depth[hop] - depth[jump[hop]]:
                jump[position] = jump[hop]
            else:
                jump[position] = above
        self._jump = jump

    def _index_capabilities(self) -> None:
        """One bitmask per competency and tool, one limit index per authority."""
        size = len(self._units)
        competencies: dict[str, list[int]] = {}
        tools: dict[str, list[int]] = {}
        authorities: dict[str, list[tuple[int, Amount | None]]] = {}
        for position, unit in enumerate(self._units):
            for competency in unit.competencies:
                competencies.setdefault(competency, []).append(position)
            for tool in unit.tools:
                tools.setdefault(tool, []).append(position)
            for authority, limit in unit.authorities.items():
                authorities.setdefault(authority, []).append((position, limit))
        self._competency_masks = {key: mask_of(bits, size) for key, bits in competencies.items()}
        self._tool_masks = {key: mask_of(bits, size) for key, bits in tools.items()}
        self._authority_indexes = {
            key: _AuthorityIndex.build(size, holders) for key, holders in authorities.items()
        }
        self._everyone = (1 << size) - 1

    def with_changes(self, changes: Sequence[Change]) -> OrgSnapshot:
        """The same tree with tools, competencies or limits granted; KeyError on an unknown unit."""
        changed: OrgSnapshot = object.__new__(type(self))
        for name in OrgSnapshot.__slots__:  # the tree is shared: only capabilities change
            object.__setattr__(changed, name, getattr(self, name))
        changed._units = list(self._units)
        changed._competency_masks = dict(self._competency_masks)
        changed._tool_masks = dict(self._tool_masks)
        changed._authority_indexes = dict(self._authority_indexes)
        for change in changes:
            changed._apply(change)
        for authority in {key for change in changes for key in change.set_authorities}:
            changed._authority_indexes[authority] = changed._index_authority(authority)
        return changed

    def _apply(self, change: Change) -> None:
        """Grant one change to this (fresh, not yet shared) copy."""
        if change.unit not in self._pos:
            raise KeyError(change.unit)
        position = self._pos[change.unit]
        bit = 1 << position
        for competency in change.grant_competencies:
            self._competency_masks[competency] = self._competency_masks.get(competency, 0) | bit
        for tool in change.grant_tools:
            self._tool_masks[tool] = self._tool_masks.get(tool, 0) | bit
        unit = self._units[position]
        self._units[position] = dataclasses.replace(
            unit,
            competencies=unit.competencies | change.grant_competencies,
            tools=unit.tools | change.grant_tools,
            authorities={**unit.authorities, **change.set_authorities},
        )

    def _index_authority(self, authority: str) -> _AuthorityIndex:
        holders = [
            (position, unit.authorities[authority])
            for position, unit in enumerate(self._units)
            if authority in unit.authorities
        ]
        return _AuthorityIndex.build(len(self._units), holders)

    # -- reading ------------------------------------------------------------

    @property
    def version(self) -> int:
        """The org version this snapshot was built from."""
        return self._version

    @property
    def root(self) -> str:
        """The key of the root unit."""
        return self._keys[0]

    def __contains__(self, key: object) -> bool:
        return key in self._pos

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"<OrgSnapshot version={self._version} units={len(self._keys)} root={self.root!r}>"

    def unit(self, key: str) -> Unit:
        """The unit with that key; KeyError when there is none."""
        return self._units[self._pos[key]]

    def keys(self) -> Iterable[str]:
        """Every unit key, breadth first from the root (children sorted by key)."""
        return tuple(self._keys)

    def parent(self, key: str) -> str | None:
        """The parent's key, None for the root."""
        above = self._parent[self._pos[key]]
        return None if above < 0 else self._keys[above]

    def depth(self, key: str) -> int:
        """Steps from the root (the root is 0)."""
        return self._depth[self._pos[key]]

    def ancestors(self, key: str) -> list[str]:
        """The unit itself first, then each parent up to the root."""
        return [self._keys[position] for position in self._climb(self._pos[key])]

    def children(self, key: str) -> list[str]:
        """The unit's children, sorted by key."""
        position = self._pos[key]
        return self._keys[self._child_start[position] : self._child_end[position]]

    def subtree(self, key: str) -> list[str]:
        """The unit and all its descendants, depth first (children by key)."""
        position = self._pos[key]
        numbers = range(self._tin[position], self._tout[position] + 1)
        return [self._keys[self._dfs[number]] for number in numbers]

    def is_in_subtree(self, key: str, ancestor: str) -> bool:
        """Whether `key` is `ancestor` or one of its descendants, in O(1)."""
        return self._contains(self._pos[ancestor], self._pos[key])

    def lca(self, a: str, b: str) -> str:
        """The lowest common ancestor of two units, in O(log depth)."""
        return self._keys[self._lca(self._pos[a], self._pos[b])]

    def path(self, origin: str, assignee: str) -> list[str]:
        """routing.md's tree path: origin up to L, then down towards the assignee, excluded."""
        start, end = self._pos[origin], self._pos[assignee]
        meeting = self._lca(start, end)
        upward = self._climb(start, meeting)
        downward = self._climb(end, meeting)[:-1]
        return [self._keys[position] for position in (upward + downward[::-1])[:-1]]

    # -- position arithmetic, shared with the engine --------------------------

    def _contains(self, ancestor: int, position: int) -> bool:
        return self._tin[ancestor] <= self._tin[position] <= self._tout[ancestor]

    def _lca(self, a: int, b: int) -> int:
        # Climb from `a` to its first ancestor containing `b`, long jumps first.
        parent, jump = self._parent, self._jump
        while not self._contains(a, b):
            hop = jump[a]
            a = parent[a] if self._contains(hop, b) else hop
        return a

    def _climb(self, position: int, stop: int = -1) -> list[int]:
        """Positions from `position` up to `stop` (included), or to the root."""
        chain = [position]
        while position != stop and self._parent[position] >= 0:
            position = self._parent[position]
            chain.append(position)
        return chain


def _units_by_key(units: Iterable[Unit]) -> dict[str, Unit]:
    by_key: dict[str, Unit] = {}
    for unit in units:
        if unit.key in by_key:
            raise ValueError(f"duplicate unit key {unit.key!r}")
        by_key[unit.key] = unit
    return by_key


def _single_root(by_key: dict[str, Unit]) -> str:
    roots = sorted(key for key, unit in by_key.items() if unit.parent is None)
    for key, unit in by_key.items():
        if unit.parent is not None and unit.parent not in by_key:
            raise ValueError(f"unit {key!r} has an unknown parent {unit.parent!r}")
    if len(roots) > 1:
        raise ValueError(f"two roots: {', '.join(repr(key) for key in roots)}")
    if not roots:
        if by_key:
            looped = _in_cycle(by_key, next(iter(by_key)))
            raise ValueError(f"no root: cycle through unit {looped!r}")
        raise ValueError("no root: the organisation has no unit")
    return roots[0]


def _children_by_parent(by_key: dict[str, Unit]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for key, unit in by_key.items():
        if unit.parent is not None:
            children.setdefault(unit.parent, []).append(key)
    for keys in children.values():
        keys.sort()
    return children


def _breadth_first(root: str, children: dict[str, list[str]], by_key: dict[str, Unit]) -> list[str]:
    order = [root]
    for key in order:  # the list grows while we walk it: a breadth-first queue
        order.extend(children.get(key, ()))
    if len(order) != len(by_key):
        reached = set(order)
        stray = next(key for key in by_key if key not in reached)
        raise ValueError(f"cycle through unit {_in_cycle(by_key, stray)!r}")
    return order


def _in_cycle(by_key: dict[str, Unit], start: str) -> str:
    """A key on the cycle above `start` (every parent known, the root not reached)."""
    seen: set[str] = set()
    key = start
    while key not in seen:
        seen.add(key)
        parent = by_key[key].parent
        assert parent is not None  # unreachable from the root: the chain never ends
        key = parent
    return key
