"""Bearer tokens (api.md "Authentication"; reliability.md S9)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from irritants.extensions import db
from irritants.models import ApiToken, User, utcnow

AGENT = "agent.lille@example.com"
UNAUTHORIZED = {"code": 401, "status": "Unauthorized",
                "message": "A valid bearer token is required."}
WRONG_CREDENTIALS = {"code": 401, "status": "Unauthorized", "message": "Wrong email or password."}


@pytest.fixture(autouse=True)
def english(client: FlaskClient) -> None:
    """Every call of these tests asks for English, the language of their messages (without
    Accept-Language, a call without a valid token is answered in French: test_language.py)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def token_rows() -> list[ApiToken]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(ApiToken)))


def test_valid_credentials_get_a_201_token_stored_only_as_its_sha256_digest(
    client: FlaskClient, org: dict[str, Any], password_of: Callable[[str], str]
) -> None:
    before = utcnow()
    response = client.post("/api/v1/tokens", json={"email": AGENT, "password": password_of(AGENT)})

    assert response.status_code == 201
    body = response.get_json()
    assert sorted(body) == ["expires_at", "token"]
    token = body["token"]
    assert len(token) >= 43  # token_urlsafe(32): 256 bits
    [row] = token_rows()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_hash, str(row.id))
    assert row.user.email == AGENT
    assert row.revoked_at is None
    assert before + timedelta(days=30) <= row.expires_at <= utcnow() + timedelta(days=30)
    assert body["expires_at"].endswith("Z")


def test_two_tokens_for_the_same_user_differ(api_token: Callable[[str], str],
                                             client: FlaskClient,
                                             password_of: Callable[[str], str]) -> None:
    first = api_token(AGENT)
    second = client.post(
        "/api/v1/tokens", json={"email": AGENT, "password": password_of(AGENT)}
    ).get_json()["token"]

    assert first != second
    assert len(token_rows()) == 2


def test_email_is_matched_whatever_its_case(client: FlaskClient, org: dict[str, Any],
                                            password_of: Callable[[str], str]) -> None:
    response = client.post(
        "/api/v1/tokens", json={"email": AGENT.upper(), "password": password_of(AGENT)}
    )

    assert response.status_code == 201


def test_wrong_password_and_unknown_email_get_the_same_401_and_no_token(
    client: FlaskClient, org: dict[str, Any]
) -> None:
    wrong_password = client.post("/api/v1/tokens", json={"email": AGENT, "password": "nope-nope"})
    unknown_email = client.post(
        "/api/v1/tokens", json={"email": "nobody@example.com", "password": "nope-nope"}
    )

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.get_json() == unknown_email.get_json() == WRONG_CREDENTIALS
    assert token_rows() == []


def test_an_inactive_user_gets_no_token(client: FlaskClient, org: dict[str, Any],
                                        password_of: Callable[[str], str]) -> None:
    db.session.execute(sa.update(User).where(User.email == AGENT).values(is_active_account=False))
    db.session.commit()

    response = client.post("/api/v1/tokens", json={"email": AGENT, "password": password_of(AGENT)})

    assert response.status_code == 401
    assert response.get_json() == WRONG_CREDENTIALS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": AGENT}, "password"),
        ({"password": "x"}, "email"),
        ({"email": 12, "password": "x"}, "email"),
        ({"email": AGENT, "password": ["x"]}, "password"),
        ({"email": AGENT, "password": "x", "role": "admin"}, "role"),
        ({"email": "a\x00@example.com", "password": "x"}, "email"),
    ],
)
def test_bad_token_request_is_422_with_the_field(client: FlaskClient, org: dict[str, Any],
                                                 body: dict[str, Any], field: str) -> None:
    response = client.post("/api/v1/tokens", json=body)

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]
    assert token_rows() == []


def test_malformed_json_is_422_on_body(client: FlaskClient, org: dict[str, Any]) -> None:
    response = client.post("/api/v1/tokens", data='{"email": ',
                           content_type="application/json")

    assert response.status_code == 422
    assert response.get_json() == {"errors": {"body": ["Invalid JSON body."]}}


def test_a_form_body_is_422_not_a_session_login(client: FlaskClient, org: dict[str, Any],
                                                password_of: Callable[[str], str]) -> None:
    response = client.post("/api/v1/tokens", data={"email": AGENT, "password": password_of(AGENT)})

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["body"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic YWdlbnQ6cGFzcw=="},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
    ids=["none", "empty", "unknown", "basic", "huge"],
)
def test_a_call_without_a_valid_token_is_401(client: FlaskClient, org: dict[str, Any],
                                             headers: dict[str, str]) -> None:
    response = client.get("/api/v1/units", headers=headers)

    assert response.status_code == 401
    assert response.get_json() == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_token_authenticates_calls(client: FlaskClient,
                                       auth_headers: Callable[[str], dict[str, str]]) -> None:
    response = client.get("/api/v1/units", headers=auth_headers(AGENT))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_the_bearer_scheme_is_case_insensitive(client: FlaskClient,
                                               api_token: Callable[[str], str]) -> None:
    response = client.get("/api/v1/units",
                          headers={"Authorization": f"bearer {api_token(AGENT)}"})

    assert response.status_code == 200


def test_a_token_in_the_query_string_is_ignored(client: FlaskClient,
                                                api_token: Callable[[str], str]) -> None:
    token = api_token(AGENT)

    response = client.get(f"/api/v1/units?token={token}&access_token={token}")

    assert response.status_code == 401
    assert response.get_json() == UNAUTHORIZED


def test_a_signed_in_session_cookie_does_not_authenticate_the_api(
    client: FlaskClient, org: dict[str, Any], password_of: Callable[[str], str]
) -> None:
    signed_in = client.post("/auth/login", data={"email": AGENT, "password": password_of(AGENT)})
    assert signed_in.status_code == 302
    home = client.get("/")
    assert "/auth/login" not in home.headers.get("Location", "")  # the session is signed in

    response = client.get("/api/v1/units")

    assert response.status_code == 401
    assert response.get_json() == UNAUTHORIZED


def test_an_expired_token_is_401(client: FlaskClient,
                                 auth_headers: Callable[[str], dict[str, str]]) -> None:
    headers = auth_headers(AGENT)
    db.session.execute(sa.update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()

    response = client.get("/api/v1/units", headers=headers)

    assert response.status_code == 401
    assert response.get_json() == UNAUTHORIZED


def test_revoking_the_current_token_is_204_and_the_next_call_is_401(
    client: FlaskClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    headers = auth_headers(AGENT)

    revoked = client.delete("/api/v1/tokens/current", headers=headers)

    assert revoked.status_code == 204
    assert revoked.data == b""
    [row] = token_rows()
    assert row.revoked_at is not None
    assert client.get("/api/v1/units", headers=headers).status_code == 401
    assert client.delete("/api/v1/tokens/current", headers=headers).status_code == 401


def test_revoking_one_token_leaves_the_others_working(
    client: FlaskClient, api_token: Callable[[str], str], password_of: Callable[[str], str]
) -> None:
    first = api_token(AGENT)
    second = client.post(
        "/api/v1/tokens", json={"email": AGENT, "password": password_of(AGENT)}
    ).get_json()["token"]

    client.delete("/api/v1/tokens/current", headers={"Authorization": f"Bearer {first}"})

    assert client.get("/api/v1/units",
                      headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_a_deactivated_user_token_is_401_on_the_next_call(
    client: FlaskClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    headers = auth_headers(AGENT)
    db.session.execute(sa.update(User).where(User.email == AGENT).values(is_active_account=False))
    db.session.commit()

    response = client.get("/api/v1/units", headers=headers)

    assert response.status_code == 401
    assert response.get_json() == UNAUTHORIZED


def test_token_creation_is_rate_limited(client: FlaskClient, org: dict[str, Any],
                                        app: Flask) -> None:
    limit = int(str(app.config.get("API_TOKEN_RATE_LIMIT")
                    or app.config["LOGIN_RATE_LIMIT"]).split()[0])
    statuses = [
        client.post("/api/v1/tokens", json={"email": AGENT, "password": "wrong"}).status_code
        for _ in range(limit + 1)
    ]

    assert statuses == [401] * limit + [429]
    response = client.post("/api/v1/tokens", json={"email": AGENT, "password": "wrong"})
    assert response.status_code == 429
    assert response.get_json()["code"] == 429
    assert "Retry-After" in response.headers


def test_failed_attempts_on_one_email_are_throttled_from_any_address(
    client: FlaskClient, org: dict[str, Any], app: Flask, password_of: Callable[[str], str]
) -> None:
    limit = int(str(app.config.get("API_TOKEN_RATE_LIMIT")
                    or app.config["LOGIN_RATE_LIMIT"]).split()[0])

    def attempt(address: int, password: str, email: str = AGENT) -> int:
        return client.post("/api/v1/tokens", json={"email": email, "password": password},
                           environ_base={"REMOTE_ADDR": f"10.0.0.{address}"}).status_code

    statuses = [attempt(n, "wrong") for n in range(limit)]

    assert statuses == [401] * limit
    assert attempt(200, password_of(AGENT)) == 429
    other = "agent.marseille@example.com"
    assert attempt(201, password_of(other), other) == 201


def test_successful_token_creations_are_not_counted(
    client: FlaskClient, org: dict[str, Any], app: Flask, password_of: Callable[[str], str]
) -> None:
    limit = int(str(app.config.get("API_TOKEN_RATE_LIMIT")
                    or app.config["LOGIN_RATE_LIMIT"]).split()[0])
    emails = [user["email"] for user in org["users"]]

    statuses = [
        client.post("/api/v1/tokens", json={"email": email, "password": password_of(email)})
        .status_code for email in (emails * (limit + 2))[: 2 * limit + 2]
    ]

    assert statuses == [201] * (2 * limit + 2)


def test_failed_attempts_from_one_address_are_throttled_whatever_the_email(
    client: FlaskClient, org: dict[str, Any], app: Flask, password_of: Callable[[str], str]
) -> None:
    limit = int(str(app.config.get("API_TOKEN_RATE_LIMIT")
                    or app.config["LOGIN_RATE_LIMIT"]).split()[0])

    statuses = [client.post("/api/v1/tokens", json={"email": f"nobody-{n}@example.com",
                                                    "password": "wrong"}).status_code
                for n in range(limit)]  # fmt: skip

    assert statuses == [401] * limit
    assert client.post("/api/v1/tokens", json={
        "email": AGENT, "password": password_of(AGENT)}).status_code == 429


def test_the_api_needs_no_csrf_token_even_when_csrf_is_on(
    client: FlaskClient, org: dict[str, Any], password_of: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch, app: Flask,
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)

    response = client.post("/api/v1/tokens", json={"email": AGENT, "password": password_of(AGENT)})

    assert response.status_code == 201


def test_token_events_are_logged_without_the_secrets(
    client: FlaskClient, org: dict[str, Any], password_of: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="irritants.security")
    password = password_of(AGENT)
    token = client.post("/api/v1/tokens",
                        json={"email": AGENT, "password": password}).get_json()["token"]
    client.post("/api/v1/tokens", json={"email": AGENT, "password": "wrong-password"})
    client.get("/api/v1/units", headers={"Authorization": "Bearer forged"})
    client.delete("/api/v1/tokens/current", headers={"Authorization": f"Bearer {token}"})

    events = [record.getMessage() for record in caplog.records
              if record.name == "irritants.security"]
    for name in ("api_token_created", "api_token_creation_failed", "api_token_refused",
                 "api_token_revoked"):
        assert any(f'"event": "{name}"' in line for line in events), name
    assert token not in caplog.text
    assert password not in caplog.text
    assert "wrong-password" not in caplog.text
