"""Session lifecycle (S8): fixation, revocation, idle and absolute timeouts."""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from typing import Any

import itsdangerous.timed
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from irritants.models import User
from irritants.services import accounts
from tests.web.conftest import sign_in

AGENT = "agent.lille@example.com"
SESSION_COOKIE = "irritants_session"


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(app: Flask, cookie_value: str) -> FlaskClient:
    """A new browser holding a copy of someone's session cookie."""
    thief = app.test_client()
    thief.set_cookie(SESSION_COOKIE, cookie_value)
    return thief


def is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/auth/account")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def agent(db: Any) -> User:
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.email == AGENT)).one()


def test_signing_in_starts_a_new_session(
    client: FlaskClient, org: Any, password_of: Callable[[str], str]
) -> None:
    client.get("/auth/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = session_cookie(client)
    sign_in(client, AGENT, password_of(AGENT))
    assert session_cookie(client) != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].endswith(":1")
        assert session["_fresh"] is True
        assert session.permanent is True


def test_a_cookie_replayed_after_sign_out_is_anonymous(
    app: Flask, login_as: Callable[..., FlaskClient]
) -> None:
    client = login_as("agent")
    stolen = session_cookie(client)
    assert is_signed_in(replay(app, stolen))
    client.post("/auth/logout")
    assert not is_signed_in(replay(app, stolen))
    assert not is_signed_in(client)


def test_signing_out_ends_the_other_sessions_of_the_user_too(
    app: Flask, login_as: Callable[..., FlaskClient]
) -> None:
    phone = login_as("agent", app.test_client())
    desk = login_as("agent", app.test_client())
    desk.post("/auth/logout")
    assert not is_signed_in(phone)


def test_a_password_change_keeps_this_session_and_ends_the_others(
    app: Flask, login_as: Callable[..., FlaskClient], password_of: Callable[[str], str]
) -> None:
    phone = login_as("agent", app.test_client())
    desk = login_as("agent", app.test_client())
    stolen = session_cookie(desk)
    response = desk.post(
        "/auth/account/password",
        data={
            "current_password": password_of(AGENT),
            "new_password": "a brand new passphrase",
            "confirm_password": "a brand new passphrase",
        },
        follow_redirects=True,
    )
    assert response.request.path == "/auth/account"
    assert "Vos autres sessions sont déconnectées." in response.get_data(as_text=True)
    assert is_signed_in(desk)
    assert not is_signed_in(phone)
    assert not is_signed_in(replay(app, stolen))


def test_a_refused_password_change_ends_no_session(
    app: Flask, login_as: Callable[..., FlaskClient], db: Any
) -> None:
    phone = login_as("agent", app.test_client())
    desk = login_as("agent", app.test_client())
    desk.post(
        "/auth/account/password",
        data={"current_password": "wrong", "new_password": "x" * 20, "confirm_password": "x" * 20},
    )
    assert is_signed_in(phone)
    assert agent(db).session_version == 1


def test_deactivating_a_user_ends_their_sessions(
    app: Flask, login_as: Callable[..., FlaskClient], db: Any
) -> None:
    client = login_as("agent")
    user = agent(db)
    user.is_active_account = False
    db.session.commit()
    assert not is_signed_in(client)


def test_revoking_the_sessions_of_a_user_ends_them(
    app: Flask, login_as: Callable[..., FlaskClient], db: Any
) -> None:
    client = login_as("agent")
    accounts.revoke_sessions(agent(db))
    assert not is_signed_in(client)


def test_a_session_older_than_the_absolute_lifetime_is_refused(
    app: Flask, login_as: Callable[..., FlaskClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = login_as("agent")
    lifetime = app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()
    with client.session_transaction() as session:
        session["login_at"] = int(time.time() - lifetime + 60)
    assert is_signed_in(client)
    with client.session_transaction() as session:
        session["login_at"] = int(time.time() - lifetime - 1)
    caplog.set_level("INFO", logger="irritants.security")
    response = client.get("/auth/account", follow_redirects=True)
    assert response.request.path == "/auth/login"
    assert "Votre session a expiré" in response.get_data(as_text=True)
    assert '"event": "session_expired"' in caplog.text
    assert not is_signed_in(client)


@pytest.mark.parametrize("login_at", [None, "yesterday", 4102444800])
def test_a_session_without_a_valid_sign_in_time_is_refused(
    login_as: Callable[..., FlaskClient], login_at: Any
) -> None:
    client = login_as("agent")
    with client.session_transaction() as session:
        if login_at is None:
            del session["login_at"]
        else:
            session["login_at"] = login_at
    assert not is_signed_in(client)


def test_an_idle_session_expires(
    app: Flask, login_as: Callable[..., FlaskClient], monkeypatch: Any
) -> None:
    client = login_as("agent")
    idle = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    later = types.SimpleNamespace(time=lambda: time.time() + idle - 60)
    monkeypatch.setattr(itsdangerous.timed, "time", later)
    assert is_signed_in(client)  # still active: and the cookie is signed again now
    much_later = types.SimpleNamespace(time=lambda: time.time() + 2 * idle)
    monkeypatch.setattr(itsdangerous.timed, "time", much_later)
    assert not is_signed_in(client)


def test_the_session_cookie_expires_with_the_idle_timeout(
    app: Flask, client: FlaskClient, org: Any, password_of: Callable[[str], str]
) -> None:
    response = sign_in(client, AGENT, password_of(AGENT))
    cookie = next(
        value for value in response.headers.getlist("Set-Cookie")
        if value.startswith(SESSION_COOKIE + "=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Expires=" in cookie
    assert not any(
        value.startswith(app.config.get("REMEMBER_COOKIE_NAME", "remember_token") + "=")
        for value in response.headers.getlist("Set-Cookie")
    )
