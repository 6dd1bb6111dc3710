"""GET /api/v1/gaps: api.md's exact shape, scope per role, period and bad input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from irritants.extensions import db as _db
from irritants.models import GapItem, IrritantEvent
from tests.irritant_rows import irritant_row

SINCE = datetime(2024, 1, 1, tzinfo=UTC)
AuthHeaders = Callable[[str], dict[str, str]]  # tests/api/conftest.py auth_headers


def routed(at: datetime, gaps: dict[str, list[tuple[str, str, int | None]]]) -> None:
    """A routing event whose units lacked the given (kind, key, required) items."""
    irritant = irritant_row(next(iter(gaps)), at, requirements={})
    event = IrritantEvent(irritant_id=irritant.id, type="routed", at=at, gaps=[])
    _db.session.add(event)
    _db.session.flush()
    for unit, items in gaps.items():
        for kind, key, required in items:
            _db.session.add(GapItem(event_id=event.id, irritant_id=irritant.id, at=at,
                                    unit_key=unit, kind=kind, item_key=key,
                                    required=required))  # fmt: skip
    _db.session.commit()


@pytest.fixture
def history(org: dict[str, Any]) -> None:
    routed(SINCE, {"lille": [("tool", "refund-terminal", None)],
                   "north": [("tool", "refund-terminal", None)]})  # fmt: skip
    routed(SINCE + timedelta(days=1), {
        "lille": [("competency", "delivery", None), ("authority", "gesture", 500),
                  ("tool", "carrier-portal", None)],
        "north": [("authority", "gesture", 500), ("tool", "carrier-portal", None)],
    })  # fmt: skip
    routed(SINCE + timedelta(days=2), {
        "marseille": [("authority", "gesture", 120), ("tool", "carrier-portal", None)],
        "south": [("tool", "carrier-portal", None)],
    })  # fmt: skip
    routed(SINCE + timedelta(days=3), {"lille": [("tool", "carrier-portal", None)]})


def test_a_director_gets_both_aggregations_of_the_period(
    client: FlaskClient, auth_headers: AuthHeaders, history: None
) -> None:
    response = client.get(
        "/api/v1/gaps?since=2024-01-01T00:00:00Z&until=2024-01-03T00:00:00Z",
        headers=auth_headers("director@example.com"),
    )

    assert response.status_code == 200
    assert response.get_json() == {
        "by_unit": [
            {"unit": "lille", "routings": 2, "competencies": {"delivery": 1},
             "tools": {"carrier-portal": 1, "refund-terminal": 1},
             "authorities": {"gesture": {"count": 1, "max_required": 500}}},
            {"unit": "north", "routings": 2, "competencies": {},
             "tools": {"carrier-portal": 1, "refund-terminal": 1},
             "authorities": {"gesture": {"count": 1, "max_required": 500}}},
        ],
        "by_item": [
            {"kind": "tool", "key": "carrier-portal", "count": 2,
             "units": {"lille": 1, "north": 1}},
            {"kind": "authority", "key": "gesture", "count": 2, "units": {"lille": 1, "north": 1}},
            {"kind": "tool", "key": "refund-terminal", "count": 2,
             "units": {"lille": 1, "north": 1}},
            {"kind": "competency", "key": "delivery", "count": 1, "units": {"lille": 1}},
        ],
    }  # fmt: skip
    assert '"max_required":500}' in response.get_data(as_text=True).replace(" ", "")


def test_an_admin_sees_everything_without_a_period(
    client: FlaskClient, auth_headers: AuthHeaders, history: None
) -> None:
    response = client.get("/api/v1/gaps", headers=auth_headers("admin@example.com"))

    assert response.status_code == 200
    body = response.get_json()
    assert [(entry["unit"], entry["routings"]) for entry in body["by_unit"]] == [
        ("lille", 3), ("north", 2), ("marseille", 1), ("south", 1),
    ]  # fmt: skip
    assert body["by_item"][0] == {
        "kind": "tool", "key": "carrier-portal", "count": 5,
        "units": {"lille": 2, "marseille": 1, "north": 1, "south": 1},
    }  # fmt: skip


def test_a_lead_gets_the_gaps_recorded_by_units_of_their_subtree(
    client: FlaskClient, auth_headers: AuthHeaders, history: None
) -> None:
    response = client.get("/api/v1/gaps?until=2024-01-04T00:00:00Z",
                          headers=auth_headers("lead.north@example.com"))  # fmt: skip

    assert response.status_code == 200
    assert [entry["unit"] for entry in response.get_json()["by_unit"]] == ["lille", "north"]


def test_a_time_without_an_offset_is_utc_and_until_is_excluded(
    client: FlaskClient, auth_headers: AuthHeaders, history: None
) -> None:
    response = client.get("/api/v1/gaps?since=2024-01-03T00:00:00&until=2024-01-04T00:00:00",
                          headers=auth_headers("director@example.com"))  # fmt: skip

    assert response.get_json()["by_unit"] == [
        {"unit": "marseille", "routings": 1, "competencies": {},
         "tools": {"carrier-portal": 1}, "authorities": {"gesture": {"count": 1,
                                                                     "max_required": 120}}},
        {"unit": "south", "routings": 1, "competencies": {}, "tools": {"carrier-portal": 1},
         "authorities": {}},
    ]  # fmt: skip


def test_an_agent_is_refused_with_403(
    client: FlaskClient, auth_headers: AuthHeaders, history: None
) -> None:
    response = client.get("/api/v1/gaps", headers=auth_headers("agent.lille@example.com"))

    assert response.status_code == 403


def test_no_token_gets_401(client: FlaskClient, org: dict[str, Any]) -> None:
    assert client.get("/api/v1/gaps").status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [("since=yesterday", "since"), ("until=2024-02-30T00:00:00Z", "until"),
     ("period=q1", "period")],
)  # fmt: skip
def test_bad_query_parameters_get_422_naming_them(
    client: FlaskClient, auth_headers: AuthHeaders, query: str, field: str
) -> None:
    response = client.get(f"/api/v1/gaps?{query}",
                          headers=auth_headers("director@example.com"))  # fmt: skip

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]


def test_until_before_since_gets_422(client: FlaskClient, auth_headers: AuthHeaders) -> None:
    response = client.get("/api/v1/gaps?since=2024-02-01T00:00:00Z&until=2024-01-01T00:00:00Z",
                          headers={**auth_headers("director@example.com"),
                                   "Accept-Language": "en"})  # fmt: skip

    assert response.status_code == 422
    assert response.get_json() == {"errors": {"until": ["The end must be after the start."]}}


def test_the_openapi_description_documents_the_gaps_call(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()

    operation = spec["paths"]["/api/v1/gaps"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} == {"since", "until"}
    assert set(operation["responses"]) >= {"200", "401", "403", "422"}
