"""Directors' figures on a small history logged through the services, computed by hand.

The history (small org, tests/fixtures/org-small.json), all "medium" (72 h SLA):

    day -7  #0 faulty-product 80 from lille      -> roubaix (2,1)  gaps lille, north: terminal
    day 0   #1 faulty-product 80 from lille      -> roubaix (2,1)  resolved (tooling) day 2
    day 0   #2 rude-service from lille           -> lille (0)      resolved (training) day 1
    day 1   #3 late-delivery 40 from lille       -> north-bo (2,1) gaps lille: delivery,
                                                    carrier-portal; north: carrier-portal
    day 2      #3 escalated by the director       -> cs (2,2)       same gaps again
    day 3   #4 late-delivery 500 from lille      -> cs (2,2)       gaps lille: delivery,
                                                    gesture 500/50, carrier-portal;
                                                    north: gesture 500/300, carrier-portal
    day 4   #5 app-bug from nice                 -> digital (4,3)  gaps nice, south, cs:
                                                    digital, app-admin; hq: app-admin
    day 5   #8 rude-service from north-bo        -> north (1,1)    gaps north-bo: service
    day 8   #6 rude-service from marseille       -> marseille (0)  resolved (process) day 9
    day 9   #7 rude-service from lille           -> lille (0)
    day 10     #7 escalated needing "zeta"        -> hq, unroutable gaps lille, north, cs: zeta

The period is [day 0, day 14), two ISO weeks from Monday 3 March 2025; "now" is day 14.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from irritants.extensions import db as _db
from irritants.models import Irritant, User
from irritants.services import dashboards
from irritants.services.dashboards import Filters, Period, period_of
from irritants.services.errors import InvalidInput, NotAllowed, NotFound
from irritants.services.escalation import escalate_irritant
from irritants.services.intake import log_irritant
from irritants.services.org_edit import close_unit
from irritants.services.resolution import resolve_irritant

DAY0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday
PERIOD = Period(DAY0.replace(hour=0), DAY0.replace(hour=0) + timedelta(days=14))
NOW = PERIOD.until


def user(name: str) -> User:
    return _db.session.scalars(select(User).where(User.email == f"{name}@example.com")).one()


def day(number: float) -> datetime:
    return DAY0 + timedelta(days=number)


def log(name: str, category: str, when: datetime, **fields: Any) -> int:
    irritant = log_irritant(user(name), category=category, severity="medium",
                            description=f"{category} {when:%d}", now=when, **fields)
    return irritant.id


@pytest.fixture
def history(org: dict[str, Any]) -> dict[str, int]:
    """The history of the module docstring; irritant ids by their number there."""
    ids = {0: log("agent.lille", "faulty-product", day(-7), amount=80)}
    ids[1] = log("agent.lille", "faulty-product", day(0), amount=80)
    ids[2] = log("agent.lille", "rude-service", day(0) + timedelta(hours=1))
    resolve_irritant(ids[2], actor=user("agent.lille"), resolution="Apologised",
                     root_cause="training", now=day(1))
    ids[3] = log("agent.lille", "late-delivery", day(1), amount=40)
    resolve_irritant(ids[1], actor=user("director"), resolution="Refunded",
                     root_cause="tooling", now=day(2))
    escalate_irritant(ids[3], actor=user("director"), reason="North back-office is away",
                      now=day(2))
    ids[4] = log("agent.lille", "late-delivery", day(3), amount=500)
    ids[5] = log("director", "app-bug", day(4), origin_unit="nice")
    ids[8] = log("lead.northbo", "rude-service", day(5))
    ids[6] = log("agent.marseille", "rude-service", day(8))
    resolve_irritant(ids[6], actor=user("agent.marseille"), resolution="Apologised",
                     root_cause="process", now=day(9))
    ids[7] = log("agent.lille", "rude-service", day(9))
    escalate_irritant(ids[7], actor=user("director"), reason="Needs zeta",
                      needs={"competencies": ["zeta"]}, now=day(10))
    return ids


# -- periods ----------------------------------------------------------------------------------


def test_a_period_defaults_to_the_last_90_days_and_knows_the_one_before() -> None:
    period = period_of(now=NOW)
    assert (period.since, period.until) == (NOW - timedelta(days=90), NOW)
    assert period.previous == Period(NOW - timedelta(days=180), NOW - timedelta(days=90))


def test_a_period_reads_dates_as_utc_midnights() -> None:
    period = period_of(date(2025, 3, 3), "2025-03-17")
    assert period == PERIOD


@pytest.mark.parametrize(("since", "until", "field"), [
    ("2025-03-17", "2025-03-03", "until"),
    ("yesterday", None, "since"),
    ("2020-01-01", "2025-01-01", "since"),
])
def test_a_bad_period_is_refused_naming_the_field(since: str, until: str | None,
                                                   field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        period_of(since, until, now=NOW)
    assert list(error.value.field_errors) == [field]


# -- root causes ------------------------------------------------------------------------------


def test_root_causes_put_the_unroutable_and_overdue_group_first(history: dict[str, int]) -> None:
    table = dashboards.root_causes(actor=user("director"), period=PERIOD, now=NOW)

    assert table.total == 4
    rows = [(row["key"], row["count"], row["open"], row["overdue"], row["unroutable"],
             row["resolved"], row["occurrences"]) for row in table.rows]
    assert rows == [
        (None, 5, 5, 5, 1, 0, 5),  # #3 #4 #5 #7 #8: not resolved, no root cause yet
        ("process", 1, 0, 0, 0, 1, 1),
        ("tooling", 1, 0, 0, 0, 1, 1),
        ("training", 1, 0, 0, 0, 1, 1),
    ]
    assert table.rows[0]["oldest_open"] == day(1)
    assert table.rows[1]["oldest_open"] is None


def test_root_causes_group_by_origin_and_drill_down_to_the_irritants(
        history: dict[str, int]) -> None:
    director = user("director")
    by_origin = dashboards.root_causes(actor=director, period=PERIOD, group_by="origin",
                                       now=NOW)
    assert [(row["key"], row["count"], row["overdue"], row["unroutable"])
            for row in by_origin.rows] == [
        ("lille", 5, 3, 1), ("nice", 1, 1, 0), ("north-bo", 1, 1, 0), ("marseille", 1, 0, 0),
    ]
    behind = dashboards.irritants_behind(
        actor=director, period=PERIOD, filters=Filters(origin="lille", status="unresolved"),
        now=NOW)
    assert [irritant.id for irritant in behind.rows] == [history[7], history[4], history[3]]
    assert behind.total == 3


def test_root_causes_of_a_subtree_and_a_page(history: dict[str, int]) -> None:
    table = dashboards.root_causes(actor=user("director"), period=PERIOD, subtree="north",
                                   group_by="category", page=2, per_page=2, now=NOW)
    # From north's subtree: faulty-product #1, rude-service #2 #7 #8, late-delivery #3 #4.
    assert (table.total, table.pages) == (3, 2)
    assert [(row["key"], row["count"]) for row in table.rows] == [("faulty-product", 1)]
    past = dashboards.root_causes(actor=user("director"), period=PERIOD, subtree="north",
                                  group_by="category", page=5, per_page=2, now=NOW)
    assert (past.total, past.rows) == (3, [])


def test_root_causes_filtered_on_unknown_keys_match_nothing(history: dict[str, int]) -> None:
    table = dashboards.root_causes(actor=user("director"), period=PERIOD,
                                   filters=Filters(category="nope", origin="nowhere"), now=NOW)
    assert (table.total, table.rows) == (0, [])


@pytest.mark.parametrize("role", ["agent.lille", "lead.north"])
def test_root_causes_are_for_directors_and_admins(org: dict[str, Any], role: str) -> None:
    with pytest.raises(NotAllowed):
        dashboards.root_causes(actor=user(role), period=PERIOD)
    assert dashboards.root_causes(actor=user("admin"), period=PERIOD).total == 0


def test_root_causes_refuse_an_unknown_grouping_or_page(org: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as error:
        dashboards.root_causes(actor=user("director"), period=PERIOD, group_by="colour",
                               per_page=501)
    assert sorted(error.value.field_errors) == ["group_by"]
    with pytest.raises(InvalidInput) as error:
        dashboards.root_causes(actor=user("director"), period=PERIOD, per_page=501)
    assert sorted(error.value.field_errors) == ["per_page"]


# -- locality ---------------------------------------------------------------------------------


def test_locality_per_week_counts_origin_resolutions_escalations_and_distance(
        history: dict[str, int]) -> None:
    result = dashboards.locality(actor=user("director"), period=PERIOD, now=NOW)

    week1, week2 = result["series"]
    assert week1["start"] == date(2025, 3, 3)
    # #1 #2 #3 #4 #5 #8; resolved #1 #2, at origin #2; escalated #3.
    # Distances of their routing now: #1 2, #2 0, #3 2 (cs, after the escalation), #4 2,
    # #5 4, #8 1.
    assert {k: week1[k] for k in ("logged", "resolved", "resolved_at_origin", "escalated",
                                  "routings")} == {
        "logged": 6, "resolved": 2, "resolved_at_origin": 1, "escalated": 1, "routings": 6}
    assert week1["mean_distance"] == pytest.approx(11 / 6)
    assert week1["share_resolved_at_origin"] == pytest.approx(1 / 6)
    # #6 #7; #6 resolved at origin; #7 escalated, unroutable: the depth of Lille, 3.
    assert week2["start"] == date(2025, 3, 10)
    assert (week2["logged"], week2["resolved_at_origin"], week2["escalated"],
            week2["routings"], week2["mean_distance"]) == (2, 1, 1, 2, 1.5)
    assert result["total"]["logged"] == 8
    assert result["total"]["mean_distance"] == pytest.approx(14 / 8)
    assert result["total"]["share_escalated"] == pytest.approx(2 / 8)


def test_an_irritant_moved_by_a_reassignment_counts_no_distance(org: dict[str, Any]) -> None:
    from irritants.services.escalation import reassign_irritant

    moved = log("agent.lille", "rude-service", day(1))
    log("agent.lille", "faulty-product", day(1), amount=80)
    reassign_irritant(moved, actor=user("director"), unit="north", reason="Busy", now=day(2))
    total = dashboards.locality(actor=user("director"), period=PERIOD, now=NOW)["total"]
    assert (total["logged"], total["routings"], total["mean_distance"]) == (2, 1, 2.0)


def test_locality_per_child_of_a_subtree(history: dict[str, int]) -> None:
    result = dashboards.locality(actor=user("director"), period=PERIOD, subtree="north",
                                 bucket="month", now=NOW)
    assert [(row["unit"], row["own"], row["logged"], row["resolved_at_origin"],
             row["routings"]) for row in result["units"]] == [
        ("north", True, 0, 0, 0),
        ("lille", False, 5, 1, 5),
        ("north-bo", False, 1, 0, 1),
        ("roubaix", False, 0, 0, 0),
    ]
    assert [(row["start"], row["logged"]) for row in result["series"]] == [
        (date(2025, 3, 1), 6)]


# -- the gap ledger ---------------------------------------------------------------------------


def test_the_ledger_counts_items_against_the_previous_period(history: dict[str, int]) -> None:
    # Only the items lacked in the period; #0's entries (the week before) are "previous".
    table = dashboards.gap_ledger(actor=user("director"), period=PERIOD)

    rows = [(row["unit"], row["kind"], row["key"], row["count"], row["previous"])
            for row in table.rows]
    assert rows == [
        ("lille", "competency", "delivery", 3, 0),
        ("lille", "tool", "carrier-portal", 3, 0),
        ("north", "tool", "carrier-portal", 3, 0),
        ("cs", "competency", "digital", 1, 0),
        ("cs", "competency", "zeta", 1, 0),
        ("cs", "tool", "app-admin", 1, 0),
        ("hq", "tool", "app-admin", 1, 0),
        ("lille", "authority", "gesture", 1, 0),
        ("lille", "competency", "zeta", 1, 0),
        ("lille", "tool", "refund-terminal", 1, 1),  # #1, and #0 the week before
        ("nice", "competency", "digital", 1, 0),
        ("nice", "tool", "app-admin", 1, 0),
        ("north", "authority", "gesture", 1, 0),
        ("north", "competency", "zeta", 1, 0),
        ("north", "tool", "refund-terminal", 1, 1),
        ("north-bo", "competency", "service", 1, 0),
        ("south", "competency", "digital", 1, 0),
        ("south", "tool", "app-admin", 1, 0),
    ]
    gesture = next(row for row in table.rows if row["unit"] == "lille"
                   and row["key"] == "gesture")
    assert (gesture["max_required"], gesture["limit_recorded"], gesture["limit_held"],
            gesture["holds"]) == (500, 50, 50, True)


def test_a_lead_reads_the_ledger_of_their_subtree_only(history: dict[str, int]) -> None:
    lead = user("lead.north")
    table = dashboards.gap_ledger(actor=lead, period=PERIOD, kind="tool", per_page=2)
    assert table.total == 4  # lille and north: carrier-portal, refund-terminal
    assert [(row["unit"], row["key"]) for row in table.rows] == [
        ("lille", "carrier-portal"), ("north", "carrier-portal")]
    past = dashboards.gap_ledger(actor=lead, period=PERIOD, kind="tool", page=3, per_page=2)
    assert (past.total, past.rows) == (4, [])
    with pytest.raises(NotFound):
        dashboards.gap_ledger(actor=lead, period=PERIOD, subtree="south")
    with pytest.raises(NotAllowed):
        dashboards.gap_ledger(actor=user("agent.lille"), period=PERIOD)


def test_the_items_lacked_most(history: dict[str, int]) -> None:
    summary = dashboards.gap_items_summary(actor=user("director"), period=PERIOD, limit=3)
    assert summary == [
        {"kind": "tool", "key": "carrier-portal", "count": 6, "previous": 0, "units": 2},
        {"kind": "tool", "key": "app-admin", "count": 4, "previous": 0, "units": 4},
        {"kind": "competency", "key": "delivery", "count": 3, "previous": 0, "units": 1},
    ]


# -- the HR view ------------------------------------------------------------------------------


def test_the_training_plan_replays_granting_each_competency(history: dict[str, int]) -> None:
    plan = dashboards.hr_view(actor=user("director"), period=PERIOD)["training"]
    rows = [(row["unit"], row["key"], row["count"], row["irritants"], row["kept_local"])
            for row in plan.rows]
    assert rows == [
        # #3 (twice) and #4: with delivery, Lille still lacks the carrier portal.
        ("lille", "delivery", 3, 2, 0),
        ("cs", "digital", 1, 0, 0),
        ("cs", "zeta", 1, 0, 0),
        ("lille", "zeta", 1, 1, 0),  # replayed at logging (service): Lille already had it
        ("nice", "digital", 1, 1, 0),  # still lacks the app-admin tool
        ("north", "zeta", 1, 0, 0),
        ("north-bo", "service", 1, 1, 1),  # #8 would have stayed at North back-office
        ("south", "digital", 1, 0, 0),
    ]


def test_a_closed_unit_would_keep_nothing_local(history: dict[str, int]) -> None:
    user("lead.northbo").is_active_account = False
    close_unit("north-bo", actor=user("director"))  # routing leaves it out: so does the replay
    plan = dashboards.hr_view(actor=user("director"), period=PERIOD)["training"]
    assert [(row["irritants"], row["kept_local"]) for row in plan.rows
            if row["unit"] == "north-bo"] == [(1, 0)]


def test_delegation_proposes_the_limits_covering_80_and_95_percent(org: dict[str, Any]) -> None:
    # North back-office (gesture 300) is asked for more: cs takes them (distance 2).
    for number, amount in enumerate((310, 350, 400, 500, 900)):
        log("lead.northbo", "late-delivery", day(number), amount=amount)
    log("lead.northbo", "late-delivery", day(-3), amount=2000)  # before the period

    table = dashboards.hr_view(actor=user("director"), period=PERIOD)["delegation"]

    north_bo = table.rows[1]
    assert {key: north_bo[key] for key in ("unit", "key", "count", "limit_held",
                                           "max_required", "p80", "p95", "irritants",
                                           "kept_local_p95")} == {
        "unit": "north-bo", "key": "gesture", "count": 5, "limit_held": 300,
        "max_required": 900, "p80": 500, "p95": 900, "irritants": 5, "kept_local_p95": 5,
    }
    # North (gesture 300) recorded the same gaps; no irritant originates there.
    assert [(row["unit"], row["count"], row["p80"], row["irritants"])
            for row in table.rows] == [("north", 5, 500, 0), ("north-bo", 5, 500, 5)]


# -- the map ----------------------------------------------------------------------------------


def test_the_map_shows_children_with_what_they_originate_resolve_and_lack(
        history: dict[str, int]) -> None:
    children, total = dashboards.map_children(actor=user("director"), unit="north",
                                              period=PERIOD)
    assert total == 3
    assert [(node.key, node.originated, node.resolved, node.top_lack, node.children)
            for node in children] == [
        ("lille", 5, 1, ("competency", "delivery", 3), 0),
        ("north-bo", 1, 0, ("competency", "service", 1), 0),
        ("roubaix", 0, 1, None, 0),
    ]


def test_the_map_search_finds_units_by_name_or_key_with_their_path(org: dict[str, Any]) -> None:
    found = dashboards.search_units(actor=user("director"), text="LIL")
    assert found == [{"key": "lille", "name": "Store Lille", "path": ["hq", "cs", "north",
                                                                      "lille"]}]
    assert dashboards.search_units(actor=user("director"), text="%") == []


def test_the_path_of_an_irritant_goes_up_to_the_common_ancestor_then_down(
        history: dict[str, int]) -> None:
    path = dashboards.irritant_path(actor=user("director"), irritant_id=history[5])
    assert (path["origin"], path["assignee"], path["lca"]) == ("nice", "digital", "hq")
    assert path["path"] == ["nice", "south", "cs", "hq", "digital"]
    assert sorted(path["gaps"]) == ["cs", "hq", "nice", "south"]
    with pytest.raises(NotFound):
        dashboards.irritant_path(actor=user("director"), irritant_id=10**6)
    with pytest.raises(NotAllowed):
        dashboards.irritant_path(actor=user("lead.north"), irritant_id=history[5])


def test_no_figure_reads_irritants_one_by_one(history: dict[str, int]) -> None:
    # Aggregates only: a handful of statements whatever the history's size.
    from sqlalchemy import event

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        dashboards.root_causes(actor=user("director"), period=PERIOD, now=NOW)
        dashboards.locality(actor=user("director"), period=PERIOD, now=NOW)
        dashboards.gap_ledger(actor=user("director"), period=PERIOD)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) < 20
    assert _db.session.scalar(select(func.count()).select_from(Irritant)) == 9


@pytest.mark.parametrize(("subtree", "kind", "unit", "page", "per_page"), [
    (None, None, None, 1, 50),
    (None, None, None, 2, 2),
    (None, None, None, 9, 2),  # past the end
    ("north", None, None, 1, 3),
    (None, "tool", None, 1, 50),
    (None, None, "lille", 1, 50),
])
def test_the_ledger_page_reads_both_tables_in_one_pass_with_the_same_rows(
        history: dict[str, int], subtree: str | None, kind: str | None, unit: str | None,
        page: int, per_page: int) -> None:
    director = user("director")
    table, summary = dashboards.gap_ledger_with_summary(
        actor=director, period=PERIOD, subtree=subtree, kind=kind, unit=unit, page=page,
        per_page=per_page)
    alone = dashboards.gap_ledger(actor=director, period=PERIOD, subtree=subtree, kind=kind,
                                  unit=unit, page=page, per_page=per_page)
    assert (table.rows, table.total, table.page, table.per_page) == (
        alone.rows, alone.total, alone.page, alone.per_page)
    assert summary == dashboards.gap_items_summary(actor=director, period=PERIOD,
                                                   subtree=subtree)
    assert table.total > 0
    assert summary


def test_the_ledger_page_is_for_gap_readers(history: dict[str, int]) -> None:
    with pytest.raises(NotAllowed):
        dashboards.gap_ledger_with_summary(actor=user("agent.lille"), period=PERIOD)
