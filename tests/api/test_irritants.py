"""The irritant calls of api.md: log, read, comment, take, escalate, reassign, resolve, list,
queues, units and categories, with their exact shapes."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from irritants.extensions import db
from irritants.models import Irritant, IrritantEvent, utcnow

AGENT = "agent.lille@example.com"
LEAD_NORTHBO = "lead.northbo@example.com"
LEAD_NORTH = "lead.north@example.com"
DIRECTOR = "director@example.com"
Headers = Callable[[str], dict[str, str]]
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

API_MD_EXAMPLE = {
    "status": "open", "category": "late-delivery", "severity": "high", "origin_unit": "lille",
    "assignee": "north-bo", "rank": [2, 1, 0, "north-bo"], "unroutable": False,
    "escalation_level": 0, "overdue": False,
    "requirements": {"competencies": ["delivery"], "authorities": {"gesture": 40},
                     "tools": ["carrier-portal"]},
    "gaps": [{"unit": "lille", "missing_competencies": ["delivery"],
              "missing_authorities": {}, "missing_tools": ["carrier-portal"]},
             {"unit": "north", "missing_competencies": [],
              "missing_authorities": {}, "missing_tools": ["carrier-portal"]}],
}
PAYLOAD = {"category": "late-delivery", "severity": "high", "description": "Parcel late",
           "amount": 40, "origin_unit": "lille", "customer_ref": "C-1234", "channel": "store"}


def parse(moment: str) -> datetime:
    assert ISO_Z.match(moment), moment
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def irritant_row(irritant_id: int) -> Irritant:
    db.session.rollback()
    row = db.session.get(Irritant, irritant_id)
    assert row is not None
    return row


def event_types(irritant_id: int) -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(
        sa.select(IrritantEvent.type).where(IrritantEvent.irritant_id == irritant_id)
        .order_by(IrritantEvent.id)))


# --- log -------------------------------------------------------------------------------


def test_logging_answers_201_with_the_irritant_exactly_as_api_md_shows_it(
    client: FlaskClient, auth_headers: Headers
) -> None:
    before = utcnow().replace(microsecond=0)

    response = client.post("/api/v1/irritants", json=PAYLOAD, headers=auth_headers(AGENT))

    assert response.status_code == 201
    body = response.get_json()
    assert {key: body[key] for key in API_MD_EXAMPLE} == API_MD_EXAMPLE
    assert body["description"] == "Parcel late"
    assert body["amount"] == 40
    assert body["customer_ref"] == "C-1234"
    assert body["channel"] == "store"
    assert body["occurrences"] == 1
    assert body["reporter"] == AGENT
    assert body["taken_by"] is None
    assert body["resolution"] is None
    assert body["resolved_at"] is None
    created_at = parse(body["created_at"])
    assert before <= created_at <= utcnow()
    assert parse(body["due_at"]) == created_at + timedelta(hours=24)
    row = irritant_row(body["id"])
    assert (row.description, row.customer_ref, str(row.amount)) == ("Parcel late", "C-1234",
                                                                     "40.00")
    assert event_types(body["id"]) == ["routed"]


def statement_label(statement: str) -> str:
    """'SELECT api_token', 'INSERT irritant', 'UPDATE idempotency_record', ..."""
    words = statement.replace('"', "").split()
    verb = words[0].upper()
    if verb == "SELECT":  # by the table of the first column
        return f"SELECT {words[1].split('.')[0]}"
    return f"{verb} {words[2] if verb in ('INSERT', 'DELETE') else words[1]}"


@pytest.mark.parametrize("key", [None, "retry-me"])
def test_a_logging_is_one_commit_of_a_few_statements(
    client: FlaskClient, auth_headers: Headers, key: str | None
) -> None:
    headers = auth_headers(AGENT)
    client.post("/api/v1/irritants", json=PAYLOAD, headers=headers)  # the token's last use
    statements: list[str] = []
    commits: list[object] = []

    def record(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        if not commits:  # the logging's transaction (the e-mail job runs inline after it)
            statements.append(statement_label(statement))

    def committed(conn: object) -> None:
        commits.append(conn)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    sa.event.listen(db.engine, "commit", committed)
    try:
        response = client.post("/api/v1/irritants", json=PAYLOAD,
                               headers={**headers, **({"Idempotency-Key": key} if key else {})})
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
        sa.event.remove(db.engine, "commit", committed)

    assert response.status_code == 201
    # The category comes from the org cache; the key's answer is written by the logging's
    # own commit; then the e-mail job (inline without Redis) commits its own work.
    claim = ["SELECT idempotency_record", "INSERT idempotency_record"] if key else []
    answer = ["UPDATE idempotency_record"] if key else []
    assert statements == ["SELECT api_token", *claim, "SELECT irritant", "INSERT irritant",
                          "INSERT irritant_event", "INSERT gap_item", "INSERT notification",
                          "INSERT outbox_message", *answer]


def test_origin_unit_defaults_to_the_callers_unit(client: FlaskClient,
                                                  auth_headers: Headers) -> None:
    body = {"category": "rude-service", "severity": "low", "description": "Rude"}

    response = client.post("/api/v1/irritants", json=body, headers=auth_headers(AGENT))

    assert response.status_code == 201
    assert response.get_json()["origin_unit"] == "lille"
    assert response.get_json()["assignee"] == "lille"
    assert response.get_json()["rank"] == [0, 0, 0, "lille"]
    assert response.get_json()["gaps"] == []


def test_a_call_centre_agent_may_name_another_origin_unit(client: FlaskClient,
                                                          auth_headers: Headers) -> None:
    body = {"category": "rude-service", "severity": "low", "description": "Rude",
            "origin_unit": "roubaix"}

    response = client.post("/api/v1/irritants", json=body,
                           headers=auth_headers("agent.marseille@example.com"))

    assert response.status_code == 201
    assert (response.get_json()["origin_unit"], response.get_json()["assignee"]) == (
        "roubaix", "roubaix")


@pytest.mark.parametrize(("amount", "expected"),
                         [(12.34, 12.34), (0, 0), (0.5, 0.5), (999.9, 999.9), (None, None)])
def test_amount_comes_back_as_a_json_number(client: FlaskClient, auth_headers: Headers,
                                            amount: Any, expected: Any) -> None:
    response = client.post("/api/v1/irritants", json={**PAYLOAD, "amount": amount},
                           headers=auth_headers(AGENT))

    assert response.status_code == 201
    assert response.get_json()["amount"] == expected
    assert type(response.get_json()["amount"]) is type(expected)
    assert b'"amount":"' not in response.data


def test_critical_severity_uses_the_category_sla_hours(client: FlaskClient,
                                                       auth_headers: Headers) -> None:
    body = client.post("/api/v1/irritants", json={**PAYLOAD, "severity": "critical"},
                       headers=auth_headers(AGENT)).get_json()

    assert parse(body["due_at"]) - parse(body["created_at"]) == timedelta(hours=2)


def test_overdue_is_computed_at_the_time_of_the_call(client: FlaskClient,
                                                     auth_headers: Headers,
                                                     log_via_api: Callable[..., Any]) -> None:
    irritant = log_via_api(AGENT)
    db.session.execute(sa.update(Irritant).values(due_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()

    body = client.get(f"/api/v1/irritants/{irritant['id']}", headers=auth_headers(AGENT)).get_json()

    assert body["overdue"] is True


# --- read ------------------------------------------------------------------------------


def test_reading_an_irritant_gives_the_same_object_plus_its_events(
    client: FlaskClient, auth_headers: Headers, log_via_api: Callable[..., Any]
) -> None:
    logged = log_via_api(AGENT, amount=40)

    response = client.get(f"/api/v1/irritants/{logged['id']}", headers=auth_headers(AGENT))

    assert response.status_code == 200
    body = response.get_json()
    events = body.pop("events")
    assert body == logged
    assert events == [{
        "type": "routed", "at": logged["created_at"], "actor": AGENT, "assignee": "north-bo",
        "rank": [2, 1, 0, "north-bo"], "gaps": API_MD_EXAMPLE["gaps"], "unroutable": False,
    }]


def test_a_missing_irritant_is_a_json_404(client: FlaskClient, auth_headers: Headers) -> None:
    response = client.get("/api/v1/irritants/999999",
                          headers={**auth_headers(DIRECTOR), "Accept-Language": "en"})

    assert response.status_code == 404
    assert response.get_json() == {"code": 404, "status": "Not Found", "message": "Not found."}


def test_an_unknown_api_path_and_a_wrong_method_answer_json(client: FlaskClient,
                                                            auth_headers: Headers) -> None:
    missing = client.get("/api/v1/no-such-thing", headers=auth_headers(DIRECTOR))
    not_an_id = client.get("/api/v1/irritants/abc", headers=auth_headers(DIRECTOR))
    wrong_method = client.put("/api/v1/irritants", headers=auth_headers(DIRECTOR))

    assert (missing.status_code, not_an_id.status_code, wrong_method.status_code) == (
        404, 404, 405)
    for response in (missing, not_an_id, wrong_method):
        assert response.is_json
        assert "message" in response.get_json()
        assert b"Traceback" not in response.data
    assert set(wrong_method.headers["Allow"].split(", ")) >= {"GET", "POST"}


# --- work it ---------------------------------------------------------------------------


def test_a_full_lifecycle_records_every_event_oldest_first(
    client: FlaskClient, auth_headers: Headers, log_via_api: Callable[..., Any]
) -> None:
    irritant_id = log_via_api(AGENT, amount=40)["id"]
    lead = auth_headers(LEAD_NORTHBO)

    comment = client.post(f"/api/v1/irritants/{irritant_id}/comments",
                          json={"text": "Calling the carrier"}, headers=lead)
    taken = client.post(f"/api/v1/irritants/{irritant_id}/take", headers=lead)
    escalated = client.post(f"/api/v1/irritants/{irritant_id}/escalate",
                            json={"reason": "We lack the WMS",
                                  "needs": {"tools": ["wms"], "authorities": {"gesture": 100}}},
                            headers=lead)
    reassigned = client.post(f"/api/v1/irritants/{irritant_id}/reassign",
                             json={"unit": "north-bo", "reason": "Back to the back-office"},
                             headers=auth_headers(DIRECTOR))
    resolved = client.post(f"/api/v1/irritants/{irritant_id}/resolve",
                           json={"resolution": "Refunded", "root_cause": "supplier"},
                           headers=lead)

    assert comment.status_code == 201
    assert {k: v for k, v in comment.get_json().items() if k not in ("id", "at")} == {
        "irritant_id": irritant_id, "type": "commented", "actor": LEAD_NORTHBO,
        "text": "Calling the carrier"}
    assert taken.status_code == 200
    assert (taken.get_json()["status"], taken.get_json()["taken_by"]) == ("in_progress",
                                                                          LEAD_NORTHBO)
    assert escalated.status_code == 200
    assert escalated.get_json()["assignee"] == "logistics"
    assert escalated.get_json()["status"] == "open"
    assert escalated.get_json()["requirements"] == {
        "competencies": ["delivery"], "authorities": {"gesture": 100},
        "tools": ["carrier-portal", "wms"]}
    assert reassigned.status_code == 200
    assert reassigned.get_json()["assignee"] == "north-bo"
    assert reassigned.get_json()["rank"] is None
    assert resolved.status_code == 200
    assert (resolved.get_json()["status"], resolved.get_json()["resolution"],
            resolved.get_json()["root_cause"]) == ("resolved", "Refunded", "supplier")
    assert parse(resolved.get_json()["resolved_at"])

    events = client.get(f"/api/v1/irritants/{irritant_id}",
                        headers=auth_headers(AGENT)).get_json()["events"]
    assert [event["type"] for event in events] == [
        "routed", "commented", "taken", "routed", "reassigned", "resolved"]
    assert [event["actor"] for event in events] == [
        AGENT, LEAD_NORTHBO, LEAD_NORTHBO, LEAD_NORTHBO, DIRECTOR, LEAD_NORTHBO]
    assert events[1]["text"] == "Calling the carrier"
    escalation = events[3]
    assert (escalation["reason"], escalation["assignee"]) == ("We lack the WMS", "logistics")
    assert escalation["rank"][-1] == "logistics"
    assert {gap["unit"] for gap in escalation["gaps"]} >= {"lille", "north"}
    assert (events[4]["reason"], events[4]["unit"], events[4]["assignee"]) == (
        "Back to the back-office", "north-bo", "north-bo")
    assert (events[5]["resolution"], events[5]["root_cause"]) == ("Refunded", "supplier")
    assert [parse(event["at"]) for event in events] == sorted(parse(e["at"]) for e in events)


def test_escalating_with_a_need_no_unit_has_makes_it_unroutable_at_the_root(
    client: FlaskClient, auth_headers: Headers, log_via_api: Callable[..., Any]
) -> None:
    irritant_id = log_via_api(AGENT)["id"]

    response = client.post(f"/api/v1/irritants/{irritant_id}/escalate",
                           json={"reason": "Needs a teleporter",
                                 "needs": {"tools": ["teleporter"]}},
                           headers=auth_headers(LEAD_NORTHBO))

    assert response.status_code == 200
    body = response.get_json()
    assert (body["assignee"], body["rank"], body["unroutable"]) == ("hq", None, True)


def test_escalating_without_needs_leaves_the_current_assignee_out(
    client: FlaskClient, auth_headers: Headers, log_via_api: Callable[..., Any]
) -> None:
    irritant_id = log_via_api(AGENT)["id"]

    response = client.post(f"/api/v1/irritants/{irritant_id}/escalate",
                           json={"reason": "Not ours"}, headers=auth_headers(LEAD_NORTH))

    assert response.status_code == 200
    assert response.get_json()["assignee"] not in ("north-bo", "lille")


def test_resolving_twice_is_a_409_and_changes_nothing(
    client: FlaskClient, auth_headers: Headers, log_via_api: Callable[..., Any]
) -> None:
    irritant_id = log_via_api(AGENT)["id"]
    url = f"/api/v1/irritants/{irritant_id}/resolve"
    first = client.post(url, json={"resolution": "Done"}, headers=auth_headers(LEAD_NORTHBO))

    second = client.post(url, json={"resolution": "Again"}, headers=auth_headers(DIRECTOR))

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.get_json()["code"] == 409
    assert irritant_row(irritant_id).resolution == "Done"
    assert event_types(irritant_id) == ["routed", "resolved"]


@pytest.mark.parametrize("action", ["take", "escalate", "reassign"])
def test_acting_on_a_resolved_irritant_is_a_409(client: FlaskClient, auth_headers: Headers,
                                                log_via_api: Callable[..., Any],
                                                action: str) -> None:
    irritant_id = log_via_api(AGENT)["id"]
    client.post(f"/api/v1/irritants/{irritant_id}/resolve", json={"resolution": "Done"},
                headers=auth_headers(LEAD_NORTHBO))
    body = {"take": None, "escalate": {"reason": "x"},
            "reassign": {"unit": "lille", "reason": "x"}}[action]

    response = client.post(f"/api/v1/irritants/{irritant_id}/{action}", json=body,
                           headers=auth_headers(LEAD_NORTHBO))

    assert response.status_code == 409
    assert event_types(irritant_id) == ["routed", "resolved"]


def test_an_unknown_root_cause_is_a_422_on_root_cause(
    client: FlaskClient, auth_headers: Headers, log_via_api: Callable[..., Any]
) -> None:
    irritant_id = log_via_api(AGENT)["id"]

    response = client.post(f"/api/v1/irritants/{irritant_id}/resolve",
                           json={"resolution": "Done", "root_cause": "gremlins"},
                           headers=auth_headers(LEAD_NORTHBO))

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["root_cause"]
    assert irritant_row(irritant_id).status == "open"


# --- lists -----------------------------------------------------------------------------


def test_the_list_is_newest_first_and_filters_by_each_field(
    client: FlaskClient, auth_headers: Headers, log_via_api: Callable[..., Any]
) -> None:
    late = log_via_api(AGENT)["id"]
    rude = log_via_api(AGENT, category="rude-service", severity="low")["id"]
    faulty = log_via_api(AGENT, category="faulty-product", severity="medium", amount=10)["id"]
    client.post(f"/api/v1/irritants/{rude}/resolve",
                json={"resolution": "Apologised", "root_cause": "training"},
                headers=auth_headers(AGENT))
    headers = auth_headers(DIRECTOR)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/irritants{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("") == [faulty, rude, late]
    assert ids("?status=resolved") == [rude]
    assert ids("?status=open") == [faulty, late]
    assert ids("?assignee=north-bo") == [late]
    assert ids("?origin_unit=lille") == [faulty, rude, late]
    assert ids("?origin_unit=marseille") == []
    assert ids("?category=rude-service") == [rude]
    assert ids("?root_cause=training") == [rude]
    assert ids("?severity=medium") == [faulty]
    assert ids("?status=open&category=late-delivery") == [late]
    assert ids("?assignee=no-such-unit") == []


def test_the_queue_is_unresolved_overdue_first_then_by_due_time(
    client: FlaskClient, auth_headers: Headers, log_via_api: Callable[..., Any]
) -> None:
    low = log_via_api(AGENT, category="rude-service", severity="low")["id"]
    high = log_via_api(AGENT, category="rude-service", severity="high")["id"]
    critical = log_via_api(AGENT, category="rude-service", severity="critical")["id"]
    overdue = log_via_api(AGENT, category="rude-service", severity="low")["id"]
    done = log_via_api(AGENT, category="rude-service", severity="critical")["id"]
    db.session.execute(sa.update(Irritant).where(Irritant.id == overdue)
                       .values(due_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    client.post(f"/api/v1/irritants/{done}/resolve", json={"resolution": "ok"},
                headers=auth_headers(AGENT))

    response = client.get("/api/v1/units/lille/queue", headers=auth_headers(AGENT))

    assert response.status_code == 200
    body = response.get_json()
    assert [item["id"] for item in body["items"]] == [overdue, critical, high, low]
    assert [item["overdue"] for item in body["items"]] == [True, False, False, False]
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 4)


def test_the_queue_of_an_unknown_unit_is_a_404(client: FlaskClient,
                                               auth_headers: Headers) -> None:
    response = client.get("/api/v1/units/atlantis/queue", headers=auth_headers(DIRECTOR))

    assert response.status_code == 404


def test_units_list_every_unit_with_its_parent_key(client: FlaskClient,
                                                   auth_headers: Headers,
                                                   org: dict[str, Any]) -> None:
    response = client.get("/api/v1/units?per_page=500", headers=auth_headers(AGENT))

    assert response.status_code == 200
    body = response.get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 500, len(org["units"]))
    assert sorted(body["items"], key=lambda unit: unit["key"]) == sorted(
        ({"key": unit["key"], "name": unit["name"], "parent": unit["parent"]}
         for unit in org["units"]), key=lambda unit: unit["key"])


def test_categories_list_labels_sla_hours_with_defaults_and_root_causes(
    client: FlaskClient, auth_headers: Headers, org: dict[str, Any]
) -> None:
    response = client.get("/api/v1/categories", headers=auth_headers(AGENT))

    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == len(org["categories"])
    by_key = {category["key"]: category for category in body["items"]}
    late = by_key["late-delivery"]
    assert late["sla_hours"] == {"critical": 2, "high": 24, "medium": 72, "low": 168}
    assert late["labels"]["en"] == "Late delivery"
    assert late["active"] is True
    assert all(set(cause) == {"key", "labels"} for cause in late["root_causes"])
    assert by_key["rude-service"]["sla_hours"] == {"critical": 4, "high": 24, "medium": 72,
                                                   "low": 168}


def test_an_unexpected_error_is_a_generic_json_500_without_a_traceback(
    client: FlaskClient, auth_headers: Headers, app: Any, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from irritants.services import queues

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail: SELECT * FROM irritant")

    headers = auth_headers(AGENT)
    monkeypatch.setattr(queues, "queue_for", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    response = client.get("/api/v1/units/lille/queue",
                          headers={**headers, "Accept-Language": "en"})

    assert response.status_code == 500
    assert response.get_json() == {"code": 500, "status": "Internal Server Error",
                                   "message": "An unexpected error occurred."}
    assert b"secret detail" not in response.data
    assert "secret detail" in caplog.text
