"""A lost database connection is a clean 503 whatever the driver calls it; other database
errors stay 500s (reliability.md R7: during a PostgreSQL restart every answer is a 503)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from tests.api.conftest import Headers

DIRECTOR = "director@example.com"
UNAVAILABLE = {"code": 503, "status": "Service Unavailable",
               "message": "The service is temporarily unavailable; try again in a few seconds."}


def _failing_list(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    from irritants.services import queues

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(queues, "visible_irritants", failing)


@pytest.mark.parametrize("error", [
    OperationalError("SELECT 1", {}, ConnectionError("connection refused")),
    InterfaceError("SELECT 1", {}, ConnectionError("the connection is closed")),
    DBAPIError("SELECT 1", {}, ConnectionError("server closed the connection unexpectedly"),
               connection_invalidated=True),
], ids=["operational", "interface", "invalidated"])
def test_a_lost_connection_is_a_503_with_retry_after(
    client: FlaskClient, auth_headers: Headers, monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    headers = {**auth_headers(DIRECTOR), "Accept-Language": "en"}
    _failing_list(monkeypatch, error)

    response = client.get("/api/v1/irritants", headers=headers)

    assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
    assert response.get_json() == UNAVAILABLE


def test_a_constraint_error_is_not_mistaken_for_an_outage(
    app: Flask, client: FlaskClient, auth_headers: Headers, monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = {**auth_headers(DIRECTOR), "Accept-Language": "en"}
    _failing_list(monkeypatch, IntegrityError("INSERT INTO irritant", {},
                                              ValueError("duplicate key")))
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    response = client.get("/api/v1/irritants", headers=headers)

    assert response.status_code == 500
    assert response.get_json() == {"code": 500, "status": "Internal Server Error",
                                   "message": "An unexpected error occurred."}
    assert b"duplicate key" not in response.data
