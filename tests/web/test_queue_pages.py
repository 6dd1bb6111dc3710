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
    html = response.get_data(as_text=True)
    assert listed(html) == [queue["south"]]
    assert "<h1>Queue of Region South</h1>" in html  # its name in the list, not its indent


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


def _rows(html: str) -> list[str]:
    return html.split('<li class="queue-item')[1:]


def test_each_row_it_may_take_has_one_take_form_whose_token_works(
    app: Flask, sign_in: Callable[[str], FlaskClient], queue: dict[str, int],
    monkeypatch: pytest.MonkeyPatch, db: Any,
) -> None:
    from irritants.models import Irritant

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # as in production
    second = log_as(AGENT).id  # stays at Store Lille, like "urgent"
    lead = sign_in("lead.lille@example.com")

    html = lead.get("/queue").get_data(as_text=True)

    forms = re.findall(r'<form method="post" action="(/irritants/\d+/take)"[^>]*>(.*?)</form>',
                       html, re.S)
    assert [action for action, _body in forms] == [
        f"/irritants/{queue['urgent']}/take", f"/irritants/{second}/take"]
    tokens = [re.findall(r'<input id="csrf_token" name="csrf_token" type="hidden" '
                         r'value="([^"]+)">', body) for _action, body in forms]
    assert [len(found) for found in tokens] == [1, 1]
    assert all('<button type="submit" class="button button--small">Take it</button>' in body
               for _action, body in forms)
    # Each form posts as it is: its token is this session's.
    for (action, _body), [token] in zip(forms, tokens, strict=True):
        assert lead.post(action, data={"csrf_token": token}).status_code == 303
    assert lead.post(f"/irritants/{queue['slow']}/take").status_code == 400  # no token
    db.session.expire_all()
    assert [db.session.get(Irritant, number).status for number in (queue["urgent"], second)] \
        == ["in_progress", "in_progress"]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_row_says_what_the_irritant_macros_say_in_the_visitors_language(
    app: Flask, login_as: Callable[..., FlaskClient], queue: dict[str, int], db: Any,
    language: str,
) -> None:
    """The queue lays out its rows itself (irritants/web/queue/rows.py), with the labels
    and SLA clock of templates/irritant/_macros.html: the same words, markup and times."""
    from flask import render_template_string

    from irritants.models import Irritant
    from irritants.services.escalation import sweep_overdue
    from irritants.services.intake import add_occurrence

    # Overdue, escalated by the sweep a day and a half ago, and overdue again since.
    late = log_as(AGENT, severity="high", now=utcnow() - timedelta(days=3)).id
    sweep_overdue(now=utcnow() - timedelta(hours=36))
    log_as(AGENT, now=utcnow() - timedelta(days=4))  # overdue since, never swept
    add_occurrence(queue["slow"], actor=user(AGENT))
    client = login_as("lead.north@example.com", app.test_client())

    html = client.get("/queue", headers={"Accept-Language": language}).get_data(as_text=True)

    rows = {int(re.search(r'href="/irritants/(\d+)"', row).group(1)): row  # type: ignore[union-attr]
            for row in _rows(html)}
    assert late in rows
    macros = ('{% from "irritant/_macros.html" import severity_label, status_label, sla_clock %}'
              "{{ severity_label(i.severity) }} {{ status_label(i.status) }}"
              "|{{ sla_clock(i, now) }}|{{ _('With %(unit)s', unit=unit) }}")
    seen = set()
    for number, row in rows.items():
        irritant = db.session.get(Irritant, number)
        with app.test_request_context(headers={"Accept-Language": language}):
            labels, clock, assignee = render_template_string(
                macros, i=irritant, now=utcnow(), unit=unit_of(irritant.assignee_id)).split("|")
        assert labels in row
        assert clock in row
        assert f"<span>{assignee}</span>" in row
        seen.add((irritant.status, irritant.is_overdue(utcnow()), irritant.escalation_level > 0))
    # Open and in progress, overdue or not, escalated or not: every branch of the clock.
    assert {(True, True), (True, False), (False, False)} <= {(o, e) for _s, o, e in seen}
    assert {"open", "in_progress"} <= {status for status, _o, _e in seen}
    occurrences = {"fr": "2 occurrences", "en": "2 occurrences"}[language]
    assert f"<span>{occurrences}</span>" in rows[queue["slow"]]
    words = {"fr": ("En retard", "échéance dépassée", "Niveau d’escalade 1"),
             "en": ("Overdue", "was due", "Escalation level 1")}[language]
    assert all(word in page_text(rows[late]) for word in words)


def unit_of(unit_id: int) -> str:
    from irritants.web.irritant.support import unit_name

    return unit_name(unit_id)


def test_row_urls_are_url_for_with_the_id(app: Flask, db: Any) -> None:
    from flask import url_for

    from irritants.web.queue.rows import url_of_id

    with app.test_request_context():
        for endpoint in ("irritant.show", "irritant.take"):
            url = url_of_id(endpoint)
            for number in (1, 42, 918273645, 2**40):
                assert url(number) == url_for(endpoint, irritant_id=number)


def test_in_french_the_blank_filters_agree_with_their_nouns(
    app: Flask, login_as: Callable[..., FlaskClient], queue: dict[str, int]
) -> None:
    client = login_as("lead.north@example.com", app.test_client())

    html = client.get("/queue", headers={"Accept-Language": "fr"}).get_data(as_text=True)

    def blank(name: str) -> str:
        found = re.search(rf'<select[^>]*name="{name}"[^>]*><option[^>]*value="">([^<]*)<', html)
        assert found is not None, name
        return found.group(1)

    # « État : Tous », but « Catégorie : Toutes » and « Gravité : Toutes » (feminine nouns).
    assert [blank(name) for name in ("status", "category", "severity")] == [
        "Tous", "Toutes", "Toutes"]
