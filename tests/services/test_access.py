"""Who may do what (api.md's table), role by role, on irritants of their own unit, a sibling
unit and an ancestor unit. One table holds the expected outcome of every cell:
"ok", 403 (the role may never) or 404 (outside the user's scope for that operation,
even when the irritant is readable: api.md answers 404 "as if it did not exist")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from irritants.services import access
from irritants.services.errors import NotAllowed, NotFound
from irritants.services.escalation import escalate_irritant, reassign_irritant
from irritants.services.intake import log_irritant
from irritants.services.queues import (
    IrritantFilters,
    get_irritant,
    queue_counts,
    queue_for,
    visible_irritants,
)
from irritants.services.resolution import comment_on, resolve_irritant, take_irritant

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
USERS = ["agent.lille", "lead.lille", "lead.north", "lead.northbo", "agent.marseille",
         "director", "admin"]
# A: logged by agent.lille at lille, assigned to lille      (own unit)
# B: logged by agent.lille at lille, assigned to north-bo   (a sibling of lille)
# C: logged by agent.marseille at marseille, assigned there (another region)
# D: logged by the director at roubaix, assigned there      (a sibling of lille)
# E: logged by the director at north, assigned to north     (lille's parent)
IRRITANTS = "ABCDE"
OK, FORBIDDEN, MISSING = "ok", 403, 404

EXPECTED: dict[str, dict[str, str]] = {
    #                     read     comment  take     escalate reassign resolve
    "agent.lille":      {"read": "ooxxx", "comment": "ooxxx", "take": "oxxxx",
                         "escalate": "!!!!!", "reassign": "!!!!!", "resolve": "oxxxx"},
    "lead.lille":       {"read": "ooxxx", "comment": "ooxxx", "take": "oxxxx",
                         "escalate": "oxxxx", "reassign": "oxxxx", "resolve": "oxxxx"},
    "lead.north":       {"read": "ooxoo", "comment": "ooxoo", "take": "xxxxo",
                         "escalate": "ooxoo", "reassign": "ooxoo", "resolve": "ooxoo"},
    "lead.northbo":     {"read": "xoxxx", "comment": "xoxxx", "take": "xoxxx",
                         "escalate": "xoxxx", "reassign": "xoxxx", "resolve": "xoxxx"},
    "agent.marseille":  {"read": "xxoxx", "comment": "xxoxx", "take": "xxoxx",
                         "escalate": "!!!!!", "reassign": "!!!!!", "resolve": "xxoxx"},
    "director":         {"read": "ooooo", "comment": "ooooo", "take": "!!!!!",
                         "escalate": "ooooo", "reassign": "ooooo", "resolve": "ooooo"},
    "admin":            {"read": "ooooo", "comment": "!!!!!", "take": "!!!!!",
                         "escalate": "!!!!!", "reassign": "!!!!!", "resolve": "!!!!!"},
}
SYMBOLS = {"o": OK, "!": FORBIDDEN, "x": MISSING}

OPERATIONS: dict[str, Callable[[int, Any], Any]] = {
    "read": lambda irritant_id, actor: get_irritant(irritant_id, actor=actor),
    "comment": lambda irritant_id, actor: comment_on(irritant_id, actor=actor, text="hi",
                                                     now=T0),
    "take": lambda irritant_id, actor: take_irritant(irritant_id, actor=actor, now=T0),
    "escalate": lambda irritant_id, actor: escalate_irritant(irritant_id, actor=actor,
                                                             reason="r", now=T0),
    "reassign": lambda irritant_id, actor: reassign_irritant(irritant_id, actor=actor,
                                                             unit="cs", reason="r", now=T0),
    "resolve": lambda irritant_id, actor: resolve_irritant(irritant_id, actor=actor,
                                                           resolution="done", now=T0),
}
PREDICATES = {
    "read": access.may_read, "comment": access.may_comment, "take": access.may_take,
    "escalate": access.may_escalate, "reassign": access.may_reassign,
    "resolve": access.may_resolve,
}


@pytest.fixture
def irritants(db: Any, user: Callable[[str], Any]) -> dict[str, int]:
    """The five irritants of the table, by letter."""

    def log(reporter: str, category: str, origin: str, amount: int | None = None) -> int:
        return log_irritant(user(reporter), category=category, severity="low",
                            description="x", amount=amount, origin_unit=origin, now=T0).id

    return {
        "A": log("agent.lille", "rude-service", "lille"),
        "B": log("agent.lille", "late-delivery", "lille", 40),
        "C": log("agent.marseille", "rude-service", "marseille"),
        "D": log("director", "rude-service", "roubaix"),
        "E": log("director", "billing-error", "north", 100),
    }


def outcome(call: Callable[[], Any]) -> str | int:
    try:
        call()
    except NotAllowed:
        return FORBIDDEN
    except NotFound:
        return MISSING
    return OK


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("name", USERS)
def test_each_role_gets_exactly_the_documented_answer_on_each_irritant(
        db, user, irritants, name, operation):
    actor = user(name)
    expected = [SYMBOLS[symbol] for symbol in EXPECTED[name][operation]]
    actual = [outcome(lambda letter=letter: OPERATIONS[operation](irritants[letter], actor))
              for letter in IRRITANTS]
    assert actual == expected


@pytest.mark.parametrize("operation", list(PREDICATES))
@pytest.mark.parametrize("name", USERS)
def test_the_predicates_agree_with_the_table(db, user, irritants, name, operation):
    actor = user(name)
    from irritants.models import Irritant

    allowed = [
        access.role_may(actor, operation) and access.may_read(actor, db.session.get(
            Irritant, irritants[letter])) and PREDICATES[operation](actor, db.session.get(
                Irritant, irritants[letter]))
        for letter in IRRITANTS
    ]
    assert allowed == [symbol == "o" for symbol in EXPECTED[name][operation]]


@pytest.mark.parametrize("name", USERS)
def test_the_list_holds_exactly_what_each_user_may_read(db, user, irritants, name):
    page = visible_irritants(user(name), page=1, per_page=50)
    readable = {irritants[letter] for letter, symbol in zip(
        IRRITANTS, EXPECTED[name]["read"], strict=True) if symbol == "o"}
    assert {item.id for item in page.items} == readable
    assert page.total == len(readable)


QUEUE_UNITS = ["lille", "roubaix", "north", "marseille", "hq"]
QUEUES = {
    "agent.lille": "oxxxx",
    "lead.lille": "oxxxx",
    "lead.north": "oooxx",
    "lead.northbo": "xxxxx",
    "agent.marseille": "xxxox",
    "director": "ooooo",
    "admin": "ooooo",
}


@pytest.mark.parametrize("name", USERS)
def test_each_role_sees_exactly_the_documented_queues(db, user, irritants, name):
    actor = user(name)
    actual = [outcome(lambda unit=unit: queue_for(unit, actor=actor)) for unit in QUEUE_UNITS]
    assert actual == [SYMBOLS[symbol] for symbol in QUEUES[name]]
    counts = [outcome(lambda unit=unit: queue_counts(unit, actor=actor))
              for unit in QUEUE_UNITS]
    assert counts == actual


def test_an_unknown_queue_is_not_found(db, user):
    with pytest.raises(NotFound):
        queue_for("atlantis", actor=user("director"))


@pytest.mark.parametrize(("name", "gaps", "whatif", "admin"), [
    ("agent.lille", False, False, False),
    ("lead.lille", True, False, False),
    ("director", True, True, False),
    ("admin", True, False, True),
])
def test_function_level_rights_of_each_role(db, user, name, gaps, whatif, admin):
    actor = user(name)
    assert (access.may_view_gaps(actor), access.may_run_whatif(actor),
            access.may_admin(actor)) == (gaps, whatif, admin)
    assert access.role_may(actor, "log") is True


def test_subtree_of_is_the_unit_and_its_descendants(db, org):
    assert access.subtree_of("north") == {"north", "lille", "roubaix", "north-bo"}
    assert access.subtree_of("lille") == {"lille"}
    assert access.subtree_of("atlantis") == frozenset()


def test_a_lead_filtering_the_list_stays_inside_their_scope(db, user, irritants):
    page = visible_irritants(user("lead.lille"), filters=IrritantFilters(assignee="marseille"))
    assert (page.items, page.total) == ([], 0)
