"""GET /api/v1/locality: the directors' locality figures for BI tools."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

AuthHeaders = Callable[[str], dict[str, str]]  # tests/api/conftest.py auth_headers
DIRECTOR = "director@example.com"
FIGURES = ("logged", "resolved", "resolved_at_origin", "escalated", "routings",
           "share_resolved_at_origin", "share_escalated", "mean_distance")


@pytest.fixture
def two_logged(client: FlaskClient, auth_headers: AuthHeaders,
               log_via_api: Callable[..., dict[str, Any]]) -> None:
    """Lille logs a rude-service (kept and resolved at Lille, distance 0) and a faulty
    product of 80 euros (sent to Store Roubaix, two steps away)."""
    kept = log_via_api("agent.lille@example.com", category="rude-service",
                       severity="medium", description="Rude answer at the till")
    sent = log_via_api("agent.lille@example.com", category="faulty-product",
                       severity="medium", description="Kettle leaks", amount=80)
    assert (kept["assignee"], sent["assignee"]) == ("lille", "roubaix")
    resolved = client.post(f"/api/v1/irritants/{kept['id']}/resolve",
                           json={"resolution": "Apologised", "root_cause": "training"},
                           headers=auth_headers("lead.lille@example.com"))
    assert resolved.status_code == 200


def test_a_director_reads_the_figures_of_the_whole_org(
    client: FlaskClient, auth_headers: AuthHeaders, two_logged: None
) -> None:
    response = client.get("/api/v1/locality?bucket=day", headers=auth_headers(DIRECTOR))

    assert response.status_code == 200
    body = response.get_json()
    expected = {"logged": 2, "resolved": 1, "resolved_at_origin": 1, "escalated": 0,
                "routings": 2, "share_resolved_at_origin": 0.5, "share_escalated": 0.0,
                "mean_distance": 1.0}
    assert body["total"] == expected
    assert (body["subtree"], body["bucket"]) == ("hq", "day")
    assert [point["start"] for point in body["series"]] == [
        datetime.now(UTC).date().isoformat()]
    assert {name: body["series"][0][name] for name in FIGURES} == expected
    until = datetime.fromisoformat(body["until"])
    assert until - datetime.fromisoformat(body["since"]) == timedelta(days=90)
    assert [(row["unit"], row["own"], row["logged"]) for row in body["units"]] == [
        ("hq", True, 0), ("cs", False, 2), ("digital", False, 0), ("logistics", False, 0)]


def test_a_subtree_and_a_period_narrow_the_figures(
    client: FlaskClient, auth_headers: AuthHeaders, two_logged: None
) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    response = client.get(f"/api/v1/locality?subtree=north&since={tomorrow}T00:00:00Z"
                          f"&until={tomorrow}T12:00:00Z", headers=auth_headers(DIRECTOR))

    assert response.status_code == 200
    body = response.get_json()
    assert (body["subtree"], body["series"], body["total"]["logged"]) == ("north", [], 0)
    assert body["since"] == f"{tomorrow}T00:00:00Z"
    assert [row["unit"] for row in body["units"]] == ["north", "lille", "north-bo",
                                                      "roubaix"]


@pytest.mark.parametrize("email", ["agent.lille@example.com", "lead.north@example.com"])
def test_agents_and_leads_are_refused(client: FlaskClient, auth_headers: AuthHeaders,
                                      email: str) -> None:
    response = client.get("/api/v1/locality", headers=auth_headers(email))

    assert response.status_code == 403


@pytest.mark.parametrize(("query", "field"), [
    ("bucket=year", "bucket"),
    ("subtree=atlantis", "subtree"),
    ("since=2025-02-01T00:00:00Z&until=2025-01-01T00:00:00Z", "until"),
    ("since=yesterday", "since"),
    ("colour=blue", "colour"),
])
def test_bad_queries_answer_422_naming_the_field(client: FlaskClient,
                                                 auth_headers: AuthHeaders, query: str,
                                                 field: str) -> None:
    response = client.get(f"/api/v1/locality?{query}", headers=auth_headers(DIRECTOR))

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]
