"""A day at the desk: irritants logged, escalated and resolved in sequence, so that
open_load breaks ties between units equally near the origin (routing.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from irritants.routing import Assignment, OrgSnapshot, Requirements, route
from tests.unit.small_org import needs_at_logging, small_units


@dataclass
class Irritant:
    origin: str
    needs: Requirements
    excluded: frozenset[str] = frozenset()
    assignee: str = ""
    resolved: bool = False


@dataclass
class Desk:
    """Keeps open_load the way the service does: unresolved irritants per assignee."""

    org: OrgSnapshot
    irritants: list[Irritant] = field(default_factory=list)

    def open_load(self) -> dict[str, int]:
        load: dict[str, int] = {}
        for irritant in self.irritants:
            if not irritant.resolved:
                load[irritant.assignee] = load.get(irritant.assignee, 0) + 1
        return load

    def log(self, origin: str, category: str, amount: int = 0) -> tuple[int, Assignment]:
        self.irritants.append(Irritant(origin, needs_at_logging(category, amount)))
        return len(self.irritants) - 1, self._route(self.irritants[-1])

    def escalate(self, number: int, lacking: Requirements | None = None) -> Assignment:
        """Manual escalation: needs added, the current assignee excluded, routed from the origin."""
        irritant = self.irritants[number]
        irritant.excluded = irritant.excluded | {irritant.assignee}
        if lacking is not None:
            irritant.needs = irritant.needs.combined_with(lacking)
        irritant.assignee = ""  # it leaves its queue before the routing reads the loads
        return self._route(irritant)

    def resolve(self, number: int) -> None:
        self.irritants[number].resolved = True

    def _route(self, irritant: Irritant) -> Assignment:
        assignment = route(
            self.org, irritant.origin, irritant.needs, self.open_load(), irritant.excluded
        )
        irritant.assignee = assignment.assignee
        return assignment


def desk() -> Desk:
    return Desk(OrgSnapshot.build(small_units()))


def test_stores_of_a_region_share_its_escalated_complaints_by_open_load() -> None:
    day = desk()

    first, logged = day.log("north", "rude-service")
    assert logged.rank == (0, 0, 0, "north")
    # north cannot handle it: lille and roubaix are both 1 step down; both idle, key decides.
    assert day.escalate(first).rank == (1, 0, 0, "lille")

    second, _ = day.log("north", "rude-service")
    assert day.escalate(second).rank == (1, 0, 0, "roubaix")  # lille has 1 open

    third, _ = day.log("north", "rude-service")
    assert day.escalate(third).rank == (1, 0, 1, "lille")  # 1 each: key again

    day.resolve(first)  # lille back to 1 open, roubaix 1
    fourth, _ = day.log("north", "rude-service")
    assert day.escalate(fourth).rank == (1, 0, 1, "lille")

    day.resolve(second)  # roubaix 0, lille 2
    fifth, _ = day.log("north", "rude-service")
    assert day.escalate(fifth).rank == (1, 0, 0, "roubaix")
    assert {key: count for key, count in day.open_load().items() if count} == {
        "lille": 2,
        "roubaix": 1,
    }


def test_escalating_twice_walks_outward_and_ends_unroutable_at_the_root() -> None:
    day = desk()

    number, logged = day.log("lille", "late-delivery", 40)
    assert (logged.assignee, logged.rank) == ("north-bo", (2, 1, 0, "north-bo"))

    # north-bo lacks the warehouse system: excluded, needs wms, goes to logistics.
    moved = day.escalate(number, Requirements(tools=frozenset({"wms"})))
    assert moved.to_dict()["rank"] == [4, 3, 0, "logistics"]
    assert [gap.unit for gap in moved.gaps] == ["lille", "north", "cs", "hq"]

    # logistics says a gesture of 250 is above its limit: nobody else has wms.
    final = day.escalate(number, Requirements(authorities={"gesture": 250}))
    assert (final.assignee, final.rank, final.unroutable) == ("hq", None, True)
    assert [gap.to_dict() for gap in final.gaps] == [
        {
            "unit": "lille",
            "missing_competencies": ["delivery"],
            "missing_authorities": {"gesture": {"required": 250, "limit": 50}},
            "missing_tools": ["carrier-portal", "wms"],
        },
        {
            "unit": "north",
            "missing_competencies": [],
            "missing_authorities": {},
            "missing_tools": ["carrier-portal", "wms"],
        },
        {
            "unit": "cs",
            "missing_competencies": [],
            "missing_authorities": {},
            "missing_tools": ["wms"],
        },
    ]


def test_complaints_logged_at_a_division_alternate_between_equally_far_stores() -> None:
    day = desk()

    # cs lacks the refund terminal; roubaix and marseille have it, both 2 steps below.
    ranks = [day.log("cs", "faulty-product", 100)[1].rank for _ in range(4)]
    assert ranks == [
        (2, 0, 0, "marseille"),
        (2, 0, 0, "roubaix"),
        (2, 0, 1, "marseille"),
        (2, 0, 1, "roubaix"),
    ]

    # marseille gives one up: roubaix is the only store left with the terminal.
    assert day.escalate(0).rank == (2, 0, 2, "roubaix")
    day.resolve(1)
    day.resolve(3)
    _, logged = day.log("cs", "faulty-product", 100)
    assert logged.rank == (2, 0, 1, "marseille")
    # Above the stores' refund limit of 150 only cs could refund, and it lacks the terminal.
    _, above = day.log("cs", "faulty-product", 151)
    assert above.to_dict() == {
        "assignee": "hq",
        "rank": None,
        "unroutable": True,
        "gaps": [
            {
                "unit": "cs",
                "missing_competencies": [],
                "missing_authorities": {},
                "missing_tools": ["refund-terminal"],
            }
        ],
    }
