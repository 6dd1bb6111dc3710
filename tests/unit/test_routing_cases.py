"""The shared worked cases of routing.md (tests/fixtures/org-small-cases.json), exactly."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from irritants.routing import OrgSnapshot, Requirements, Unit, route
from tests.unit.small_org import FIXTURES, needs_at_logging, small_units

CASES = json.loads((FIXTURES / "org-small-cases.json").read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="module")
def org() -> OrgSnapshot:
    return OrgSnapshot.build(small_units())


def case_id(number: int, case: dict[str, Any]) -> str:
    given = case["given"]
    extra = "-escalated" if "excluded" in given else ""
    return f"{number}-{given['category']}-from-{given['origin']}-{given.get('amount', 0)}{extra}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(n, case) for n, case in enumerate(CASES)])
def test_shared_case_routes_exactly_as_documented(org: OrgSnapshot, case: dict[str, Any]) -> None:
    given, expect = case["given"], case["expect"]
    needs = needs_at_logging(given["category"], given.get("amount", 0))
    if "added_needs" in given:
        needs = needs.combined_with(Requirements.from_dict(given["added_needs"]))

    assignment = route(
        org,
        given["origin"],
        needs,
        open_load=given.get("load", {}),
        excluded=frozenset(given.get("excluded", ())),
    )

    assert assignment.to_dict() == {
        "assignee": expect["assignee"],
        "rank": expect["rank"],
        "unroutable": expect["unroutable"],
        "gaps": expect["gaps"],
    }


# -- the engine's edges on the small org -------------------------------------------


def test_origin_at_root_routed_down_records_the_roots_gap(org: OrgSnapshot) -> None:
    assignment = route(org, "hq", needs_at_logging("app-bug"))

    assert assignment.to_dict() == {
        "assignee": "digital",
        "rank": [1, 0, 0, "digital"],
        "unroutable": False,
        "gaps": [
            {
                "unit": "hq",
                "missing_competencies": [],
                "missing_authorities": {},
                "missing_tools": ["app-admin"],
            }
        ],
    }


def test_requirement_nobody_has_heard_of_is_unroutable_to_root(org: OrgSnapshot) -> None:
    needs = needs_at_logging("rude-service").combined_with(
        Requirements(tools=frozenset({"teleporter"})))

    assignment = route(org, "roubaix", needs)

    assert (assignment.assignee, assignment.rank, assignment.unroutable) == ("hq", None, True)
    assert [gap.unit for gap in assignment.gaps] == ["roubaix", "north", "cs"]
    assert [gap.missing_tools for gap in assignment.gaps] == [("teleporter",)] * 3


def test_unknown_authority_is_reported_without_a_limit(org: OrgSnapshot) -> None:
    needs = Requirements(frozenset({"service"}), {"voucher": 10})

    assignment = route(org, "lille", needs)

    assert assignment.unroutable is True
    assert assignment.gaps[0].to_dict() == {
        "unit": "lille",
        "missing_competencies": [],
        "missing_authorities": {"voucher": {"required": 10}},
        "missing_tools": [],
    }


def test_excluded_units_the_org_does_not_know_are_ignored(org: OrgSnapshot) -> None:
    assignment = route(org, "lille", needs_at_logging("rude-service"),
                       excluded=frozenset({"ghost"}))

    assert assignment.rank == (0, 0, 0, "lille")


def test_unknown_origin_raises_key_error(org: OrgSnapshot) -> None:
    with pytest.raises(KeyError, match="atlantis"):
        route(org, "atlantis", needs_at_logging("rude-service"))


def test_open_load_function_is_asked_only_for_the_tied_units(org: OrgSnapshot) -> None:
    asked: list[list[str]] = []

    def open_load(keys: Any) -> dict[str, int]:
        asked.append(sorted(keys))
        return {"lille": 3, "roubaix": 3}

    assignment = route(
        org, "north", needs_at_logging("rude-service"), open_load, excluded=frozenset({"north"})
    )

    assert asked == [["lille", "roubaix"]]
    assert assignment.rank == (1, 0, 3, "lille")


def test_decimal_and_float_amounts_come_back_unconverted(org: OrgSnapshot) -> None:
    amount = Decimal("300.50")

    assignment = route(org, "lille", needs_at_logging("late-delivery", amount))

    assert assignment.assignee == "cs"
    assert assignment.gaps[1].missing_authorities == {
        "gesture": {"required": Decimal("300.50"), "limit": 300}
    }


# -- requirements and gaps -----------------------------------------------------------


def test_requirements_combine_sets_and_keep_the_larger_amount() -> None:
    logged = Requirements(frozenset({"delivery"}), {"gesture": 40}, frozenset({"carrier-portal"}))
    added = Requirements(frozenset({"billing"}), {"gesture": 25, "refund": 10}, frozenset({"wms"}))

    combined = logged.combined_with(added)

    assert combined.to_dict() == {
        "competencies": ["billing", "delivery"],
        "authorities": {"gesture": 40, "refund": 10},
        "tools": ["carrier-portal", "wms"],
    }


def test_requirements_round_trip_through_dict_and_hash_alike() -> None:
    needs = Requirements(frozenset({"b", "a"}), {"y": 2, "x": 1.5}, frozenset({"t"}))

    again = Requirements.from_dict(needs.to_dict())

    assert again == needs
    assert hash(again) == hash(needs)
    assert len({needs, again}) == 1
    assert Requirements.from_dict({}) == Requirements()


def test_requirements_at_logging_default_the_amount_to_zero() -> None:
    assert Requirements.for_category("delivery", "gesture", None, ["crm"]) == Requirements(
        frozenset({"delivery"}), {"gesture": 0}, frozenset({"crm"})
    )
    assert Requirements.for_category("service").authorities == {}


# -- the snapshot ------------------------------------------------------------------------


def test_tree_queries_on_the_small_org(org: OrgSnapshot) -> None:
    assert (org.root, len(org), org.version) == ("hq", 12, 0)
    assert org.lca("lille", "marseille") == "cs"
    assert org.lca("lille", "north") == "north"
    assert org.lca("app-support", "nice") == "hq"
    assert org.depth("lille") == 3
    assert org.parent("hq") is None
    assert org.ancestors("roubaix") == ["roubaix", "north", "cs", "hq"]
    assert org.children("north") == ["lille", "north-bo", "roubaix"]
    assert org.subtree("south") == ["south", "marseille", "nice"]
    assert org.is_in_subtree("lille", "north") is True
    assert org.is_in_subtree("north", "lille") is False
    assert org.is_in_subtree("lille", "lille") is True
    assert "lille" in org
    assert "atlantis" not in org


@pytest.mark.parametrize(
    ("origin", "assignee", "path"),
    [
        ("lille", "marseille", ["lille", "north", "cs", "south"]),
        ("lille", "roubaix", ["lille", "north"]),
        ("lille", "north", ["lille"]),
        ("lille", "hq", ["lille", "north", "cs"]),
        ("lille", "lille", []),
        ("hq", "hq", []),
        ("hq", "app-support", ["hq", "digital"]),
        ("marseille", "digital", ["marseille", "south", "cs", "hq"]),
    ],
)
def test_path_goes_up_to_the_common_ancestor_then_down_without_the_assignee(
    org: OrgSnapshot, origin: str, assignee: str, path: list[str]
) -> None:
    assert org.path(origin, assignee) == path


def test_build_refuses_two_roots_naming_them() -> None:
    units = [*small_units(), Unit("mars", "Mars office", None)]

    with pytest.raises(ValueError, match="two roots: 'hq', 'mars'"):
        OrgSnapshot.build(units)


def test_build_refuses_an_unknown_parent_naming_the_unit() -> None:
    units = [*small_units(), Unit("paris", "Store Paris", "ile-de-france")]

    with pytest.raises(ValueError, match="unit 'paris' has an unknown parent 'ile-de-france'"):
        OrgSnapshot.build(units)


def test_build_refuses_a_duplicate_key_naming_it() -> None:
    units = [*small_units(), Unit("lille", "Store Lille bis", "north")]

    with pytest.raises(ValueError, match="duplicate unit key 'lille'"):
        OrgSnapshot.build(units)


def test_build_refuses_a_cycle_naming_a_unit_on_it() -> None:
    units = [*small_units(), Unit("a", "A", "b"), Unit("b", "B", "c"), Unit("c", "C", "a")]

    with pytest.raises(ValueError, match="cycle through unit '[abc]'"):
        OrgSnapshot.build(units)


def test_build_refuses_a_tree_without_root() -> None:
    with pytest.raises(ValueError, match="no root: cycle through unit '[ab]'"):
        OrgSnapshot.build([Unit("a", "A", "b"), Unit("b", "B", "a")])
    with pytest.raises(ValueError, match="no root"):
        OrgSnapshot.build([])


def test_a_single_unit_org_routes_to_itself_or_is_unroutable() -> None:
    org = OrgSnapshot.build([Unit("solo", "Solo", None, frozenset({"service"}))], version=7)

    assert route(org, "solo", Requirements(frozenset({"service"}))).rank == (0, 0, 0, "solo")
    assert route(org, "solo", Requirements(frozenset({"billing"}))).to_dict() == {
        "assignee": "solo",
        "rank": None,
        "unroutable": True,
        "gaps": [],
    }
    assert org.version == 7
