"""POST /api/v1/whatif: the six figures, directors only, 422 with dotted paths."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from irritants.extensions import db as _db
from irritants.models import WhatIfRun
from tests.irritant_rows import irritant_row

SINCE = datetime(2024, 1, 1, tzinfo=UTC)
AuthHeaders = Callable[[str], dict[str, str]]  # tests/api/conftest.py auth_headers
GRANT = {"unit": "lille", "grant_tools": ["refund-terminal"], "grant_competencies": [],
         "set_authorities": {}}  # fmt: skip


def logged(origin: str, refund: int, at: datetime) -> None:
    """A faulty product logged at `at` with that refund amount (requirements at logging)."""
    requirements = {"competencies": ["product"], "authorities": {"refund": refund},
                    "tools": ["refund-terminal"]}  # fmt: skip
    irritant_row(origin, at, requirements)
    _db.session.commit()


@pytest.fixture
def quarter(org: dict[str, Any]) -> None:
    logged("lille", 80, SINCE)  # roubaix (2) before, lille (0) after
    logged("lille", 80, SINCE + timedelta(days=1))  # the same
    logged("lille", 200, SINCE + timedelta(days=2))  # unroutable on both sides: depth 3
    logged("nice", 0, SINCE + timedelta(days=3))  # marseille (2) on both sides
    logged("lille", 80, SINCE + timedelta(days=90))  # 2024-03-31: before until
    logged("lille", 80, datetime(2024, 4, 1, tzinfo=UTC))  # at until: left out


def post(client: FlaskClient, auth_headers: AuthHeaders, body: Any,
         email: str = "director@example.com") -> Any:  # fmt: skip
    return client.post("/api/v1/whatif", json=body, headers=auth_headers(email))


def test_a_director_gets_exactly_the_six_figures(
    client: FlaskClient, auth_headers: AuthHeaders, quarter: None
) -> None:
    response = post(client, auth_headers, {"changes": [GRANT], "since": "2024-01-01T00:00:00Z",
                                  "until": "2024-04-01T00:00:00Z"})  # fmt: skip

    assert response.status_code == 200
    # Before: 2+2+3+2+2 = 11 over 5; after: 0+0+3+2+0 = 5 over 5.
    assert response.get_json() == {
        "replayed": 5,
        "changed_assignee": 3,
        "resolved_at_origin_before": 0,
        "resolved_at_origin_after": 3,
        "mean_distance_before": 2.2,
        "mean_distance_after": 1.0,
    }


def test_without_a_period_every_irritant_is_replayed_and_null_means_unlimited(
    client: FlaskClient, auth_headers: AuthHeaders, quarter: None
) -> None:
    response = post(client, auth_headers, {"changes": [
        {"unit": "lille", "grant_tools": ["refund-terminal"], "set_authorities": {"refund": None}},
    ]})  # fmt: skip

    assert response.status_code == 200
    assert response.get_json() == {
        "replayed": 6,
        "changed_assignee": 5,
        "resolved_at_origin_before": 0,
        "resolved_at_origin_after": 5,
        "mean_distance_before": 2.1666666666666665,
        "mean_distance_after": 0.3333333333333333,
    }


def test_a_period_without_irritants_gives_zeros(
    client: FlaskClient, auth_headers: AuthHeaders, quarter: None
) -> None:
    response = post(client, auth_headers, {"changes": [GRANT], "since": "2030-01-01T00:00:00Z"})

    assert response.status_code == 200
    assert response.get_json() == {
        "replayed": 0, "changed_assignee": 0, "resolved_at_origin_before": 0,
        "resolved_at_origin_after": 0, "mean_distance_before": 0, "mean_distance_after": 0,
    }  # fmt: skip


@pytest.mark.parametrize(
    "email", ["admin@example.com", "lead.north@example.com", "agent.lille@example.com"]
)
def test_anyone_but_a_director_gets_403(
    client: FlaskClient, auth_headers: AuthHeaders, quarter: None, email: str
) -> None:
    assert post(client, auth_headers, {"changes": [GRANT]}, email).status_code == 403


def test_no_token_gets_401(client: FlaskClient, org: dict[str, Any]) -> None:
    assert client.post("/api/v1/whatif", json={"changes": [GRANT]}).status_code == 401


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["changes"]),
        ({"changes": GRANT}, ["changes"]),
        ({"changes": [{"unit": "atlantis"}]}, ["changes.0.unit"]),
        ({"changes": [GRANT, {"grant_tools": ["pos"]}]}, ["changes.1.unit"]),
        ({"changes": [{"unit": "lille", "grant_tools": "pos"}]}, ["changes.0.grant_tools"]),
        ({"changes": [{"unit": "lille", "grant_competencies": [3]}]},
         ["changes.0.grant_competencies.0"]),
        ({"changes": [{"unit": "lille", "set_authorities": {"refund": "300"}}]},
         ["changes.0.set_authorities.refund"]),
        ({"changes": [{"unit": "lille", "set_authorities": {"refund": -1}}]},
         ["changes.0.set_authorities.refund"]),
        ({"changes": [{"unit": "lille", "set_authorities": {"refund": True}}]},
         ["changes.0.set_authorities.refund"]),
        ({"changes": [{"unit": "lille", "set_authorities": 300}]},
         ["changes.0.set_authorities"]),
        ({"changes": [{"unit": "lille", "grant_tool": ["pos"]}]}, ["changes.0.grant_tool"]),
        ({"changes": [GRANT], "scope": "north"}, ["scope"]),
        ({"changes": [GRANT], "since": "last quarter"}, ["since"]),
        ({"changes": [GRANT], "until": 20240401}, ["until"]),
        ({"changes": [GRANT], "since": "2024-04-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"},
         ["until"]),
    ],
)  # fmt: skip
def test_bad_input_gets_422_with_dotted_field_paths(
    client: FlaskClient, auth_headers: AuthHeaders, body: Any, fields: list[str]
) -> None:
    response = post(client, auth_headers, body)

    assert response.status_code == 422
    assert sorted(response.get_json()["errors"]) == fields


def test_an_unknown_unit_is_named_in_the_message_in_french_by_default(
    client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    french = post(client, auth_headers, {"changes": [{"unit": "atlantis"}]})
    english = client.post("/api/v1/whatif", json={"changes": [{"unit": "atlantis"}]},
                          headers={**auth_headers("director@example.com"),
                                   "Accept-Language": "en"})  # fmt: skip

    assert french.get_json() == {
        "errors": {"changes.0.unit": ["Unité «\u00a0atlantis\u00a0» inconnue."]}}
    assert english.get_json() == {"errors": {"changes.0.unit": ["Unknown unit “atlantis”."]}}


def test_a_background_run_answers_202_then_its_progress_and_figures(
    client: FlaskClient, auth_headers: AuthHeaders, quarter: None
) -> None:
    headers = auth_headers("director@example.com")

    started = client.post("/api/v1/whatif/runs", headers=headers,
                          json={"changes": [GRANT], "until": "2024-04-01T00:00:00Z"})  # fmt: skip

    assert started.status_code == 202
    run_id = _db.session.scalar(select(func.max(WhatIfRun.id)))
    assert started.headers["Location"] == f"/api/v1/whatif/runs/{run_id}"
    # Without Redis the job ran in-process before the answer.
    status = client.get(started.headers["Location"], headers=headers)
    assert status.status_code == 200
    body = status.get_json()
    assert (body["id"], body["status"], body["progress"], body["total"], body["error"]) == (
        run_id, "done", 5, 5, None,
    )  # fmt: skip
    assert body["result"] == {
        "replayed": 5, "changed_assignee": 3, "resolved_at_origin_before": 0,
        "resolved_at_origin_after": 3, "mean_distance_before": 2.2, "mean_distance_after": 1.0,
    }  # fmt: skip


def test_a_run_is_for_directors_and_someone_elses_is_not_found(
    client: FlaskClient, auth_headers: AuthHeaders, quarter: None
) -> None:
    started = client.post("/api/v1/whatif/runs", json={"changes": [GRANT]},
                          headers=auth_headers("director@example.com"))  # fmt: skip

    admin = client.get(started.headers["Location"], headers=auth_headers("admin@example.com"))
    missing = client.get("/api/v1/whatif/runs/999999",
                         headers=auth_headers("director@example.com"))  # fmt: skip
    assert (admin.status_code, missing.status_code) == (403, 404)
    refused = client.post("/api/v1/whatif/runs", json={"changes": [GRANT]},
                          headers=auth_headers("lead.north@example.com"))  # fmt: skip
    assert refused.status_code == 403
    assert _db.session.scalar(select(func.count()).select_from(WhatIfRun)) == 1


def test_the_openapi_description_documents_the_whatif_body_and_answers(
    client: FlaskClient,
) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()

    operation = spec["paths"]["/api/v1/whatif"]["post"]
    assert set(operation["responses"]) >= {"200", "401", "403", "422"}
    schemas = spec["components"]["schemas"]
    assert set(schemas["WhatIfFigures"]["properties"]) == {
        "replayed", "changed_assignee", "resolved_at_origin_before",
        "resolved_at_origin_after", "mean_distance_before", "mean_distance_after",
    }  # fmt: skip
    assert set(schemas["Change"]["properties"]) == {
        "unit", "grant_tools", "grant_competencies", "set_authorities",
    }  # fmt: skip
