"""The OpenAPI description at /api/v1/openapi.json, its documentation page, and a
Schemathesis run against the app in-process (reliability.md S13)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from irritants.extensions import db
from irritants.models import IdempotencyRecord, Irritant, IrritantEvent

ROOT = Path(__file__).resolve().parents[2]
Headers = Callable[[str], dict[str, str]]
# Every operation of api.md, (method, path) as the description names it.
API_MD_OPERATIONS = {
    ("post", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/current"),
    ("post", "/api/v1/irritants"),
    ("get", "/api/v1/irritants"),
    ("get", "/api/v1/irritants/{irritant_id}"),
    ("post", "/api/v1/irritants/{irritant_id}/comments"),
    ("post", "/api/v1/irritants/{irritant_id}/take"),
    ("post", "/api/v1/irritants/{irritant_id}/escalate"),
    ("post", "/api/v1/irritants/{irritant_id}/reassign"),
    ("post", "/api/v1/irritants/{irritant_id}/resolve"),
    ("get", "/api/v1/units"),
    ("get", "/api/v1/units/{key}/queue"),
    ("get", "/api/v1/categories"),
    ("get", "/api/v1/gaps"),
    ("post", "/api/v1/whatif"),
}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def test_the_description_is_served_without_a_token(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json()["openapi"].startswith("3.")
    assert response.get_json()["info"]["title"] == "Irritants API"


def test_every_api_md_operation_is_described(spec: dict[str, Any]) -> None:
    described = {(method, path) for method, path, _ in operations(spec)}

    assert described >= API_MD_OPERATIONS


def test_every_operation_but_token_creation_needs_the_bearer_scheme(
    spec: dict[str, Any]
) -> None:
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"]}
    for method, path, operation in operations(spec):
        if (method, path) == ("post", "/api/v1/tokens"):
            assert operation["security"] == []
        else:
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            assert "401" in operation["responses"], (method, path)


def test_every_described_operation_refuses_a_missing_or_bad_token_with_401(
    client: FlaskClient, spec: dict[str, Any]
) -> None:
    checked = 0
    for method, path, _operation in operations(spec):
        if (method, path) == ("post", "/api/v1/tokens"):
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        for headers in ({}, {"Authorization": "Bearer forged-token"}):
            response = client.open(url, method=method.upper(), json={}, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            checked += 1

    assert checked >= 2 * (len(API_MD_OPERATIONS) - 1)


def test_operations_document_their_success_and_error_answers(spec: dict[str, Any]) -> None:
    expected = {
        ("post", "/api/v1/irritants"): {"201", "401", "409", "422"},
        ("get", "/api/v1/irritants"): {"200", "401", "422"},
        ("get", "/api/v1/irritants/{irritant_id}"): {"200", "401", "404"},
        ("post", "/api/v1/irritants/{irritant_id}/comments"): {"201", "401", "403", "404",
                                                               "409", "422"},
        ("post", "/api/v1/irritants/{irritant_id}/take"): {"200", "401", "403", "404", "409"},
        ("post", "/api/v1/irritants/{irritant_id}/escalate"): {"200", "401", "403", "404",
                                                               "409", "422"},
        ("post", "/api/v1/irritants/{irritant_id}/reassign"): {"200", "401", "403", "404",
                                                               "409", "422"},
        ("post", "/api/v1/irritants/{irritant_id}/resolve"): {"200", "401", "403", "404",
                                                              "409", "422"},
        ("get", "/api/v1/units/{key}/queue"): {"200", "401", "403", "404", "422"},
        ("post", "/api/v1/tokens"): {"201", "401", "422", "429"},
        ("delete", "/api/v1/tokens/current"): {"204", "401"},
    }
    documented = {(method, path): set(operation["responses"])
                  for method, path, operation in operations(spec)}

    for key, codes in expected.items():
        assert codes <= documented[key], key


def test_request_bodies_refuse_unknown_fields_and_responses_use_the_contract_names(
    spec: dict[str, Any]
) -> None:
    schemas = spec["components"]["schemas"]
    create = schemas["IrritantCreate"]
    irritant = schemas["Irritant"]

    assert create["additionalProperties"] is False
    assert set(create["required"]) == {"category", "severity", "description"}
    assert create["properties"]["severity"]["enum"] == ["low", "medium", "high", "critical"]
    assert {"id", "status", "category", "severity", "origin_unit", "assignee", "rank",
            "unroutable", "escalation_level", "overdue", "created_at", "due_at",
            "requirements", "gaps"} <= set(irritant["required"])
    assert irritant["properties"]["amount"]["type"] == "number"
    assert "routed" in schemas["Event"]["properties"]["type"]["enum"]
    assert schemas["ValidationError"]["required"] == ["errors"]


def test_the_documentation_page_works_offline_without_a_token(client: FlaskClient) -> None:
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<script src="/static/vendor/redoc/redoc.standalone.js"></script>' in page
    assert 'spec-url="/api/v1/openapi.json"' in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    bundle = client.get("/static/vendor/redoc/redoc.standalone.js")
    assert bundle.status_code == 200
    assert len(bundle.data) > 500_000
    bundle.close()
    assert (ROOT / "static/vendor/redoc/LICENSE").exists()


def test_other_pages_keep_the_strict_policy(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")

    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


# --- Schemathesis --------------------------------------------------------------------------

POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_schema_conformance]
NEGATIVE_CHECKS = [*POSITIVE_CHECKS, negative_data_rejection]
WRITE_TABLES = (Irritant, IrritantEvent, IdempotencyRecord)


def written_rows() -> tuple[int, ...]:
    db.session.rollback()
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
                 for model in WRITE_TABLES)


def auth_for(case: Any, headers: dict[str, str]) -> dict[str, str] | None:
    """The caller's token, unless the case is about the headers themselves (then as generated:
    a negative case that drops or spoils `Authorization` must meet the 401)."""
    if case.operation.path == "/api/v1/tokens":
        return None
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    if header is not None and header.mode.is_negative:
        return None
    return headers


def fuzz(app: Flask, headers: dict[str, str], mode: GenerationMode, max_examples: int) -> None:
    """Run every operation of the description through Schemathesis, in-process."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = POSITIVE_CHECKS if mode == GenerationMode.POSITIVE else NEGATIVE_CHECKS
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.lower() == "delete":
            continue  # revoking the token would end the run

        @hypothesis.settings(max_examples=max_examples, deadline=None, database=None,
                             derandomize=True, phases=[hypothesis.Phase.generate],
                             suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            response = case.call(headers=auth_for(case, headers))
            case.validate_response(response, checks=checks)

        try:
            run()
        except Exception as error:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_a_short_schemathesis_run_finds_no_server_error_and_no_schema_break(
    app: Flask, auth_headers: Headers, mode: GenerationMode
) -> None:
    headers = auth_headers("director@example.com")
    before = written_rows()

    fuzz(app, headers, mode, max_examples=8)

    if mode == GenerationMode.NEGATIVE:
        assert written_rows() == before


@pytest.mark.slow
@pytest.mark.parametrize("user", ["director@example.com", "lead.north@example.com",
                                  "agent.lille@example.com", "admin@example.com"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_a_long_schemathesis_run_as_each_role(app: Flask, auth_headers: Headers,
                                              mode: GenerationMode, user: str) -> None:
    headers = auth_headers(user)
    before = written_rows()

    fuzz(app, headers, mode, max_examples=150)

    if mode == GenerationMode.NEGATIVE:
        assert written_rows() == before
