"""The fast engine against an obviously-correct full scan, on random organisations.

The oracle below reads routing.md literally: it checks every unit, computes
the lowest common ancestor by walking parent chains, ranks by the tuple and
walks the path unit by unit. It shares no code with irritants.routing.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from irritants.routing import (
    Change,
    OrgSnapshot,
    ReplayCase,
    Requirements,
    Unit,
    competent_mask,
    replay,
    route,
)

COMPETENCIES = ["a", "b", "c"]
TOOLS = ["t", "u", "v"]
AUTHORITIES = ["x", "y"]
ABSENT = object()
LIMITS: list[Any] = [ABSENT, None, None, 0, 5, 10, 50, 100, Decimal("7.5"), 7.25]
AMOUNTS: list[Any] = [0, 3, 5, 7, Decimal("7.5"), 7.25, 10, 11, 50, 60]


# -- the oracle ----------------------------------------------------------------


def chain(units: Mapping[str, Unit], key: str) -> list[str]:
    """The key and its ancestors up to the root."""
    keys = [key]
    while units[keys[-1]].parent is not None:
        keys.append(units[keys[-1]].parent)  # type: ignore[arg-type]
    return keys


def oracle_competent(unit: Unit, needs: Requirements) -> bool:
    for competency in needs.competencies:
        if competency not in unit.competencies:
            return False
    for tool in needs.tools:
        if tool not in unit.tools:
            return False
    for authority, amount in needs.authorities.items():
        if authority not in unit.authorities:
            return False
        limit = unit.authorities[authority]
        if limit is not None and not limit >= amount:
            return False
    return True


def oracle_gap(unit: Unit, needs: Requirements) -> dict[str, Any] | None:
    authorities: dict[str, Any] = {}
    for authority in sorted(needs.authorities):
        amount = needs.authorities[authority]
        limit = unit.authorities.get(authority)
        if authority not in unit.authorities:
            authorities[authority] = {"required": amount}
        elif limit is not None and limit < amount:
            authorities[authority] = {"required": amount, "limit": limit}
    competencies = sorted(c for c in needs.competencies if c not in unit.competencies)
    tools = sorted(t for t in needs.tools if t not in unit.tools)
    if not competencies and not authorities and not tools:
        return None
    return {
        "unit": unit.key,
        "missing_competencies": competencies,
        "missing_authorities": authorities,
        "missing_tools": tools,
    }


def oracle_measure(units: Mapping[str, Unit], origin: str, key: str) -> tuple[int, int, str]:
    """(up, down, lca) between origin and key."""
    from_origin, from_key = chain(units, origin), chain(units, key)
    meeting = next(unit for unit in from_origin if unit in from_key)
    return from_origin.index(meeting), from_key.index(meeting), meeting


def oracle_path(units: Mapping[str, Unit], origin: str, assignee: str) -> list[str]:
    up, down, _ = oracle_measure(units, origin, assignee)
    upward = chain(units, origin)[: up + 1]
    downward = list(reversed(chain(units, assignee)[:down]))
    return (upward + downward)[:-1]


def oracle_route(
    units: Mapping[str, Unit],
    origin: str,
    needs: Requirements,
    load: Mapping[str, int],
    excluded: Collection[str],
) -> dict[str, Any]:
    ranks = []
    for key, unit in units.items():
        if key in excluded or not oracle_competent(unit, needs):
            continue
        up, down, _ = oracle_measure(units, origin, key)
        ranks.append((up + down, up, load.get(key, 0), key))
    root = next(key for key, unit in units.items() if unit.parent is None)
    rank = min(ranks) if ranks else None
    assignee = root if rank is None else rank[3]
    gaps = [oracle_gap(units[key], needs) for key in oracle_path(units, origin, assignee)]
    return {
        "assignee": assignee,
        "rank": None if rank is None else list(rank),
        "unroutable": rank is None,
        "gaps": [gap for gap in gaps if gap is not None],
    }


def oracle_tied(
    units: Mapping[str, Unit], origin: str, needs: Requirements, excluded: Collection[str]
) -> set[str]:
    """The competent units sharing the lowest (distance, up)."""
    measured: dict[str, tuple[int, int]] = {}
    for key, unit in units.items():
        if key not in excluded and oracle_competent(unit, needs):
            up, down, _ = oracle_measure(units, origin, key)
            measured[key] = (up + down, up)
    if not measured:
        return set()
    lowest = min(measured.values())
    return {key for key, value in measured.items() if value == lowest}


# -- random organisations --------------------------------------------------------


def pick(bits: int, names: list[str]) -> frozenset[str]:
    return frozenset(name for index, name in enumerate(names) if bits >> index & 1)


def parent_index(index: int, value: int, window: int) -> int:
    if window < 0:
        return value % min(index, -window)
    return index - 1 - value % min(index, window)


@st.composite
def organisations(draw: st.DrawFn) -> list[Unit]:
    """1 to 300 units; shapes from a chain to a star; sparse or dense skills.

    A unit's parent is one of the `window` units created just before it, or,
    with a negative window, one of the first -window units (broad, shallow).
    """
    size = draw(st.integers(1, 300))
    window = draw(st.sampled_from([1, 2, 3, 8, 1000, -1, -4, -20]))
    rarity = draw(st.sampled_from([0, 0, 1, 2, 3]))
    keys = draw(st.permutations([f"k{index:03d}" for index in range(size)]))
    raw = draw(st.lists(st.integers(0, 2**40), min_size=size, max_size=size))
    units = []
    for index, value in enumerate(raw):
        parent = None if index == 0 else keys[parent_index(index, value, window)]
        skills = value >> 8
        for _ in range(rarity):  # each pass halves the density of skills
            skills &= value >> (16 + _)
        authorities = {}
        for number, authority in enumerate(AUTHORITIES):
            limit = LIMITS[(value >> (24 + 3 * number)) % len(LIMITS)]
            if limit is not ABSENT:
                authorities[authority] = limit
        units.append(
            Unit(
                key=keys[index],
                name=keys[index].upper(),
                parent=parent,
                competencies=pick(skills, COMPETENCIES),
                authorities=authorities,
                tools=pick(skills >> 3, TOOLS),
            )
        )
    return units


# Unknown keys are rarer than known ones, so most requirements are routable.
requirements = st.builds(
    Requirements,
    competencies=st.frozensets(st.sampled_from([*COMPETENCIES * 4, "unheard-of"]), max_size=2),
    authorities=st.dictionaries(
        st.sampled_from([*AUTHORITIES * 4, "no-such-authority"]),
        st.sampled_from(AMOUNTS),
        max_size=2,
    ),
    tools=st.frozensets(st.sampled_from([*TOOLS * 4, "no-such-tool"]), max_size=2),
)


@st.composite
def routings(draw: st.DrawFn) -> tuple[list[Unit], list[tuple[str, Requirements, frozenset[str]]]]:
    units = draw(organisations())
    keys = [unit.key for unit in units]
    asked = draw(
        st.lists(
            st.tuples(
                st.sampled_from(keys),
                requirements,
                st.frozensets(st.sampled_from([*keys, "ghost"]), max_size=4),
            ),
            min_size=1,
            max_size=6,
        )
    )
    return units, asked


# -- properties ------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    routings(),
    st.dictionaries(st.sampled_from([f"k{index:03d}" for index in range(300)]), st.integers(0, 3)),
)
def test_fast_route_equals_full_scan(
    case: tuple[list[Unit], list[tuple[str, Requirements, frozenset[str]]]],
    load: dict[str, int],
) -> None:
    units, asked = case
    org = OrgSnapshot.build(units)
    by_key = {unit.key: unit for unit in units}
    for origin, needs, excluded in asked:
        expected = oracle_route(by_key, origin, needs, load, excluded)
        assert route(org, origin, needs, load, excluded).to_dict() == expected


@settings(max_examples=150, deadline=None)
@given(routings())
def test_load_is_asked_only_for_units_tied_on_distance_and_up(
    case: tuple[list[Unit], list[tuple[str, Requirements, frozenset[str]]]],
) -> None:
    units, asked = case
    org = OrgSnapshot.build(units)
    by_key = {unit.key: unit for unit in units}
    for origin, needs, excluded in asked:
        questions: list[set[str]] = []

        def loads(keys: Collection[str], asked_for: list[set[str]] = questions) -> dict[str, int]:
            asked_for.append(set(keys))
            return {key: len(key) % 3 for key in keys}

        tied = oracle_tied(by_key, origin, needs, excluded)
        expected = oracle_route(by_key, origin, needs, loads(tied), excluded)
        questions.clear()
        assert route(org, origin, needs, loads, excluded).to_dict() == expected
        assert questions == ([tied] if tied else [])


@settings(max_examples=200, deadline=None)
@given(organisations(), st.data())
def test_tree_queries_equal_parent_chain_walks(units: list[Unit], data: st.DataObject) -> None:
    org = OrgSnapshot.build(units)
    by_key = {unit.key: unit for unit in units}
    keys = sorted(by_key)
    for _ in range(5):
        a, b = data.draw(st.sampled_from(keys)), data.draw(st.sampled_from(keys))
        up, down, meeting = oracle_measure(by_key, a, b)
        assert org.lca(a, b) == meeting
        assert org.path(a, b) == oracle_path(by_key, a, b)
        assert org.is_in_subtree(a, b) == (b in chain(by_key, a))
        assert org.ancestors(a) == chain(by_key, a)
        assert org.depth(a) == len(chain(by_key, a)) - 1
        assert sorted(org.subtree(b)) == sorted(k for k in keys if b in chain(by_key, k))
        assert org.children(b) == sorted(k for k in keys if by_key[k].parent == b)


# -- what-if ---------------------------------------------------------------------


def oracle_apply(units: list[Unit], changes: list[Change]) -> dict[str, Unit]:
    changed = {unit.key: unit for unit in units}
    for change in changes:
        unit = changed[change.unit]
        changed[change.unit] = Unit(
            unit.key,
            unit.name,
            unit.parent,
            unit.competencies | change.grant_competencies,
            {**unit.authorities, **change.set_authorities},
            unit.tools | change.grant_tools,
        )
    return changed


def oracle_replay(
    units: list[Unit], changes: list[Change], cases: list[ReplayCase]
) -> dict[str, Any]:
    before = {unit.key: unit for unit in units}
    after = oracle_apply(units, changes)
    figures = dict.fromkeys(["changed", "at_origin_before", "at_origin_after"], 0)
    distances = {"before": 0, "after": 0}
    moves = []
    for case in cases:
        outcomes = {}
        for side, org in (("before", before), ("after", after)):
            outcome = oracle_route(org, case.origin, case.requirements, {}, ())
            outcomes[side] = outcome
            if outcome["unroutable"]:
                distances[side] += len(chain(org, case.origin)) - 1
            else:
                distances[side] += outcome["rank"][0]
                figures[f"at_origin_{side}"] += outcome["assignee"] == case.origin
        if outcomes["before"]["assignee"] != outcomes["after"]["assignee"]:
            moves.append(
                (case.irritant_id, outcomes["before"]["assignee"], outcomes["after"]["assignee"])
            )
    count = len(cases)
    return {
        "replayed": count,
        "changed_assignee": len(moves),
        "resolved_at_origin_before": figures["at_origin_before"],
        "resolved_at_origin_after": figures["at_origin_after"],
        "mean_distance_before": distances["before"] / count if count else 0.0,
        "mean_distance_after": distances["after"] / count if count else 0.0,
        "moves": tuple(moves),
    }


@st.composite
def replays(draw: st.DrawFn) -> tuple[list[Unit], list[Change], list[ReplayCase]]:
    units = draw(organisations())
    keys = [unit.key for unit in units]
    changes = draw(
        st.lists(
            st.builds(
                Change,
                unit=st.sampled_from(keys),
                grant_tools=st.frozensets(st.sampled_from([*TOOLS, "no-such-tool"]), max_size=2),
                grant_competencies=st.frozensets(st.sampled_from(COMPETENCIES), max_size=2),
                set_authorities=st.dictionaries(
                    st.sampled_from([*AUTHORITIES, "new-authority"]),
                    st.sampled_from([None, 0, 6, 10, 100]),
                    max_size=2,
                ),
            ),
            max_size=3,
        )
    )
    asked = draw(st.lists(st.tuples(st.sampled_from(keys), requirements), max_size=12))
    # Repeat some cases so that the replay's memo is exercised.
    cases = [
        ReplayCase(number, origin, needs)
        for number, (origin, needs) in enumerate(asked + asked[: len(asked) // 2])
    ]
    return units, changes, cases


@settings(max_examples=200, deadline=None)
@given(replays())
def test_whatif_replay_equals_full_scan_replay(
    case: tuple[list[Unit], list[Change], list[ReplayCase]],
) -> None:
    units, changes, cases = case
    report = replay(OrgSnapshot.build(units), changes, cases)
    expected = oracle_replay(units, changes, cases)
    assert {**report.figures(), "moves": report.moves} == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000), st.integers(1, 5000), st.randoms(use_true_random=False))
def test_many_distinct_limits_cover_exactly_the_right_units(
    size: int, spread: int, rng: random.Random
) -> None:
    # Hundreds of distinct limits: amounts fall between the index's checkpoints.
    limits = [None if rng.random() < 0.05 else rng.randint(0, spread) for _ in range(size)]
    units = [Unit("root", "Root", None)] + [
        Unit(f"u{index}", "U", "root", authorities={"refund": limit})
        for index, limit in enumerate(limits)
    ]
    org = OrgSnapshot.build(units)
    for amount in [rng.randint(-1, spread + 1) for _ in range(20)] + [Decimal("0.5")]:
        mask = competent_mask(org, Requirements(authorities={"refund": amount}))
        # keys() is in the order of the mask's bits (breadth first).
        covered = {key for bit, key in enumerate(org.keys()) if mask >> bit & 1}
        expected = {
            f"u{index}" for index, limit in enumerate(limits) if limit is None or limit >= amount
        }
        assert covered == expected
