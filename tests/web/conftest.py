"""Page-test fixtures: `login_as` signs in through the real sign-in form."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

# One user of the small org (tests/fixtures/org-small.json) per role.
ROLE_EMAILS = {
    "agent": "agent.lille@example.com",
    "lead": "lead.lille@example.com",
    "director": "director@example.com",
    "admin": "admin@example.com",
}
ROLES = tuple(ROLE_EMAILS)
_CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def email_of(email_or_role: str) -> str:
    """The email of a role's test user, or the email itself."""
    return ROLE_EMAILS.get(email_or_role, email_or_role)


def csrf_token_of(client: FlaskClient, path: str = "/auth/login") -> str:
    """A CSRF token of the client's session, read from a page's form."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF_INPUT.search(html)
    assert match, f"no csrf_token input on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str, **extra: str) -> Any:
    """POST the sign-in form (with a CSRF token when CSRF is on)."""
    data = {"email": email, "password": password, **extra}
    app: Flask = client.application
    if app.config.get("WTF_CSRF_ENABLED", True):
        data["csrf_token"] = csrf_token_of(client)
    return client.post("/auth/login", data=data)


@pytest.fixture
def login_as(
    app: Flask, client: FlaskClient, org: dict[str, Any], password_of: Callable[[str], str]
) -> Callable[..., FlaskClient]:
    """Sign in as a role ("agent", "lead", "director", "admin") or a user of the small org.

    `login_as("lead")` signs the `client` fixture in; `login_as("agent", app.test_client())`
    signs in another client, for tests that need two sessions.
    """

    def login(email_or_role: str, on: FlaskClient | None = None) -> FlaskClient:
        target = on or client
        email = email_of(email_or_role)
        response = sign_in(target, email, password_of(email))
        assert response.status_code == 302, f"sign-in as {email} failed: {response.status}"
        return target

    return login
