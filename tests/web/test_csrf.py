"""CSRF (S6): every form POST needs its session's token; no state changes on GET; no CORS."""

from __future__ import annotations

import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import itsdangerous.timed
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from irritants.models import User
from tests.web.conftest import csrf_token_of, sign_in
from tests.web.test_route_rules import EXEMPT, ROUTE_RULES, resolve
from tests.web.test_route_rules import route_context as route_context  # noqa: F401 (fixture)

AGENT = "agent.lille@example.com"


@pytest.fixture
def csrf_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """CSRF protection as in production (TestConfig turns it off)."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    return app


@pytest.fixture
def agent_client(
    csrf_on: Flask, org: Any, password_of: Callable[[str], str]
) -> FlaskClient:
    client = csrf_on.test_client()
    assert sign_in(client, AGENT, password_of(AGENT)).status_code == 302
    return client


def stored_hash(db: Any) -> str | None:
    db.session.expire_all()
    return db.session.scalars(select(User.password_hash).where(User.email == AGENT)).one()


def password_form(password_of: Callable[[str], str], **extra: str) -> dict[str, str]:
    return {
        "current_password": password_of(AGENT),
        "new_password": "a brand new passphrase",
        "confirm_password": "a brand new passphrase",
        **extra,
    }


def test_sign_in_without_a_token_is_refused(
    csrf_on: Flask, client: FlaskClient, org: Any, password_of: Callable[[str], str]
) -> None:
    response = client.post("/auth/login", data={"email": AGENT, "password": password_of(AGENT)})
    assert response.status_code == 400
    assert "Demande refusée" in response.get_data(as_text=True)
    assert client.get("/auth/account").status_code == 302


def test_sign_in_with_its_token_works(
    csrf_on: Flask, client: FlaskClient, org: Any, password_of: Callable[[str], str]
) -> None:
    assert sign_in(client, AGENT, password_of(AGENT)).status_code == 302


def test_a_password_change_without_a_token_changes_nothing(
    agent_client: FlaskClient, password_of: Callable[[str], str], db: Any
) -> None:
    before = stored_hash(db)
    response = agent_client.post("/auth/account/password", data=password_form(password_of))
    assert response.status_code == 400
    assert stored_hash(db) == before


def test_a_password_change_with_another_sessions_token_changes_nothing(
    csrf_on: Flask, agent_client: FlaskClient, password_of: Callable[[str], str], db: Any
) -> None:
    attacker = csrf_on.test_client()
    foreign_token = csrf_token_of(attacker)
    before = stored_hash(db)
    response = agent_client.post(
        "/auth/account/password", data=password_form(password_of, csrf_token=foreign_token)
    )
    assert response.status_code == 400
    assert stored_hash(db) == before


def test_a_password_change_with_an_expired_token_changes_nothing(
    agent_client: FlaskClient,
    password_of: Callable[[str], str],
    db: Any,
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = csrf_token_of(agent_client, "/auth/account")
    before = stored_hash(db)
    limit = app.config["WTF_CSRF_TIME_LIMIT"]
    later = types.SimpleNamespace(time=lambda: time.time() + limit + 60)
    monkeypatch.setattr(itsdangerous.timed, "time", later)
    response = agent_client.post(
        "/auth/account/password", data=password_form(password_of, csrf_token=token)
    )
    assert response.status_code == 400
    assert stored_hash(db) == before


def test_a_password_change_with_its_token_works(
    agent_client: FlaskClient, password_of: Callable[[str], str], db: Any
) -> None:
    before = stored_hash(db)
    token = csrf_token_of(agent_client, "/auth/account")
    response = agent_client.post(
        "/auth/account/password", data=password_form(password_of, csrf_token=token)
    )
    assert response.status_code == 302
    assert stored_hash(db) != before


def test_sign_out_without_a_token_does_not_sign_out(agent_client: FlaskClient) -> None:
    assert agent_client.post("/auth/logout").status_code == 400
    assert agent_client.get("/auth/account").status_code == 200


def test_the_language_switch_without_a_token_changes_nothing(
    agent_client: FlaskClient, db: Any
) -> None:
    response = agent_client.post("/auth/language", data={"lang": "en"})
    assert response.status_code == 400
    assert "lang" not in (response.headers.get("Set-Cookie") or "")
    db.session.expire_all()
    assert db.session.scalars(select(User.locale).where(User.email == AGENT)).one() is None


def test_every_page_form_refuses_a_post_without_a_token(
    csrf_on: Flask, agent_client: FlaskClient, route_context: dict[str, Any]
) -> None:
    posts = [(key, rule) for key, rule in sorted(ROUTE_RULES.items()) if key[1] == "POST"]
    posts += [((endpoint, "POST"), None) for endpoint in sorted(EXEMPT)]
    statuses = {}
    for (endpoint, _method), rule in posts:
        if rule is None:
            path = next(
                (path for e, method, path in _all_routes(csrf_on) if e == endpoint
                 and method == "POST"), None
            )
            if path is None:
                continue
        else:
            path = resolve(rule, route_context)
        statuses[endpoint] = agent_client.post(path, data={"anything": "x"}).status_code
    assert statuses
    assert set(statuses.values()) == {400}, statuses
    assert agent_client.get("/auth/account").status_code == 200


def _all_routes(app: Flask) -> list[tuple[str, str, str]]:
    return [
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
    ]


def database_rows(db: Any) -> dict[str, list[str]]:
    """Every row of every table, to compare before and after."""
    db.session.expire_all()
    return {
        table.name: sorted(repr(tuple(row)) for row in db.session.execute(table.select()))
        for table in db.metadata.sorted_tables
    }


@pytest.mark.parametrize("role", ["agent", "lead", "director", "admin"])
def test_no_page_changes_anything_on_get(
    app: Flask,
    db: Any,
    login_as: Callable[..., FlaskClient],
    route_context: dict[str, Any],
    role: str,
) -> None:
    client = login_as(role)
    gets = [rule for (_e, method), rule in sorted(ROUTE_RULES.items()) if method == "GET"]
    before = database_rows(db)
    statuses = [client.get(resolve(rule, route_context)).status_code for rule in gets]
    assert database_rows(db) == before
    assert len(statuses) == len(gets)
    assert 500 not in statuses


def test_a_foreign_origin_gets_no_cors_permission(client: FlaskClient) -> None:
    for path in ("/auth/login", "/api/v1/openapi.json", "/healthz"):
        response = client.get(path, headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Credentials" not in response.headers
    preflight = client.options(
        "/auth/login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_the_api_ignores_the_session_cookie(
    login_as: Callable[..., FlaskClient],
) -> None:
    client = login_as("agent")
    response = client.get("/api/v1/irritants")
    assert response.status_code == 401
