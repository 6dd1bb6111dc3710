"""The queue page: a unit and its descendants, overdue first, filters, counts, Take."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from irritants.models import utcnow
from irritants.services.resolution import resolve_irritant, take_irritant
from tests.web.irritant_fixtures import XSS_PAYLOADS, assert_inert, english, log_as, page_text, user

AGENT = "agent.lille@example.com"


@pytest.fixture
def sign_in(app: Flask, login_as: Callable[..., FlaskClient]) -> Callable[[str], FlaskClient]:
    return lambda email: english(login_as(email, app.test_client()))


@pytest.fixture
def queue(org: dict[str, Any]) -> dict[str, int]:
    """Irritants around Region North (and one at Marseille), by name."""
    overdue = log_as(AGENT, category="faulty-product", amount=80,
                     now=utcnow() - timedelta(days=5))           # Roubaix, 2 days late
    slow = log_as(AGENT, category="late-delivery")                # North back-office, 72 h
    urgent = log_as(AGENT, severity="high", description="Rude")  # Store Lille, 24 h
    south = log_as("agent.marseille@example.com")                 # Store Marseille
    done = log_as(AGENT)
    resolve_irritant(done.id, actor=user("lead.lille@example.com"), resolution="Ok")
    taken = log_as(AGENT, severity="low")                         # Store Lille, 168 h
    take_irritant(taken.id, actor=user("lead.lille@example.com"))
    return {"overdue": overdue.id, "slow": slow.id, "urgent": urgent.id, "south": south.id,
            "done": done.id, "taken": taken.id}


def listed(html: str) -> list[int]:
    return [int(number) for number in re.findall(r'class="queue-item__link" href="/irritants/'
                                                 r'(\d+)"', html)]


def test_a_lead_sees_their_subtree_overdue_first_then_by_due_time_with_counts(
    sign_in: Callable[[str], FlaskClient], queue: dict[str, int]
) -> None:
    response = sign_in("lead.north@example.com").get("/queue")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert listed(html) == [queue["overdue"], queue["urgent"], queue["slow"], queue["taken"]]
    text = page_text(html)
    assert "Queue of Region North" in text
    assert "1 overdue 3 open 1 in progress" in text
    items = html.split('<li class="queue-item')[1:]
    assert ["Overdue" in page_text(item) for item in items] == [True, False, False, False]
    assert items[0].startswith(' queue-item--overdue"')
    assert "Escalation level" not in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=late-delivery", ["slow"]),
        ("severity=high", ["urgent"]),
        ("status=overdue", ["overdue"]),
        ("status=in_progress", ["taken"]),
        ("status=open", ["overdue", "urgent", "slow"]),
        ("unit=roubaix", ["overdue"]),
        ("unit=lille&severity=low", ["taken"]),
        ("origin=marseille", []),
    ],
)
def test_filters_narrow_the_queue(
    sign_in: Callable[[str], FlaskClient], queue: dict[str, int], query: str,
    expected: list[str],
) -> None:
    response = sign_in("lead.north@example.com").get(f"/queue?{query}")

    assert response.status_code == 200
    assert listed(response.get_data(as_text=True)) == [queue[name] for name in expected]


def test_a_director_chooses_any_unit(
    sign_in: Callable[[str], FlaskClient], queue: dict[str, int]
) -> None:
    response = sign_in("director@example.com").get("/queue?unit=south")

    assert response.status_code == 200
    assert listed(response.get_data(as_text=True)) == [queue["south"]]


@pytest.mark.parametrize(
    ("email", "query"),
    [
        ("lead.north@example.com", "unit=south"),
        ("lead.lille@example.com", "unit=north"),
        ("agent.lille@example.com", "unit=roubaix"),
        ("lead.north@example.com", "unit=atlantis"),
    ],
)
def test_a_queue_outside_the_users_scope_is_404(
    sign_in: Callable[[str], FlaskClient], queue: dict[str, int], email: str, query: str
) -> None:
    assert sign_in(email).get(f"/queue?{query}").status_code == 404


def test_a_bad_filter_is_422_with_the_error_beside_it(
    sign_in: Callable[[str], FlaskClient], queue: dict[str, int]
) -> None:
    response = sign_in("lead.north@example.com").get("/queue?severity=urgent")

    assert response.status_code == 422
    errors = re.search(r'id="severity-errors">(.*?)</ul>', response.get_data(as_text=True), re.S)
    assert errors is not None
    assert page_text(errors.group(1)) == "Not a valid choice."


def test_open_items_of_the_leads_own_unit_have_a_one_click_take(
    sign_in: Callable[[str], FlaskClient], queue: dict[str, int]
) -> None:
    html = sign_in("lead.lille@example.com").get("/queue").get_data(as_text=True)

    takes = re.findall(r'action="/irritants/(\d+)/take"', html)
    assert [int(number) for number in takes] == [queue["urgent"]]


def test_the_queue_is_paginated(
    sign_in: Callable[[str], FlaskClient], queue: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from irritants.web.queue import views

    monkeypatch.setattr(views, "PER_PAGE", 3)
    lead = sign_in("lead.north@example.com")

    first = lead.get("/queue").get_data(as_text=True)
    second = lead.get("/queue?page=2").get_data(as_text=True)

    assert listed(first) == [queue["overdue"], queue["urgent"], queue["slow"]]
    assert listed(second) == [queue["taken"]]
    assert 'href="/queue?page=2"' in first
    assert "Page 2 of 2" in page_text(second)


def test_descriptions_are_rendered_inert_in_the_queue(
    sign_in: Callable[[str], FlaskClient], org: dict[str, Any]
) -> None:
    log_as(AGENT, description=XSS_PAYLOADS[0])

    html = sign_in("lead.lille@example.com").get("/queue").get_data(as_text=True)

    assert_inert(html, payloads=(XSS_PAYLOADS[0],))
