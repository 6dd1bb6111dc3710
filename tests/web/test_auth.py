"""Signing in and out, passwords and their policy, brute-force throttling (S7, S10, S18)."""

from __future__ import annotations

import json
import re
import time
import types
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from config import Config
from irritants.models import User
from irritants.services import accounts
from tests.web.conftest import sign_in

AGENT = "agent.lille@example.com"
OFF_SITE_TARGETS = [
    "//evil.example",
    "https://evil.example",
    "http://evil.example/path",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "/%252F%252Fevil.example",
    "/%5Cevil.example",
    "https:evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    " //evil.example",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
]


def user(db: Any, email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def without_tokens(html: str) -> str:
    """The page without its CSRF tokens (signed with a timestamp)."""
    return re.sub(r'value="[^"]*\.[^"]*\.[^"]*"', 'value="TOKEN"', html)


def change_password(client: FlaskClient, current: str, new: str, confirm: str | None = None) -> Any:
    return client.post(
        "/auth/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


# Signing in


def test_the_sign_in_page_is_in_french_for_a_browser_without_preference(
    client: FlaskClient,
) -> None:
    response = client.get("/auth/login")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="fr"' in html
    assert "<h1>Se connecter</h1>" in html
    assert 'autocomplete="current-password"' in html


def test_the_right_password_signs_in_and_goes_home(
    client: FlaskClient, org: Any, password_of: Callable[[str], str], db: Any
) -> None:
    response = sign_in(client, AGENT, password_of(AGENT))
    assert (response.status_code, response.location) == (302, "/")
    assert client.get("/auth/account").status_code == 200
    assert user(db, AGENT).last_login_at is not None


def test_the_email_is_matched_whatever_its_case_and_surrounding_spaces(
    client: FlaskClient, org: Any, password_of: Callable[[str], str]
) -> None:
    response = sign_in(client, "  Agent.LILLE@Example.com ", password_of(AGENT))
    assert response.status_code == 302


def test_a_wrong_password_is_refused_with_a_message(
    client: FlaskClient, org: Any
) -> None:
    response = sign_in(client, AGENT, "not-the-password")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "L’adresse e-mail ou le mot de passe est incorrect." in html
    assert client.get("/auth/account").status_code == 302


def test_unknown_email_and_wrong_password_get_the_same_answer(
    client: FlaskClient, org: Any
) -> None:
    known = sign_in(client, AGENT, "not-the-password")
    unknown = sign_in(client, "nobody@example.com", "not-the-password")
    assert known.status_code == unknown.status_code == 422
    assert without_tokens(known.get_data(as_text=True).replace(AGENT, "EMAIL")) == (
        without_tokens(unknown.get_data(as_text=True).replace("nobody@example.com", "EMAIL"))
    )


def test_a_deactivated_account_gets_the_same_answer_as_a_wrong_password(
    client: FlaskClient, org: Any, password_of: Callable[[str], str], db: Any
) -> None:
    user(db, AGENT).is_active_account = False
    db.session.commit()
    response = sign_in(client, AGENT, password_of(AGENT))
    assert response.status_code == 422
    assert "incorrect" in response.get_data(as_text=True)


def test_empty_fields_are_refused_with_a_message_per_field(
    client: FlaskClient, org: Any
) -> None:
    response = client.post("/auth/login", data={"email": "", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Saisissez votre adresse e-mail." in html
    assert "Saisissez votre mot de passe." in html
    assert 'aria-describedby="email-errors"' in html


def test_a_signed_in_user_opening_sign_in_goes_home(
    login_as: Callable[..., FlaskClient],
) -> None:
    client = login_as("agent")
    response = client.get("/auth/login")
    assert (response.status_code, response.location) == (302, "/")


def test_home_sends_anonymous_visitors_to_sign_in_with_the_page_to_come_back_to(
    client: FlaskClient,
) -> None:
    response = client.get("/auth/account?tab=password")
    assert response.status_code == 302
    assert response.location == "/auth/login?next=/auth/account?tab%3Dpassword"


# S10: redirects after sign-in stay on this site


def test_sign_in_follows_a_path_on_this_site(
    client: FlaskClient, org: Any, password_of: Callable[[str], str]
) -> None:
    response = sign_in(client, AGENT, password_of(AGENT), next="/auth/account?x=1")
    assert (response.status_code, response.location) == (302, "/auth/account?x=1")


@pytest.mark.parametrize("target", OFF_SITE_TARGETS)
def test_sign_in_never_redirects_off_site(
    client: FlaskClient, org: Any, password_of: Callable[[str], str], target: str
) -> None:
    response = sign_in(client, AGENT, password_of(AGENT), next=target)
    assert (response.status_code, response.location) == (302, "/")


@pytest.mark.parametrize("target", OFF_SITE_TARGETS)
def test_a_signed_in_user_with_an_off_site_next_goes_home(
    login_as: Callable[..., FlaskClient], target: str
) -> None:
    client = login_as("agent")
    response = client.get("/auth/login", query_string={"next": target})
    assert (response.status_code, response.location) == (302, "/")


@pytest.mark.parametrize("target", OFF_SITE_TARGETS)
def test_sign_out_and_the_language_switch_never_redirect_off_site(
    login_as: Callable[..., FlaskClient], target: str
) -> None:
    client = login_as("agent")
    language = client.post("/auth/language", data={"lang": "en", "next": target})
    assert (language.status_code, language.location) == (302, "/")
    logout = client.post("/auth/logout", data={"next": target}, query_string={"next": target})
    assert (logout.status_code, logout.location) == (302, "/auth/login")


def test_the_target_check_accepts_paths_with_queries_and_refuses_everything_else() -> None:
    from irritants.web.redirects import is_safe_target

    assert is_safe_target("/queue?page=2&sort=due")
    assert is_safe_target("/irritants/17#events")
    assert not any(is_safe_target(target) for target in OFF_SITE_TARGETS)
    assert not is_safe_target(None)
    assert not is_safe_target("")
    assert not is_safe_target("/" + "a" * 3000)


# S18: security log lines


def security_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        json.loads(message.removeprefix("security "))
        for message in caplog.messages
        if message.startswith("security ")
    ]


def test_sign_ins_and_failures_are_logged_without_the_password(
    client: FlaskClient,
    org: Any,
    password_of: Callable[[str], str],
    db: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="irritants.security")
    client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    sign_in(client, AGENT, "wrong-Secret-123")
    sign_in(client, AGENT, password_of(AGENT))
    lines = security_lines(caplog)
    assert [(line["event"], line["actor"]) for line in lines] == [
        ("login_failed", None),
        ("login_succeeded", user(db, AGENT).id),
    ]
    assert lines[0]["email"] == AGENT
    assert {line["ip"] for line in lines} == {"198.51.100.7"}
    assert all(line["at"].endswith("Z") and line["request_id"] for line in lines)
    assert "wrong-Secret-123" not in caplog.text
    assert password_of(AGENT) not in caplog.text


def test_a_newline_in_the_email_cannot_forge_a_log_line(
    client: FlaskClient, org: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="irritants.security")
    forged = 'x@example.com\r\nsecurity {"event": "login_succeeded", "actor": 1}'
    sign_in(client, forged, "whatever-password")
    assert len(caplog.records) == len(caplog.text.strip().splitlines())
    assert [line["event"] for line in security_lines(caplog)] == ["login_failed"]


# Passwords (S7)


def test_a_64_character_password_is_kept_whole(
    login_as: Callable[..., FlaskClient], password_of: Callable[[str], str], app: Flask
) -> None:
    client = login_as("agent")
    long_password = "correct horse battery staple, then some more words to reach 64 c"
    assert len(long_password) == 64
    assert change_password(client, password_of(AGENT), long_password).status_code == 302
    fresh = app.test_client()
    assert sign_in(fresh, AGENT, long_password[:63]).status_code == 422
    assert sign_in(fresh, AGENT, long_password).status_code == 302


def test_a_unicode_password_is_checked_exactly_as_typed(
    login_as: Callable[..., FlaskClient], password_of: Callable[[str], str], app: Flask
) -> None:
    client = login_as("agent")
    password = "Crème brûlée ☕ 東京 ñandú"
    assert change_password(client, password_of(AGENT), password).status_code == 302
    fresh = app.test_client()
    assert sign_in(fresh, AGENT, password.upper()).status_code == 422
    assert sign_in(fresh, AGENT, unicodedata.normalize("NFD", password)).status_code == 422
    assert sign_in(fresh, AGENT, password + " ").status_code == 422
    assert sign_in(fresh, AGENT, password).status_code == 302


@pytest.mark.parametrize(
    "password", ["password1", "Password1", "iloveyou", "azertyuiop", "12345678", "sunshine"]
)
def test_common_passwords_are_refused(
    login_as: Callable[..., FlaskClient],
    password_of: Callable[[str], str],
    db: Any,
    password: str,
) -> None:
    client = login_as("agent")
    before = user(db, AGENT).password_hash
    response = change_password(client, password_of(AGENT), password)
    assert response.status_code == 422
    assert "trop courant" in response.get_data(as_text=True)
    db.session.expire_all()
    assert user(db, AGENT).password_hash == before


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("seven77", "Utilisez au moins 8 caractères."),
        ("x" * 129, "Utilisez au plus 128 caractères."),
        ("agent.lille", "trop courant"),
    ],
)
def test_the_policy_refuses_short_long_and_guessable_passwords(
    login_as: Callable[..., FlaskClient],
    password_of: Callable[[str], str],
    password: str,
    message: str,
) -> None:
    client = login_as("agent")
    response = change_password(client, password_of(AGENT), password)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_no_composition_rule_applies(
    login_as: Callable[..., FlaskClient], password_of: Callable[[str], str]
) -> None:
    client = login_as("agent")
    response = change_password(client, password_of(AGENT), "les chaussettes de l'archiduchesse")
    assert response.status_code == 302


def test_changing_the_password_needs_the_current_one(
    login_as: Callable[..., FlaskClient], db: Any
) -> None:
    client = login_as("agent")
    before = user(db, AGENT).password_hash
    response = change_password(client, "not-my-password", "a brand new passphrase")
    assert response.status_code == 422
    assert "Votre mot de passe actuel est incorrect." in response.get_data(as_text=True)
    db.session.expire_all()
    assert user(db, AGENT).password_hash == before


def test_the_confirmation_must_match(
    login_as: Callable[..., FlaskClient], password_of: Callable[[str], str], db: Any
) -> None:
    client = login_as("agent")
    response = change_password(
        client, password_of(AGENT), "a brand new passphrase", "a brand new passphrasE"
    )
    assert response.status_code == 422
    assert "Les deux nouveaux mots de passe sont différents." in response.get_data(as_text=True)


def test_the_bundled_list_holds_at_least_3000_common_passwords() -> None:
    common = accounts.common_passwords()
    assert len(common) >= 3000
    assert {"password", "123456", "qwerty", "azerty123", "motdepasse"} <= common


def test_hashes_are_argon2id_with_the_production_cost(app: Flask, monkeypatch: Any) -> None:
    for name in ("ARGON2_TIME_COST", "ARGON2_MEMORY_COST", "ARGON2_PARALLELISM"):
        monkeypatch.setitem(app.config, name, getattr(Config, name))
    with app.app_context():
        started = time.perf_counter()
        hashed = accounts.hash_password("a passphrase")
        elapsed = time.perf_counter() - started
        assert accounts.verify_password(hashed, "a passphrase")
        assert not accounts.verify_password(hashed, "a passphrasE")
    # RFC 9106 second recommended option: 64 MiB, 3 passes, 4 lanes.
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    print(f"argon2id production cost: {elapsed * 1000:.0f} ms per hash")


def test_a_hash_with_old_parameters_is_upgraded_at_sign_in(
    client: FlaskClient, org: Any, password_of: Callable[[str], str], db: Any, app: Flask,
    monkeypatch: Any,
) -> None:
    monkeypatch.setitem(app.config, "ARGON2_TIME_COST", 2)
    assert sign_in(client, AGENT, password_of(AGENT)).status_code == 302
    db.session.expire_all()
    assert ",t=2," in (user(db, AGENT).password_hash or "")


# Brute force (S7): failed sign-ins are throttled per IP and per email, for a while only


@pytest.fixture
def clock(monkeypatch: Any) -> Iterator[types.SimpleNamespace]:
    """Move the rate limiter's clock forward: `clock.advance(seconds)`."""
    import limits.storage.memory
    import limits.strategies

    state = types.SimpleNamespace(offset=0.0)
    fake_time = types.SimpleNamespace(time=lambda: time.time() + state.offset)
    monkeypatch.setattr(limits.storage.memory, "time", fake_time)
    monkeypatch.setattr(limits.strategies, "time", fake_time)
    state.advance = lambda seconds: setattr(state, "offset", state.offset + seconds)
    return state


def attempts(client: FlaskClient, email: str, count: int, ip: str) -> list[int]:
    client.environ_base["REMOTE_ADDR"] = ip
    return [sign_in(client, email, f"guess-{n}").status_code for n in range(count)]


def test_failed_sign_ins_are_throttled_from_the_eleventh_attempt(
    client: FlaskClient, org: Any, password_of: Callable[[str], str]
) -> None:
    assert attempts(client, AGENT, 10, "192.0.2.1") == [422] * 10
    response = sign_in(client, AGENT, password_of(AGENT))
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert "Trop de tentatives" in html
    assert "vous pourrez réessayer dans" in html
    assert client.get("/auth/account").status_code == 302


def test_the_throttle_counts_per_email_whatever_the_ip(
    client: FlaskClient, org: Any, password_of: Callable[[str], str], app: Flask
) -> None:
    for n in range(10):
        attempts(client, AGENT, 1, f"192.0.2.{n + 1}")
    other_ip = app.test_client()
    other_ip.environ_base["REMOTE_ADDR"] = "203.0.113.50"
    assert sign_in(other_ip, AGENT, password_of(AGENT)).status_code == 429
    director = "director@example.com"
    assert sign_in(other_ip, director, password_of(director)).status_code == 302


def test_the_throttle_counts_per_ip_whatever_the_email(
    client: FlaskClient, org: Any, password_of: Callable[[str], str], app: Flask
) -> None:
    for n in range(10):
        attempts(client, f"unknown-{n}@example.com", 1, "192.0.2.99")
    assert sign_in(client, AGENT, password_of(AGENT)).status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.51"
    assert sign_in(elsewhere, AGENT, password_of(AGENT)).status_code == 302


def test_successful_sign_ins_are_not_counted(
    org: Any, password_of: Callable[[str], str], app: Flask
) -> None:
    statuses = [
        sign_in(app.test_client(), AGENT, password_of(AGENT)).status_code for _ in range(12)
    ]
    assert statuses == [302] * 12


def test_the_real_user_gets_in_again_once_the_window_has_passed(
    client: FlaskClient, org: Any, password_of: Callable[[str], str], clock: Any
) -> None:
    attempts(client, AGENT, 10, "192.0.2.1")
    assert sign_in(client, AGENT, password_of(AGENT)).status_code == 429
    clock.advance(61)
    assert sign_in(client, AGENT, password_of(AGENT)).status_code == 302


# Sign-out (sessions: tests/web/test_sessions.py)


def test_sign_out_is_a_post(login_as: Callable[..., FlaskClient]) -> None:
    client = login_as("agent")
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/auth/account").status_code == 200


def test_sign_out_goes_to_the_sign_in_page_with_a_message(
    login_as: Callable[..., FlaskClient],
) -> None:
    client = login_as("agent")
    response = client.post("/auth/logout", follow_redirects=True)
    assert response.request.path == "/auth/login"
    assert "Vous êtes déconnecté." in response.get_data(as_text=True)
