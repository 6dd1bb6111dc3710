"""API fixtures: tokens of the small org's users, auth headers, row counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from irritants.extensions import db as _db

Headers = dict[str, str]


@pytest.fixture
def api_token(client: FlaskClient, org: dict[str, Any],
              password_of: Callable[[str], str]) -> Callable[[str], str]:
    """A bearer token for a user of the small org (POST /api/v1/tokens), one per email."""
    tokens: dict[str, str] = {}

    def token_for(email: str) -> str:
        if email not in tokens:
            response = client.post(
                "/api/v1/tokens", json={"email": email, "password": password_of(email)}
            )
            assert response.status_code == 201, response.get_json()
            tokens[email] = response.get_json()["token"]
        return tokens[email]

    return token_for


@pytest.fixture
def auth_headers(api_token: Callable[[str], str]) -> Callable[[str], Headers]:
    """`Authorization: Bearer ...` headers for a user of the small org."""

    def headers_for(email: str) -> Headers:
        return {"Authorization": f"Bearer {api_token(email)}"}

    return headers_for


@pytest.fixture
def count_rows() -> Callable[[Any], int]:
    """The number of rows of a model's table."""

    def count(model: Any) -> int:
        _db.session.rollback()
        return _db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0

    return count


@pytest.fixture
def log_via_api(client: FlaskClient,
                auth_headers: Callable[[str], Headers]) -> Callable[..., dict[str, Any]]:
    """Log an irritant through the API as `email`; the 201 answer's body."""

    def log(email: str, **fields: Any) -> dict[str, Any]:
        body = {"category": "late-delivery", "severity": "high",
                "description": "Parcel two weeks late", **fields}
        response = client.post("/api/v1/irritants", json=body, headers=auth_headers(email))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return log
