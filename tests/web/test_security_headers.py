"""Security headers and cookies on every route (S1) and failure hygiene (S19).

The app runs with ProductionConfig's security settings (cookie names and flags, HSTS)
over https://localhost, anonymous and signed in as each role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from config import ProductionConfig
from irritants.web.hooks import CONTENT_SECURITY_POLICY
from tests.web.conftest import ROLES
from tests.web.test_route_rules import ROUTE_RULES, resolve
from tests.web.test_route_rules import route_context as route_context  # noqa: F401 (fixture)

PRODUCTION_SETTINGS = (
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "REMEMBER_COOKIE_NAME",
    "REMEMBER_COOKIE_SECURE",
    "REMEMBER_COOKIE_HTTPONLY",
    "REMEMBER_COOKIE_SAMESITE",
    "LANGUAGE_COOKIE_NAME",
    "HSTS",
    "PREFERRED_URL_SCHEME",
)
HTTPS = "https://localhost"
HSTS = "max-age=31536000; includeSubDomains"
EXTRA_PATHS = (
    "/auth/login",
    "/healthz",
    "/static/css/app.css",
    "/static/js/app.js",
    "/no-such-page",
    "/api/v1/no-such-thing",
    "/auth/logout",  # 405: GET is not allowed
)


@pytest.fixture
def production_like(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The test app with ProductionConfig's security settings."""
    for name in PRODUCTION_SETTINGS:
        monkeypatch.setitem(app.config, name, getattr(ProductionConfig, name))
    monkeypatch.setitem(app.config, "DEBUG", False)
    return app


def get_paths(app: Flask, context: dict[str, Any]) -> list[str]:
    """Every GET route: the table's pages, the public pages, the API without arguments."""
    paths = [
        resolve(rule, context) for (_e, method), rule in ROUTE_RULES.items() if method == "GET"
    ]
    paths += list(EXTRA_PATHS)
    paths += sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and "GET" in (rule.methods or ()) and not rule.arguments
    )
    return paths


def violations(path: str, response: TestResponse, signed_in: bool) -> list[str]:
    """What is wrong with a response's headers and cookies."""
    headers = response.headers
    found = []
    csp = headers.get("Content-Security-Policy", "")
    # The app's policy, or a stricter one (photos are served with "sandbox; default-src 'none'").
    stricter = "default-src 'none'" in csp
    if not path.startswith("/api/") and csp != CONTENT_SECURITY_POLICY and not stricter:
        found.append(f"CSP {csp!r}")
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        if directive not in csp:
            found.append(f"CSP lacks {directive}")
    expected = {
        "X-Content-Type-Options": {"nosniff"},
        # no-referrer is stricter: pages whose URL holds a secret (set-password links) use it.
        "Referrer-Policy": {"same-origin", "no-referrer"},
        "X-Frame-Options": {"DENY"},
        "Strict-Transport-Security": {HSTS},
    }
    found += [
        f"{name}: {headers.get(name)!r}"
        for name, values in expected.items()
        if headers.get(name) not in values
    ]
    mimetype = response.mimetype or ""
    textual = mimetype.startswith("text/") or mimetype.endswith(("json", "xml", "javascript"))
    if response.data and textual and "charset=utf-8" not in (headers.get("Content-Type") or ""):
        found.append(f"Content-Type {headers.get('Content-Type')!r}")
    if response.data and not mimetype:
        found.append("no Content-Type")
    no_store = "no-store" in headers.get("Cache-Control", "")
    if signed_in and not path.startswith("/static/") and not no_store:
        found.append(f"Cache-Control {headers.get('Cache-Control')!r}")
    if "Access-Control-Allow-Origin" in headers:
        found.append("Access-Control-Allow-Origin")
    for cookie in headers.getlist("Set-Cookie"):
        found += [f"cookie {cookie!r}" for problem in cookie_problems(cookie) if problem]
    return [f"{path} [{response.status_code}] {problem}" for problem in found]


def cookie_problems(cookie: str) -> list[bool]:
    name = cookie.split("=", 1)[0]
    attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
    return [
        not name.startswith("__Host-"),
        "secure" not in attributes,
        "httponly" not in attributes,
        "samesite=lax" not in attributes,
        "path=/" not in attributes,
        any(attribute.startswith("domain=") for attribute in attributes),
    ]


def check_every_route(
    client: FlaskClient, app: Flask, context: dict[str, Any], signed_in: bool
) -> tuple[int, list[str]]:
    problems, checked = [], 0
    for path in get_paths(app, context):
        with client.get(path, base_url=HTTPS) as response:
            checked += 1
            problems += violations(path, response, signed_in)
    return checked, problems


def test_every_get_route_is_safe_for_anonymous_visitors(
    production_like: Flask, client: FlaskClient, route_context: dict[str, Any]
) -> None:
    checked, problems = check_every_route(
        client, production_like, route_context, signed_in=False
    )
    assert problems == []
    assert checked >= len(EXTRA_PATHS)


@pytest.mark.parametrize("role", ROLES)
def test_every_get_route_is_safe_when_signed_in(
    production_like: Flask,
    client: FlaskClient,
    org: Any,
    password_of: Callable[[str], str],
    route_context: dict[str, Any],
    role: str,
) -> None:
    from tests.web.conftest import email_of

    email = email_of(role)
    signed = client.post(
        "/auth/login", data={"email": email, "password": password_of(email)}, base_url=HTTPS
    )
    assert signed.status_code == 302
    problems = violations("/auth/login", signed, signed_in=True)
    assert client.get_cookie("__Host-irritants_session") is not None
    checked, more = check_every_route(client, production_like, route_context, signed_in=True)
    assert problems + more == []
    assert checked >= len(EXTRA_PATHS)


def test_the_language_cookie_is_secure_too(production_like: Flask, client: FlaskClient) -> None:
    response = client.post("/auth/language", data={"lang": "en"}, base_url=HTTPS)
    cookies = response.headers.getlist("Set-Cookie")
    assert [cookie.split("=")[0] for cookie in cookies if "lang" in cookie] == ["__Host-lang"]
    assert violations("/auth/language", response, signed_in=False) == []


def test_development_serves_no_hsts(client: FlaskClient) -> None:
    response = client.get("/auth/login")
    assert "Strict-Transport-Security" not in response.headers
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_every_response_carries_a_request_id(client: FlaskClient) -> None:
    first = client.get("/auth/login").headers["X-Request-ID"]
    second = client.get("/auth/login").headers["X-Request-ID"]
    assert len(first) == 16
    assert first != second
    given = client.get("/auth/login", headers={"X-Request-ID": "lb-1234.abc"})
    assert given.headers["X-Request-ID"] == "lb-1234.abc"
    odd = client.get("/auth/login", headers={"X-Request-ID": "x y<script>"})
    assert len(odd.headers["X-Request-ID"]) == 16


# Failure hygiene (S19)


def test_an_unexpected_error_shows_a_generic_page(
    app: Flask,
    login_as: Callable[..., FlaskClient],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import irritants.web.main.views as main_views

    def broken(role: str) -> str:
        raise RuntimeError("SELECT password_hash FROM user -- secret detail")

    client = login_as("agent")
    monkeypatch.setattr(main_views, "home_endpoint_for", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Une erreur s’est produite" in html
    assert "secret detail" not in html
    assert "Traceback" not in html
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "secret detail" in caplog.text  # in the log, for the operators


def test_api_errors_are_json_without_details(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from irritants.extensions import api

    # The API's error shape, in the call's language, even for a path it does not have.
    missing = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en"})
    assert (missing.status_code, missing.get_json()) == (
        404, {"code": 404, "status": "Not Found", "message": "Not found."})
    assert missing.headers["Content-Type"] == "application/json; charset=utf-8"
    wrong_method = client.delete("/api/v1/openapi.json")
    assert (wrong_method.status_code, wrong_method.get_json()) == (
        405, {"code": 405, "status": "Method Not Allowed",
              "message": "Cette méthode n’est pas permise sur cette ressource."})
    assert "GET" in wrong_method.headers["Allow"]

    def broken() -> dict[str, Any]:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(api.spec, "to_dict", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    failed = client.get("/api/v1/openapi.json")
    assert (failed.status_code, failed.get_json()) == (
        500, {"code": 500, "status": "Internal Server Error",
              "message": "Une erreur inattendue s’est produite."})


def test_pages_that_do_not_exist_get_the_404_page(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_a_request_too_large_gets_the_413_page(app: Flask, client: FlaskClient) -> None:
    body = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(
        "/auth/login", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert "trop volumineux" in response.get_data(as_text=True)


def test_production_runs_without_debug_and_with_secure_cookies() -> None:
    assert not getattr(ProductionConfig, "DEBUG", False)
    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.SESSION_COOKIE_HTTPONLY is True
    assert ProductionConfig.SESSION_COOKIE_SAMESITE == "Lax"
    assert ProductionConfig.SESSION_COOKIE_NAME.startswith("__Host-")
    assert ProductionConfig.LANGUAGE_COOKIE_NAME.startswith("__Host-")
    assert ProductionConfig.HSTS == HSTS


def test_production_refuses_to_start_without_a_secret_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from config import config_from_environment

    monkeypatch.setenv("IRRITANTS_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config_from_environment()
