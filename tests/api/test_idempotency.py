"""`Idempotency-Key` on POST /api/v1/irritants: the same key from the same user within 24 hours
returns the first answer and creates nothing new (api.md)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from irritants.extensions import db
from irritants.models import IdempotencyRecord, Irritant, IrritantEvent, User, utcnow

AGENT = "agent.lille@example.com"
OTHER = "agent.marseille@example.com"
Headers = Callable[[str], dict[str, str]]
BODY = {"category": "rude-service", "severity": "low", "description": "Rude at the till"}


def count(model: Any) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def post(client: FlaskClient, headers: dict[str, str], key: str | None,
         body: dict[str, Any] = BODY) -> Any:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/api/v1/irritants", json=body, headers={**headers, **extra})


def test_the_same_key_returns_the_first_answer_and_creates_nothing(
    client: FlaskClient, auth_headers: Headers
) -> None:
    headers = auth_headers(AGENT)
    first = post(client, headers, "order-42-complaint")

    again = post(client, headers, "order-42-complaint")
    different_body = post(client, headers, "order-42-complaint",
                          {**BODY, "description": "Something else"})

    assert first.status_code == again.status_code == different_body.status_code == 201
    assert again.get_json() == first.get_json()
    assert different_body.get_json() == first.get_json()
    assert (count(Irritant), count(IrritantEvent), count(IdempotencyRecord)) == (1, 1, 1)


def test_the_stored_answer_is_the_first_even_after_the_irritant_changed(
    client: FlaskClient, auth_headers: Headers
) -> None:
    headers = auth_headers(AGENT)
    first = post(client, headers, "k1")
    client.post(f"/api/v1/irritants/{first.get_json()['id']}/resolve",
                json={"resolution": "Apologised"}, headers=headers)

    again = post(client, headers, "k1")

    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.get_json()["status"] == "open"


def test_different_keys_create_different_irritants(client: FlaskClient,
                                                   auth_headers: Headers) -> None:
    headers = auth_headers(AGENT)

    first = post(client, headers, "k1")
    second = post(client, headers, "k2")

    assert first.get_json()["id"] != second.get_json()["id"]
    assert count(Irritant) == 2


def test_without_a_key_every_post_creates_one(client: FlaskClient,
                                              auth_headers: Headers) -> None:
    headers = auth_headers(AGENT)

    post(client, headers, None)
    post(client, headers, None)

    assert (count(Irritant), count(IdempotencyRecord)) == (2, 0)


def test_the_same_key_from_another_user_is_another_request(client: FlaskClient,
                                                           auth_headers: Headers) -> None:
    first = post(client, auth_headers(AGENT), "shared-key")
    other = post(client, auth_headers(OTHER), "shared-key")

    assert other.status_code == 201
    assert other.get_json()["id"] != first.get_json()["id"]
    assert other.get_json()["reporter"] == OTHER
    assert count(Irritant) == 2


def test_a_key_older_than_24_hours_is_forgotten(client: FlaskClient,
                                                auth_headers: Headers) -> None:
    headers = auth_headers(AGENT)
    first = post(client, headers, "old-key")
    db.session.execute(sa.update(IdempotencyRecord)
                       .values(created_at=utcnow() - timedelta(hours=24, seconds=1)))
    db.session.commit()

    again = post(client, headers, "old-key")

    assert again.status_code == 201
    assert again.get_json()["id"] != first.get_json()["id"]
    assert (count(Irritant), count(IdempotencyRecord)) == (2, 1)


def test_a_key_just_under_24_hours_old_still_replays(client: FlaskClient,
                                                     auth_headers: Headers) -> None:
    headers = auth_headers(AGENT)
    first = post(client, headers, "recent-key")
    db.session.execute(sa.update(IdempotencyRecord)
                       .values(created_at=utcnow() - timedelta(hours=23, minutes=59)))
    db.session.commit()

    again = post(client, headers, "recent-key")

    assert again.get_json() == first.get_json()
    assert count(Irritant) == 1


def test_a_refused_request_keeps_no_key_so_a_corrected_retry_succeeds(
    client: FlaskClient, auth_headers: Headers
) -> None:
    headers = auth_headers(AGENT)

    refused = post(client, headers, "k", {**BODY, "category": "teleportation"})
    corrected = post(client, headers, "k")

    assert refused.status_code == 422
    assert corrected.status_code == 201
    assert (count(Irritant), count(IdempotencyRecord)) == (1, 1)


def test_a_key_still_running_elsewhere_is_a_409(client: FlaskClient,
                                                auth_headers: Headers) -> None:
    headers = auth_headers(AGENT)
    user_id = db.session.scalars(sa.select(User.id).where(User.email == AGENT)).one()
    db.session.add(IdempotencyRecord(user_id=user_id, key="running", status_code=0, body={}))
    db.session.commit()

    response = post(client, headers, "running")

    assert response.status_code == 409
    assert response.get_json()["code"] == 409
    assert count(Irritant) == 0


@pytest.mark.parametrize("key", ["", "x" * 201, "clé-accentuée", "with space", "tab\there"])
def test_a_malformed_key_is_422_and_writes_nothing(client: FlaskClient, auth_headers: Headers,
                                                   key: str) -> None:
    response = post(client, auth_headers(AGENT), key)

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["Idempotency-Key"]
    assert (count(Irritant), count(IdempotencyRecord)) == (0, 0)


def test_concurrent_retries_with_one_key_create_one_irritant(
    app: Flask, auth_headers: Headers
) -> None:
    headers = {**auth_headers(AGENT), "Idempotency-Key": "burst"}
    answers: list[tuple[int, Any]] = []
    start = threading.Barrier(6)

    def send() -> None:
        with app.test_client() as own_client:
            start.wait()
            response = own_client.post("/api/v1/irritants", json=BODY, headers=headers)
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert count(Irritant) == 1
    assert {status for status, _ in answers} <= {201, 409}
    created = [body for status, body in answers if status == 201]
    assert created
    assert all(body == created[0] for body in created)
