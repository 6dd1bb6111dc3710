"""Role x operation x object: every cell of api.md's "Who may do what" table, through the API
(reliability.md S2, S3).

The objects are irritants originating at and assigned to one unit each:
  lille (the agent's and the lille lead's own unit), roubaix (a sibling of lille),
  north (an ancestor of lille, the north lead's unit), marseille (another region).
The users: agent.lille, lead.lille (lead of the unit), lead.northbo (lead of a sibling
unit), lead.north (lead of an ancestor), agent.marseille, director, admin, and anonymous.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from irritants.extensions import db
from irritants.models import Irritant, IrritantEvent, User
from irritants.services.intake import log_irritant

Headers = Callable[[str], dict[str, str]]
OBJECTS = ("lille", "roubaix", "north", "marseille")
# The irritant of each object: its category (north is the only unit of its branch with the
# billing competency, so billing-error from north stays at north).
CATEGORY_OF = {"lille": "rude-service", "roubaix": "rude-service", "north": "billing-error",
               "marseille": "rude-service"}

AGENT = "agent.lille@example.com"
LEAD = "lead.lille@example.com"
LEAD_SIBLING = "lead.northbo@example.com"
LEAD_ANCESTOR = "lead.north@example.com"
AGENT_ELSEWHERE = "agent.marseille@example.com"
DIRECTOR = "director@example.com"
ADMIN = "admin@example.com"
ANONYMOUS = "anonymous"

# The one table: expected status per (user, operation) for the objects lille, roubaix,
# north, marseille, in that order.
EXPECTED: dict[tuple[str, str], tuple[int, int, int, int]] = {
    # read: agent: their unit; lead: their subtree; director, admin: all
    (AGENT, "read"): (200, 404, 404, 404),
    (LEAD, "read"): (200, 404, 404, 404),
    (LEAD_SIBLING, "read"): (404, 404, 404, 404),
    (LEAD_ANCESTOR, "read"): (200, 200, 200, 404),
    (AGENT_ELSEWHERE, "read"): (404, 404, 404, 200),
    (DIRECTOR, "read"): (200, 200, 200, 200),
    (ADMIN, "read"): (200, 200, 200, 200),
    (ANONYMOUS, "read"): (401, 401, 401, 401),
    # comment: those they may read; director all; admin never
    (AGENT, "comment"): (201, 404, 404, 404),
    (LEAD, "comment"): (201, 404, 404, 404),
    (LEAD_SIBLING, "comment"): (404, 404, 404, 404),
    (LEAD_ANCESTOR, "comment"): (201, 201, 201, 404),
    (AGENT_ELSEWHERE, "comment"): (404, 404, 404, 201),
    (DIRECTOR, "comment"): (201, 201, 201, 201),
    (ADMIN, "comment"): (403, 403, 403, 403),
    (ANONYMOUS, "comment"): (401, 401, 401, 401),
    # take: the assignee is the caller's unit (agents and leads); never directors, admins;
    # readable but assigned elsewhere: outside the scope of take, so 404
    (AGENT, "take"): (200, 404, 404, 404),
    (LEAD, "take"): (200, 404, 404, 404),
    (LEAD_SIBLING, "take"): (404, 404, 404, 404),
    (LEAD_ANCESTOR, "take"): (404, 404, 200, 404),
    (AGENT_ELSEWHERE, "take"): (404, 404, 404, 200),
    (DIRECTOR, "take"): (403, 403, 403, 403),
    (ADMIN, "take"): (403, 403, 403, 403),
    (ANONYMOUS, "take"): (401, 401, 401, 401),
    # escalate, reassign: never agents, admins; lead: assignee in their subtree; director: all
    (AGENT, "escalate"): (403, 403, 403, 403),
    (LEAD, "escalate"): (200, 404, 404, 404),
    (LEAD_SIBLING, "escalate"): (404, 404, 404, 404),
    (LEAD_ANCESTOR, "escalate"): (200, 200, 200, 404),
    (AGENT_ELSEWHERE, "escalate"): (403, 403, 403, 403),
    (DIRECTOR, "escalate"): (200, 200, 200, 200),
    (ADMIN, "escalate"): (403, 403, 403, 403),
    (ANONYMOUS, "escalate"): (401, 401, 401, 401),
    (AGENT, "reassign"): (403, 403, 403, 403),
    (LEAD, "reassign"): (200, 404, 404, 404),
    (LEAD_SIBLING, "reassign"): (404, 404, 404, 404),
    (LEAD_ANCESTOR, "reassign"): (200, 200, 200, 404),
    (AGENT_ELSEWHERE, "reassign"): (403, 403, 403, 403),
    (DIRECTOR, "reassign"): (200, 200, 200, 200),
    (ADMIN, "reassign"): (403, 403, 403, 403),
    (ANONYMOUS, "reassign"): (401, 401, 401, 401),
    # resolve: agent: assignee is their unit; lead: subtree; director: all; admin: never
    (AGENT, "resolve"): (200, 404, 404, 404),
    (LEAD, "resolve"): (200, 404, 404, 404),
    (LEAD_SIBLING, "resolve"): (404, 404, 404, 404),
    (LEAD_ANCESTOR, "resolve"): (200, 200, 200, 404),
    (AGENT_ELSEWHERE, "resolve"): (404, 404, 404, 200),
    (DIRECTOR, "resolve"): (200, 200, 200, 200),
    (ADMIN, "resolve"): (403, 403, 403, 403),
    (ANONYMOUS, "resolve"): (401, 401, 401, 401),
    # queue of the object's unit: agent: own unit; lead: subtree; director, admin: all
    (AGENT, "queue"): (200, 404, 404, 404),
    (LEAD, "queue"): (200, 404, 404, 404),
    (LEAD_SIBLING, "queue"): (404, 404, 404, 404),
    (LEAD_ANCESTOR, "queue"): (200, 200, 200, 404),
    (AGENT_ELSEWHERE, "queue"): (404, 404, 404, 200),
    (DIRECTOR, "queue"): (200, 200, 200, 200),
    (ADMIN, "queue"): (200, 200, 200, 200),
    (ANONYMOUS, "queue"): (401, 401, 401, 401),
}
REQUESTS: dict[str, tuple[str, str, Any]] = {
    # operation: (method, path template, JSON body)
    "read": ("GET", "/api/v1/irritants/{id}", None),
    "comment": ("POST", "/api/v1/irritants/{id}/comments", {"text": "Seen"}),
    "take": ("POST", "/api/v1/irritants/{id}/take", None),
    "escalate": ("POST", "/api/v1/irritants/{id}/escalate", {"reason": "Not ours"}),
    "reassign": ("POST", "/api/v1/irritants/{id}/reassign", {"unit": "hq", "reason": "Up"}),
    "resolve": ("POST", "/api/v1/irritants/{id}/resolve", {"resolution": "Done"}),
    "queue": ("GET", "/api/v1/units/{unit}/queue", None),
}
CELLS = [(user, operation, unit, statuses[index])
         for (user, operation), statuses in EXPECTED.items()
         for index, unit in enumerate(OBJECTS)]


@pytest.fixture
def objects(org: dict[str, Any]) -> dict[str, int]:
    """One irritant per object unit, logged there by the director."""
    director = db.session.scalars(sa.select(User).where(User.email == DIRECTOR)).one()
    ids = {}
    for unit in OBJECTS:
        irritant = log_irritant(director, category=CATEGORY_OF[unit], severity="medium",
                                description=f"At {unit}", origin_unit=unit)
        assert irritant.assignee.key == unit
        ids[unit] = irritant.id
    return ids


def state_of(irritant_id: int) -> tuple[Any, ...]:
    db.session.rollback()
    row = db.session.get(Irritant, irritant_id)
    assert row is not None
    events = db.session.scalar(sa.select(sa.func.count()).select_from(IrritantEvent)
                               .where(IrritantEvent.irritant_id == irritant_id))
    return row.status, row.assignee_id, row.row_version, events


@pytest.mark.parametrize(("user", "operation", "unit", "expected"), CELLS,
                         ids=[f"{u.split('@')[0]}-{o}-{n}" for u, o, n, _ in CELLS])
def test_each_role_on_each_operation_and_object_gets_the_table_status(
    client: FlaskClient, auth_headers: Headers, objects: dict[str, int],
    user: str, operation: str, unit: str, expected: int,
) -> None:
    method, template, body = REQUESTS[operation]
    irritant_id = objects[unit]
    headers = {} if user == ANONYMOUS else auth_headers(user)
    before = state_of(irritant_id)

    response = client.open(template.format(id=irritant_id, unit=unit), method=method,
                           json=body, headers=headers)

    assert response.status_code == expected, response.get_json()
    if method == "POST" and expected >= 400:
        assert state_of(irritant_id) == before


def test_an_id_outside_the_scope_is_answered_like_a_missing_one(
    client: FlaskClient, auth_headers: Headers, objects: dict[str, int]
) -> None:
    headers = auth_headers(AGENT_ELSEWHERE)

    outside = client.get(f"/api/v1/irritants/{objects['lille']}", headers=headers)
    missing = client.get("/api/v1/irritants/987654", headers=headers)

    assert outside.status_code == missing.status_code == 404
    assert outside.get_json() == missing.get_json()


@pytest.mark.parametrize(
    ("user", "visible"),
    [(AGENT, {"lille"}), (LEAD, {"lille"}), (LEAD_SIBLING, set()),
     (LEAD_ANCESTOR, {"lille", "roubaix", "north"}), (AGENT_ELSEWHERE, {"marseille"}),
     (DIRECTOR, set(OBJECTS)), (ADMIN, set(OBJECTS))],
)
def test_the_list_shows_each_role_exactly_what_it_may_read(
    client: FlaskClient, auth_headers: Headers, objects: dict[str, int],
    user: str, visible: set[str],
) -> None:
    response = client.get("/api/v1/irritants", headers=auth_headers(user))

    assert response.status_code == 200
    by_id = {irritant_id: unit for unit, irritant_id in objects.items()}
    assert {by_id[item["id"]] for item in response.get_json()["items"]} == visible
    assert response.get_json()["total"] == len(visible)


def test_an_agent_reads_what_they_logged_even_elsewhere(
    client: FlaskClient, auth_headers: Headers, objects: dict[str, int]
) -> None:
    logged = client.post("/api/v1/irritants", headers=auth_headers(AGENT),
                         json={"category": "rude-service", "severity": "low",
                               "description": "Seen at Marseille", "origin_unit": "marseille"})

    response = client.get(f"/api/v1/irritants/{logged.get_json()['id']}",
                          headers=auth_headers(AGENT))

    assert (logged.status_code, response.status_code) == (201, 200)


@pytest.mark.parametrize("user", [AGENT, LEAD, LEAD_ANCESTOR, DIRECTOR, ADMIN, AGENT_ELSEWHERE])
def test_every_role_may_log_and_list_units_and_categories(
    client: FlaskClient, auth_headers: Headers, org: dict[str, Any], user: str
) -> None:
    headers = auth_headers(user)
    logged = client.post("/api/v1/irritants", headers=headers,
                         json={"category": "rude-service", "severity": "low",
                               "description": "Rude"})

    assert logged.status_code == 201
    assert client.get("/api/v1/units", headers=headers).status_code == 200
    assert client.get("/api/v1/categories", headers=headers).status_code == 200


@pytest.mark.parametrize(("path", "method"), [
    ("/api/v1/irritants", "POST"), ("/api/v1/irritants", "GET"), ("/api/v1/units", "GET"),
    ("/api/v1/categories", "GET"), ("/api/v1/tokens/current", "DELETE"),
])
def test_anonymous_calls_are_401(client: FlaskClient, org: dict[str, Any], path: str,
                                 method: str) -> None:
    response = client.open(path, method=method, json={})

    assert response.status_code == 401


def test_a_change_of_role_takes_effect_on_the_next_call(
    client: FlaskClient, auth_headers: Headers, objects: dict[str, int]
) -> None:
    headers = auth_headers(LEAD_ANCESTOR)
    url = f"/api/v1/irritants/{objects['roubaix']}"
    assert client.get(url, headers=headers).status_code == 200
    db.session.execute(sa.update(User).where(User.email == LEAD_ANCESTOR).values(role="agent"))
    db.session.commit()

    assert client.get(url, headers=headers).status_code == 404
    assert client.post(f"{url}/escalate", json={"reason": "x"},
                       headers=headers).status_code == 403


def test_a_change_of_unit_takes_effect_on_the_next_call(
    client: FlaskClient, auth_headers: Headers, objects: dict[str, int]
) -> None:
    headers = auth_headers(AGENT)
    url = f"/api/v1/irritants/{objects['marseille']}"
    assert client.get(url, headers=headers).status_code == 404
    marseille_unit = db.session.scalars(
        sa.select(User.unit_id).where(User.email == AGENT_ELSEWHERE)).one()
    db.session.execute(sa.update(User).where(User.email == AGENT).values(unit_id=marseille_unit))
    db.session.commit()

    assert client.get(url, headers=headers).status_code == 200


def test_guessing_sequential_ids_leaks_nothing(client: FlaskClient, auth_headers: Headers,
                                               objects: dict[str, int]) -> None:
    headers = auth_headers(AGENT_ELSEWHERE)
    statuses = {
        irritant_id: client.get(f"/api/v1/irritants/{irritant_id}", headers=headers).status_code
        for irritant_id in range(1, max(objects.values()) + 5)
    }

    assert {i for i, status in statuses.items() if status == 200} == {objects["marseille"]}
    assert set(statuses.values()) == {200, 404}
