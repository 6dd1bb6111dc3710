"""In-app notifications: the list, the unread count in the top bar, marking them read."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from irritants.extensions import db
from irritants.models import Notification
from irritants.services.resolution import resolve_irritant
from tests.web.irritant_fixtures import XSS_PAYLOADS, assert_inert, english, log_as, page_text, user

AGENT = "agent.lille@example.com"
LEAD = "lead.lille@example.com"


@pytest.fixture
def sign_in(app: Flask, login_as: Callable[..., FlaskClient]) -> Callable[[str], FlaskClient]:
    return lambda email: english(login_as(email, app.test_client()))


def unread_badge(html: str) -> str | None:
    match = re.search(r'<span class="badge">(\d+)', html)
    return match.group(1) if match else None


def read_state(email: str) -> list[bool]:
    db.session.expire_all()
    rows = db.session.scalars(select(Notification).where(
        Notification.user_id == user(email).id).order_by(Notification.id)).all()
    return [row.read_at is not None for row in rows]


def test_the_reporter_is_told_of_the_resolution_with_an_unread_count(
    sign_in: Callable[[str], FlaskClient], org: dict[str, Any]
) -> None:
    irritant = log_as(AGENT)
    resolve_irritant(irritant.id, actor=user(LEAD), resolution="We called the customer back")
    agent = sign_in(AGENT)

    response = agent.get("/notifications")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = page_text(html)
    assert f"Irritant #{irritant.id} you logged is resolved." in text
    assert "We called the customer back" in text
    assert unread_badge(html) == "1"
    assert unread_badge(agent.get("/irritants/mine").get_data(as_text=True)) == "1"


def test_opening_a_notification_marks_it_read_and_goes_to_the_irritant(
    sign_in: Callable[[str], FlaskClient], org: dict[str, Any]
) -> None:
    first, second = log_as(AGENT), log_as(AGENT)
    for irritant in (first, second):
        resolve_irritant(irritant.id, actor=user(LEAD), resolution="Done")
    mine = db.session.scalars(select(Notification).where(
        Notification.user_id == user(AGENT).id).order_by(Notification.id)).all()
    agent = sign_in(AGENT)

    response = agent.post("/notifications/read", data={
        "id": str(mine[0].id), "next": f"/irritants/{first.id}"})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/irritants/{first.id}"
    assert read_state(AGENT) == [True, False]
    assert unread_badge(agent.get("/notifications").get_data(as_text=True)) == "1"


def test_mark_all_read_leaves_other_peoples_notifications_alone(
    sign_in: Callable[[str], FlaskClient], org: dict[str, Any]
) -> None:
    irritant = log_as(AGENT)  # Lille's lead is told it was assigned to Lille
    resolve_irritant(irritant.id, actor=user(LEAD), resolution="Done")

    response = sign_in(AGENT).post("/notifications/read", data={})

    assert response.status_code == 303
    assert response.headers["Location"] == "/notifications"
    assert read_state(AGENT) == [True]
    assert read_state(LEAD) == [False]


def test_someone_elses_notification_id_is_left_unread(
    sign_in: Callable[[str], FlaskClient], org: dict[str, Any]
) -> None:
    log_as(AGENT)
    theirs = db.session.scalars(select(Notification)).one()

    response = sign_in(AGENT).post("/notifications/read", data={"id": str(theirs.id)})

    assert response.status_code == 303
    assert read_state(LEAD) == [False]


def test_next_must_stay_on_this_site(
    sign_in: Callable[[str], FlaskClient], org: dict[str, Any]
) -> None:
    response = sign_in(AGENT).post("/notifications/read",
                                   data={"next": "//evil.example/steal"})

    assert (response.status_code, response.headers["Location"]) == (303, "/notifications")


def test_a_resolution_is_rendered_inert_in_notifications(
    sign_in: Callable[[str], FlaskClient], org: dict[str, Any]
) -> None:
    irritant = log_as(AGENT)
    resolve_irritant(irritant.id, actor=user(LEAD), resolution=XSS_PAYLOADS[0])

    html = sign_in(AGENT).get("/notifications").get_data(as_text=True)

    assert_inert(html, payloads=(XSS_PAYLOADS[0],))
