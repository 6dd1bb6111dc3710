"""The gap ledger: api.md's GET /gaps aggregation, computed by hand on the small org."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from irritants.extensions import db as _db
from irritants.models import GapItem, Irritant, IrritantEvent, User
from irritants.services.errors import InvalidInput, NotAllowed
from irritants.services.insights import gaps_report
from tests.irritant_rows import irritant_row

SINCE = datetime(2024, 1, 1, tzinfo=UTC)
UNTIL = datetime(2024, 4, 1, tzinfo=UTC)

# routing.md's gaps of a few routings of the small org (org-small-cases.json).
FAULTY_80_FROM_LILLE = [
    {"unit": "lille", "missing_tools": ["refund-terminal"]},
    {"unit": "north", "missing_tools": ["refund-terminal"]},
]
LATE_500_FROM_LILLE = [
    {
        "unit": "lille",
        "missing_competencies": ["delivery"],
        "missing_authorities": {"gesture": {"required": 500, "limit": 50}},
        "missing_tools": ["carrier-portal"],
    },
    {
        "unit": "north",
        "missing_authorities": {"gesture": {"required": 500, "limit": 300}},
        "missing_tools": ["carrier-portal"],
    },
]
LATE_40_FROM_LILLE = [
    {"unit": "lille", "missing_competencies": ["delivery"], "missing_tools": ["carrier-portal"]},
    {"unit": "north", "missing_tools": ["carrier-portal"]},
]
LATE_120_FROM_MARSEILLE = [
    {
        "unit": "marseille",
        "missing_competencies": ["delivery"],
        "missing_authorities": {"gesture": {"required": 120, "limit": 50}},
        "missing_tools": ["carrier-portal"],
    },
    {"unit": "south", "missing_competencies": ["delivery"], "missing_tools": ["carrier-portal"]},
]
ZETA_FROM_NICE = [{"unit": "nice", "missing_competencies": ["zeta"], "missing_tools": ["zeta"]}]


def user(email: str) -> User:
    return _db.session.scalars(select(User).where(User.email == email)).one()


def new_irritant(origin: str, at: datetime, requirements: dict[str, Any] | None = None) -> Irritant:
    """An irritant row as intake would leave it."""
    return irritant_row(origin, at, requirements or {"competencies": ["service"],
                                                     "authorities": {}, "tools": []})


def record_routing(
    at: datetime, gaps: list[dict[str, Any]], irritant: Irritant | None = None
) -> IrritantEvent:
    """A routing event with its gaps, and one GapItem per missing item (as the router writes)."""
    irritant = irritant or new_irritant(gaps[0]["unit"], at)
    event = IrritantEvent(irritant_id=irritant.id, type="routed", at=at, gaps=gaps)
    _db.session.add(event)
    _db.session.flush()
    for gap in gaps:
        items = [("competency", key, None, None) for key in gap.get("missing_competencies", [])]
        items += [("tool", key, None, None) for key in gap.get("missing_tools", [])]
        items += [
            ("authority", key, detail["required"], detail.get("limit"))
            for key, detail in gap.get("missing_authorities", {}).items()
        ]
        for kind, key, required, limit in items:
            _db.session.add(
                GapItem(
                    event_id=event.id,
                    irritant_id=irritant.id,
                    at=at,
                    unit_key=gap["unit"],
                    kind=kind,
                    item_key=key,
                    required=required,
                    limit=limit,
                )
            )
    _db.session.commit()
    return event


@pytest.fixture
def history(org: dict[str, Any]) -> None:
    """Four routings inside the quarter, one on each boundary side outside it."""
    record_routing(SINCE, FAULTY_80_FROM_LILLE)  # at == since: counted
    record_routing(SINCE + timedelta(days=1), LATE_500_FROM_LILLE)
    record_routing(SINCE + timedelta(days=2), LATE_40_FROM_LILLE)
    record_routing(SINCE + timedelta(days=3), LATE_120_FROM_MARSEILLE)
    record_routing(SINCE + timedelta(days=4), ZETA_FROM_NICE)
    record_routing(UNTIL, FAULTY_80_FROM_LILLE)  # at == until: left out
    record_routing(SINCE - timedelta(seconds=1), LATE_40_FROM_LILLE)  # before: left out


LILLE = {
    "unit": "lille",
    "routings": 3,
    "competencies": {"delivery": 2},
    "tools": {"carrier-portal": 2, "refund-terminal": 1},
    "authorities": {"gesture": {"count": 1, "max_required": 500}},
}
NORTH = {
    "unit": "north",
    "routings": 3,
    "competencies": {},
    "tools": {"carrier-portal": 2, "refund-terminal": 1},
    "authorities": {"gesture": {"count": 1, "max_required": 500}},
}
MARSEILLE = {
    "unit": "marseille",
    "routings": 1,
    "competencies": {"delivery": 1},
    "tools": {"carrier-portal": 1},
    "authorities": {"gesture": {"count": 1, "max_required": 120}},
}
NICE = {
    "unit": "nice",
    "routings": 1,
    "competencies": {"zeta": 1},
    "tools": {"zeta": 1},
    "authorities": {},
}
SOUTH = {
    "unit": "south",
    "routings": 1,
    "competencies": {"delivery": 1},
    "tools": {"carrier-portal": 1},
    "authorities": {},
}


def test_director_sees_every_unit_gaps_of_the_period_aggregated_both_ways(history: None) -> None:
    report = gaps_report(actor=user("director@example.com"), since=SINCE, until=UNTIL)

    assert report == {
        "by_unit": [LILLE, NORTH, MARSEILLE, NICE, SOUTH],
        "by_item": [
            {
                "kind": "tool",
                "key": "carrier-portal",
                "count": 6,
                "units": {"lille": 2, "marseille": 1, "north": 2, "south": 1},
            },
            {
                "kind": "competency",
                "key": "delivery",
                "count": 4,
                "units": {"lille": 2, "marseille": 1, "south": 1},
            },
            {
                "kind": "authority",
                "key": "gesture",
                "count": 3,
                "units": {"lille": 1, "marseille": 1, "north": 1},
            },
            {
                "kind": "tool",
                "key": "refund-terminal",
                "count": 2,
                "units": {"lille": 1, "north": 1},
            },
            {"kind": "competency", "key": "zeta", "count": 1, "units": {"nice": 1}},
            {"kind": "tool", "key": "zeta", "count": 1, "units": {"nice": 1}},
        ],
    }


def test_routings_count_events_not_missing_items(history: None) -> None:
    # lille lacked three items in the 500-euro late delivery: one routing.
    report = gaps_report(actor=user("admin@example.com"), since=SINCE, until=UNTIL)

    assert {entry["unit"]: entry["routings"] for entry in report["by_unit"]} == {
        "lille": 3,
        "north": 3,
        "marseille": 1,
        "nice": 1,
        "south": 1,
    }


def test_without_a_period_every_routing_counts(history: None) -> None:
    report = gaps_report(actor=user("director@example.com"))

    by_unit = {entry["unit"]: entry for entry in report["by_unit"]}
    assert by_unit["lille"]["routings"] == 5
    assert by_unit["lille"]["tools"] == {"carrier-portal": 3, "refund-terminal": 2}
    assert report["by_unit"][0]["unit"] == "lille"


def test_since_alone_includes_its_instant_and_until_alone_excludes_its_own(history: None) -> None:
    director = user("director@example.com")

    from_since = gaps_report(actor=director, since=SINCE)
    to_until = gaps_report(actor=director, until=SINCE)

    assert {entry["unit"]: entry["routings"] for entry in from_since["by_unit"]}["lille"] == 4
    assert to_until["by_unit"] == [
        {
            "unit": "lille",
            "routings": 1,
            "competencies": {"delivery": 1},
            "tools": {"carrier-portal": 1},
            "authorities": {},
        },
        {
            "unit": "north",
            "routings": 1,
            "competencies": {},
            "tools": {"carrier-portal": 1},
            "authorities": {},
        },
    ]


def test_a_lead_reads_only_the_gaps_recorded_by_units_of_their_subtree(history: None) -> None:
    report = gaps_report(actor=user("lead.north@example.com"), since=SINCE, until=UNTIL)

    assert report["by_unit"] == [LILLE, NORTH]
    assert [(item["kind"], item["key"], item["count"]) for item in report["by_item"]] == [
        ("tool", "carrier-portal", 4),
        ("competency", "delivery", 2),
        ("authority", "gesture", 2),
        ("tool", "refund-terminal", 2),
    ]


def test_a_store_lead_reads_their_store_only(history: None) -> None:
    report = gaps_report(actor=user("lead.lille@example.com"), since=SINCE, until=UNTIL)

    assert report["by_unit"] == [LILLE]
    assert report["by_item"][0] == {
        "kind": "tool",
        "key": "carrier-portal",
        "count": 2,
        "units": {"lille": 2},
    }


def test_a_lead_without_gaps_in_their_subtree_gets_empty_lists(history: None) -> None:
    report = gaps_report(actor=user("lead.northbo@example.com"))

    assert report == {"by_unit": [], "by_item": []}


def test_an_agent_may_not_read_the_gaps(history: None) -> None:
    with pytest.raises(NotAllowed):
        gaps_report(actor=user("agent.lille@example.com"))


def test_amounts_come_back_as_plain_numbers_integral_or_not(org: dict[str, Any]) -> None:
    at = SINCE + timedelta(hours=1)
    record_routing(at, [{"unit": "lille", "missing_authorities": {"refund": {"required": 80}}}])
    record_routing(
        at,
        [{"unit": "lille", "missing_authorities": {"refund": {"required": 199.5}}}],
    )
    record_routing(at, [{"unit": "nice", "missing_authorities": {"refund": {"required": 120}}}])

    report = gaps_report(actor=user("director@example.com"))

    refunds = {entry["unit"]: entry["authorities"]["refund"] for entry in report["by_unit"]}
    assert refunds == {
        "lille": {"count": 2, "max_required": 199.5},
        "nice": {"count": 1, "max_required": 120},
    }
    assert type(refunds["nice"]["max_required"]) is int


def test_no_gap_recorded_gives_empty_lists(org: dict[str, Any]) -> None:
    assert gaps_report(actor=user("director@example.com")) == {"by_unit": [], "by_item": []}


def test_times_without_an_offset_are_utc_and_iso_strings_are_accepted(history: None) -> None:
    director = user("director@example.com")

    naive = gaps_report(actor=director, since=SINCE.replace(tzinfo=None), until="2024-04-01T00:00Z")

    assert naive == gaps_report(actor=director, since=SINCE, until=UNTIL)


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [
        ("yesterday", None, "since"),
        (None, "2024-13-01", "until"),
        ("2024-02-01T00:00:00Z", "2024-01-01T00:00:00Z", "until"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field(
    org: dict[str, Any], since: str | None, until: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        gaps_report(actor=user("director@example.com"), since=since, until=until)

    assert list(refused.value.field_errors) == [field]


def test_escalation_routings_count_and_sla_escalations_and_reassignments_do_not(
    org: dict[str, Any],
) -> None:
    from irritants.services.escalation import escalate_irritant, reassign_irritant, sweep_overdue
    from irritants.services.intake import log_irritant

    director = user("director@example.com")
    # 80 of refund with the terminal from lille: roubaix; lille and north lack the terminal.
    irritant = log_irritant(user("agent.lille@example.com"), category="faulty-product",
                            severity="low", description="Broken kettle", amount=80,
                            now=SINCE + timedelta(hours=1))  # fmt: skip
    # Roubaix cannot: routed again from lille without it, to marseille (up to cs, down
    # through south); lille, north, cs and south each lack the terminal.
    escalate_irritant(irritant.id, actor=director, reason="No stock",
                      now=SINCE + timedelta(hours=2))  # fmt: skip
    reassign_irritant(irritant.id, actor=director, unit="north-bo", reason="By hand",
                      now=SINCE + timedelta(hours=3))  # fmt: skip
    assert sweep_overdue(now=SINCE + timedelta(days=30)) == 1

    everything = gaps_report(actor=director)
    after_logging = gaps_report(actor=director, since=SINCE + timedelta(hours=1, seconds=1))

    assert everything["by_unit"] == [
        {"unit": key, "routings": routings, "competencies": {},
         "tools": {"refund-terminal": routings}, "authorities": {}}
        for key, routings in (("lille", 2), ("north", 2), ("cs", 1), ("south", 1))
    ]  # fmt: skip
    assert everything["by_item"] == [
        {"kind": "tool", "key": "refund-terminal", "count": 6,
         "units": {"cs": 1, "lille": 2, "north": 2, "south": 1}},
    ]  # fmt: skip
    assert [(entry["unit"], entry["routings"]) for entry in after_logging["by_unit"]] == [
        ("cs", 1), ("lille", 1), ("north", 1), ("south", 1),
    ]  # fmt: skip
