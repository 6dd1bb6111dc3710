"""What-if replays on the small org (routing.md "What-if"), figures checked exactly."""

from __future__ import annotations

import pytest

from irritants.routing import (
    Change,
    OrgSnapshot,
    ReplayCase,
    Requirements,
    apply_changes,
    replay,
    route,
)
from tests.unit.small_org import needs_at_logging, small_units


@pytest.fixture(scope="module")
def org() -> OrgSnapshot:
    return OrgSnapshot.build(small_units())


def period() -> list[ReplayCase]:
    return [
        ReplayCase(1, "lille", needs_at_logging("faulty-product", 80)),  # roubaix, distance 2
        ReplayCase(2, "lille", needs_at_logging("rude-service")),  # lille itself, 0
        ReplayCase(3, "marseille", needs_at_logging("app-bug")),  # digital, 4
        ReplayCase(4, "nice", needs_at_logging("faulty-product", 200)),  # unroutable: depth 3
    ]


def test_refund_terminal_for_lille_keeps_its_faulty_products_at_the_store(
    org: OrgSnapshot,
) -> None:
    change = Change("lille", grant_tools=frozenset({"refund-terminal"}))

    report = replay(org, [change], period())

    assert report.figures() == {
        "replayed": 4,
        "changed_assignee": 1,
        "resolved_at_origin_before": 1,
        "resolved_at_origin_after": 2,
        "mean_distance_before": 2.25,
        "mean_distance_after": 1.75,
    }
    assert report.moves == ((1, "roubaix", "lille"),)
    assert report.workload_delta() == {"lille": 1, "roubaix": -1}


def test_unlimited_refund_and_a_terminal_make_nice_resolve_what_was_unroutable(
    org: OrgSnapshot,
) -> None:
    change = Change(
        "nice", grant_tools=frozenset({"refund-terminal"}), set_authorities={"refund": None}
    )

    report = replay(org, [change], period())

    assert report.moves == ((4, "hq", "nice"),)
    assert (report.resolved_at_origin_after, report.mean_distance_after) == (2, 1.5)


def test_a_change_that_touches_nobodys_needs_changes_nothing(org: OrgSnapshot) -> None:
    change = Change("app-support", grant_competencies=frozenset({"billing"}))

    report = replay(org, [change], period() * 3)

    assert report.figures() == {
        "replayed": 12,
        "changed_assignee": 0,
        "resolved_at_origin_before": 3,
        "resolved_at_origin_after": 3,
        "mean_distance_before": 2.25,
        "mean_distance_after": 2.25,
    }
    assert report.workload_delta() == {}


def test_excluded_units_receive_nothing_on_either_side(org: OrgSnapshot) -> None:
    # roubaix closed: lille's faulty product goes to marseille (4: up to cs, down to
    # marseille); an unlimited refund granted to roubaix moves nothing there.
    change = Change("roubaix", set_authorities={"refund": None})

    report = replay(org, [change], period(), excluded=frozenset({"roubaix"}))

    assert report.figures() == {
        "replayed": 4,
        "changed_assignee": 0,
        "resolved_at_origin_before": 1,
        "resolved_at_origin_after": 1,
        "mean_distance_before": 2.75,
        "mean_distance_after": 2.75,
    }
    assert report.moves == ()


def test_an_empty_period_reports_zeros(org: OrgSnapshot) -> None:
    report = replay(org, [], [])

    assert report.figures() == {
        "replayed": 0,
        "changed_assignee": 0,
        "resolved_at_origin_before": 0,
        "resolved_at_origin_after": 0,
        "mean_distance_before": 0.0,
        "mean_distance_after": 0.0,
    }


def test_replay_ignores_open_load_and_ties_go_to_the_smallest_key(org: OrgSnapshot) -> None:
    cases = [ReplayCase(number, "cs", needs_at_logging("faulty-product", 100))
             for number in range(3)]

    report = replay(org, [Change("roubaix", set_authorities={"refund": 50})], cases)

    # Before: marseille and roubaix tie at (2, 0) and no load counts: marseille every time.
    assert (report.changed_assignee, report.mean_distance_before) == (0, 2.0)


def test_replay_matches_route_with_zero_loads(org: OrgSnapshot) -> None:
    change = Change("north", grant_tools=frozenset({"refund-terminal", "carrier-portal"}))
    changed = apply_changes(org, [change])
    cases = [
        ReplayCase(number, origin, needs_at_logging(category, amount))
        for number, (origin, category, amount) in enumerate(
            [("lille", "late-delivery", 40), ("roubaix", "faulty-product", 300),
             ("nice", "billing-error", 20), ("north-bo", "faulty-product", 10)]
        )
    ]  # fmt: skip

    report = replay(org, [change], cases)

    expected = []
    for case in cases:
        before = route(org, case.origin, case.requirements).assignee
        after = route(changed, case.origin, case.requirements).assignee
        if before != after:
            expected.append((case.irritant_id, before, after))
    assert report.moves == tuple(expected)
    assert report.moves == (
        (0, "north-bo", "north"),  # north now has the carrier portal, 1 step away
        (1, "hq", "north"),  # a 300 refund with a terminal: nobody could, north can
        (3, "roubaix", "north"),
    )


def test_changes_leave_the_original_snapshot_untouched(org: OrgSnapshot) -> None:
    changed = apply_changes(
        org, [Change("lille", frozenset({"wms"}), frozenset({"delivery"}), {"gesture": 999})]
    )

    assert org.unit("lille").tools == frozenset({"pos"})
    assert changed.unit("lille").tools == frozenset({"pos", "wms"})
    assert changed.unit("lille").competencies == frozenset({"product", "service", "delivery"})
    assert changed.unit("lille").authorities == {"gesture": 999, "refund": 150}
    assert route(org, "lille", needs_at_logging("late-delivery", 500)).assignee == "cs"
    assert route(changed, "lille", Requirements(authorities={"gesture": 500})).assignee == "lille"


def test_a_change_naming_an_unknown_unit_raises_key_error(org: OrgSnapshot) -> None:
    with pytest.raises(KeyError, match="atlantis"):
        replay(org, [Change("atlantis", grant_tools=frozenset({"crm"}))], period())


def test_progress_is_reported_with_the_cases_done(org: OrgSnapshot) -> None:
    seen: list[int] = []
    cases = (ReplayCase(number, "lille", needs_at_logging("rude-service"))
             for number in range(25_001))

    report = replay(org, [], cases, progress=seen.append)

    assert seen == [10_000, 20_000, 25_001]
    assert report.replayed == 25_001


def test_change_from_api_json() -> None:
    change = Change.from_dict(
        {"unit": "lille", "grant_tools": ["refund-terminal"], "set_authorities": {"refund": None}}
    )

    assert change == Change("lille", frozenset({"refund-terminal"}), frozenset(), {"refund": None})
