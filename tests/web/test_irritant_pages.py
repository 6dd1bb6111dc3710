"""The irritant page: where it went and why, the timeline, and the actions on it."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from irritants.extensions import db
from irritants.models import Attachment, Irritant, IrritantEvent, Notification
from irritants.services.intake import attach_photo
from irritants.services.resolution import take_irritant
from tests.web.irritant_fixtures import (
    XSS_PAYLOADS,
    assert_inert,
    english,
    log_as,
    page_text,
    tiny_png,
    user,
)

AGENT = "agent.lille@example.com"
LEAD = "lead.lille@example.com"
NORTH_LEAD = "lead.north@example.com"
OUTSIDER = "agent.marseille@example.com"


@pytest.fixture
def sign_in(app: Flask, login_as: Callable[..., FlaskClient]) -> Callable[[str], FlaskClient]:
    """A fresh English session for that user."""
    return lambda email: english(login_as(email, app.test_client()))


def events(irritant_id: int, kind: str | None = None) -> list[IrritantEvent]:
    query = select(IrritantEvent).where(IrritantEvent.irritant_id == irritant_id)
    if kind:
        query = query.where(IrritantEvent.type == kind)
    return list(db.session.scalars(query.order_by(IrritantEvent.id)).all())


def reload(irritant: Irritant) -> Irritant:
    db.session.expire_all()
    found = db.session.get(Irritant, irritant.id)
    assert found is not None
    return found


def action_urls(html: str) -> set[str]:
    return set(re.findall(r'<form method="post" action="/irritants/\d+/([a-z]+)"', html))


def test_each_user_sees_only_the_actions_they_may_take(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    irritant = log_as(AGENT)  # assigned to Store Lille

    seen = {email: action_urls(sign_in(email).get(f"/irritants/{irritant.id}")
                               .get_data(as_text=True))
            for email in (AGENT, LEAD, "director@example.com", "admin@example.com")}

    assert seen == {
        AGENT: {"take", "resolve", "comment", "photo"},
        LEAD: {"take", "resolve", "escalate", "reassign", "comment", "photo"},
        "director@example.com": {"resolve", "escalate", "reassign", "comment", "photo"},
        "admin@example.com": {"photo"},
    }


def test_the_page_explains_the_routing_and_shows_the_timeline(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    irritant = log_as(AGENT, category="faulty-product", amount=80, description="Leaks")

    text = page_text(sign_in(NORTH_LEAD).get(f"/irritants/{irritant.id}").get_data(as_text=True))

    assert "Why Store Roubaix" in text
    assert "Store Roubaix, 2 steps away, has everything it takes." in text
    assert "Logged and sent to Store Roubaix" in text
    assert "Rank: 2 steps through the tree, 1 of them up." in text
    assert "Lina Agent" in text
    assert "Sent to" not in text  # the banner is for the reporter, right after sending


@pytest.mark.parametrize(("amount", "shown"), [
    ("49.90", "Amount 49.90 €"), ("1049.5", "Amount 1,049.50 €"), ("80", "Amount 80 €")])
def test_an_amount_in_euros_keeps_its_cents(
    sign_in: Callable[[str], FlaskClient], amount: str, shown: str
) -> None:
    irritant = log_as(AGENT, amount=Decimal(amount))

    text = page_text(sign_in(AGENT).get(f"/irritants/{irritant.id}").get_data(as_text=True))

    assert shown in text


@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [
        ("GET", "", {}),
        ("POST", "/take", {}),
        ("POST", "/comment", {"text": "Hello"}),
        ("POST", "/resolve", {"resolution": "Done", "root_cause": "other",
                              "root_cause_detail": "x"}),
        ("POST", "/photo", {"photo": (io.BytesIO(tiny_png()), "p.png")}),
        ("POST", "/again", {}),
        ("GET", "/photos/{photo}", {}),
    ],
)
def test_a_user_of_another_unit_gets_404_and_nothing_is_written(
    sign_in: Callable[[str], FlaskClient], method: str, suffix: str, data: dict[str, Any]
) -> None:
    irritant = log_as(AGENT)
    photo = attach_photo(irritant.id, actor=user(AGENT), data=tiny_png(), filename="a.png")
    before = len(events(irritant.id))

    response = sign_in(OUTSIDER).open(
        f"/irritants/{irritant.id}{suffix.format(photo=photo.id)}", method=method, data=data
    )

    assert response.status_code == 404
    assert len(events(irritant.id)) == before
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 1
    assert reload(irritant).status == "open"


@pytest.mark.parametrize(
    ("email", "suffix", "data", "status"),
    [
        # Readable, but outside the lead's scope for the action: 404, as the API answers.
        (LEAD, "/take", {}, 404),  # Roubaix's irritant: not the lead's unit
        (LEAD, "/resolve", {"resolution": "x", "root_cause": "other", "root_cause_detail": "y"},
         404),
        (LEAD, "/escalate", {"reason": "x"}, 404),
        (LEAD, "/reassign", {"unit": "nice", "reason": "x"}, 404),
        # A role that may never do the action: 403.
        (AGENT, "/escalate", {"reason": "x"}, 403),
        ("admin@example.com", "/comment", {"text": "x"}, 403),
    ],
)
def test_a_reader_whose_role_or_scope_does_not_allow_the_action_is_refused(
    sign_in: Callable[[str], FlaskClient], email: str, suffix: str, data: dict[str, str],
    status: int,
) -> None:
    irritant = log_as(AGENT, category="faulty-product", amount=80)  # assigned to Roubaix
    before = len(events(irritant.id))

    response = sign_in(email).post(f"/irritants/{irritant.id}{suffix}", data=data)

    assert response.status_code == status
    assert len(events(irritant.id)) == before


def test_take_puts_it_in_progress_with_the_lead_on_it(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    irritant = log_as(AGENT)

    response = sign_in(LEAD).post(f"/irritants/{irritant.id}/take")

    assert response.status_code == 303
    assert response.headers["Location"] == f"/irritants/{irritant.id}"
    taken = reload(irritant)
    assert (taken.status, taken.taken_by_id) == ("in_progress", user(LEAD).id)
    assert [event.actor_id for event in events(irritant.id, "taken")] == [user(LEAD).id]


def test_taking_what_someone_else_took_says_so_and_changes_nothing(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    irritant = log_as(AGENT)
    take_irritant(irritant.id, actor=user(AGENT))
    lead = sign_in(LEAD)

    response = lead.post(f"/irritants/{irritant.id}/take")

    assert response.status_code == 303
    assert response.headers["Location"] == f"/irritants/{irritant.id}"
    assert reload(irritant).taken_by_id == user(AGENT).id
    text = page_text(lead.get(response.headers["Location"]).get_data(as_text=True))
    assert "Someone else already took this irritant." in text


def test_a_comment_is_added_to_the_timeline(sign_in: Callable[[str], FlaskClient]) -> None:
    irritant = log_as(AGENT)
    agent = sign_in(AGENT)

    response = agent.post(f"/irritants/{irritant.id}/comment", data={"text": "Called back"})

    assert response.status_code == 303
    assert [event.data for event in events(irritant.id, "commented")] == [
        {"text": "Called back"}]
    text = page_text(agent.get(f"/irritants/{irritant.id}").get_data(as_text=True))
    assert "Comment Called back" in text


def test_an_empty_comment_is_422_beside_the_field_and_writes_nothing(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    irritant = log_as(AGENT)

    response = sign_in(AGENT).post(f"/irritants/{irritant.id}/comment", data={"text": "  "})

    assert response.status_code == 422
    errors = re.search(r'id="text-errors">(.*?)</ul>', response.get_data(as_text=True), re.S)
    assert errors is not None
    assert page_text(errors.group(1)) == "Write a comment."
    assert events(irritant.id, "commented") == []


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"resolution": "Refunded"}, "root_cause", "Choose a root cause."),
        ({"resolution": "Refunded", "root_cause": "weather"}, "root_cause",
         "Not a valid choice."),
        ({"resolution": "Refunded", "root_cause": "other"}, "root_cause_detail",
         "Say what the root cause was."),
        ({"resolution": "", "root_cause": "training"}, "resolution", "Say how it was resolved."),
    ],
)
def test_resolving_needs_a_resolution_and_a_root_cause(
    sign_in: Callable[[str], FlaskClient], data: dict[str, str], field: str, message: str
) -> None:
    irritant = log_as(AGENT)

    response = sign_in(LEAD).post(f"/irritants/{irritant.id}/resolve", data=data)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = re.search(rf'id="{field}-errors">(.*?)</ul>', html, re.S)
    assert errors is not None
    assert message in page_text(errors.group(1))
    assert '<details class="action" id="resolve" open>' in html
    assert reload(irritant).status == "open"


def test_resolving_records_the_root_cause_and_tells_the_reporter(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    irritant = log_as(AGENT)

    response = sign_in(LEAD).post(f"/irritants/{irritant.id}/resolve", data={
        "resolution": "Apologised and trained the team", "root_cause": "other",
        "root_cause_detail": "New starter"})

    assert response.status_code == 303
    resolved = reload(irritant)
    assert (resolved.status, resolved.resolution, resolved.root_cause,
            resolved.root_cause_detail) == (
        "resolved", "Apologised and trained the team", "other", "New starter")
    notification = db.session.scalars(
        select(Notification).where(Notification.kind == "resolved")).one()
    assert (notification.user_id, notification.kind) == (user(AGENT).id, "resolved")


def test_resolving_twice_says_it_is_already_resolved(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    irritant = log_as(AGENT)
    lead = sign_in(LEAD)
    data = {"resolution": "Done", "root_cause": "training"}
    lead.post(f"/irritants/{irritant.id}/resolve", data=data)

    response = lead.post(f"/irritants/{irritant.id}/resolve", data={**data, "resolution": "Bis"})

    assert response.status_code == 303
    assert reload(irritant).resolution == "Done"
    assert len(events(irritant.id, "resolved")) == 1
    text = page_text(lead.get(f"/irritants/{irritant.id}").get_data(as_text=True))
    assert "This irritant is already resolved." in text


def test_escalating_routes_it_again_without_the_team_and_with_what_it_lacks(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    irritant = log_as(AGENT, category="faulty-product", amount=80)  # at Roubaix
    lead = sign_in(NORTH_LEAD)

    response = lead.post(f"/irritants/{irritant.id}/escalate", data={
        "reason": "Our terminal is broken", "tools": ["pos"], "authority": "refund",
        "authority_amount": "120"})

    assert response.status_code == 303
    escalated = reload(irritant)
    assert (escalated.assignee.key, escalated.excluded) == ("marseille", ["roubaix"])
    routing = events(irritant.id, "routed")[-1]
    assert routing.data["kind"] == "escalation"
    assert routing.data["reason"] == "Our terminal is broken"
    assert routing.data["needs"]["tools"] == ["pos"]
    assert routing.data["needs"]["authorities"] == {"refund": 120}
    text = page_text(lead.get(f"/irritants/{irritant.id}").get_data(as_text=True))
    assert "Escalated: now with Store Marseille." in text
    assert "Escalated and routed again to Store Marseille" in text
    assert "Escalated by Store Roubaix, which is now left out." in text


def test_the_timeline_names_what_the_escalating_team_lacked_by_its_labels(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    from irritants.services.org_edit import add_vocabulary_item, relabel_vocabulary_item

    relabel_vocabulary_item("tool", "pos", "Caisse", "Till", actor=None)
    add_vocabulary_item("competency", "repairs", "Réparations", "Repairs", actor=None)
    relabel_vocabulary_item("authority", "refund", "Remboursement", "Refund", actor=None)
    irritant = log_as(AGENT, category="faulty-product", amount=80)  # at Roubaix
    lead = sign_in(NORTH_LEAD)
    lead.post(f"/irritants/{irritant.id}/escalate", data={
        "reason": "Our till is broken", "tools": ["pos"], "competencies": ["repairs"],
        "authority": "refund", "authority_amount": "1249,5"})

    text = page_text(lead.get(f"/irritants/{irritant.id}").get_data(as_text=True))

    # Not the keys (pos, repairs, refund) nor a bare 1249.5.
    assert "Tools it lacked: Till." in text
    assert "Skills it lacked: Repairs." in text
    assert "Authority it lacked: Refund for 1,249.50 €." in text


def test_an_escalation_amount_typed_with_a_decimal_comma_keeps_its_cents(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    irritant = log_as(AGENT, category="faulty-product", amount=80)  # at Roubaix
    lead = sign_in(NORTH_LEAD)

    form = lead.get(f"/irritants/{irritant.id}").get_data(as_text=True)
    response = lead.post(f"/irritants/{irritant.id}/escalate", data={
        "reason": "Over our limit", "authority": "refund", "authority_amount": "120,50"})

    # A text box (a number box drops the comma a French user types), read with its comma.
    amount = re.search(r'<input[^>]*id="authority_amount"[^>]*>', form)
    assert amount is not None
    assert 'type="text"' in amount.group(0)
    assert response.status_code == 303
    assert events(irritant.id, "routed")[-1].data["needs"]["authorities"] == {"refund": 120.5}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reason": ""}, "reason", "Give a reason."),
        ({"reason": "x", "tools": ["no-such-tool"]}, "tools", "not a valid choice"),
        ({"reason": "x", "authority_amount": "50"}, "authority_amount",
         "Choose the authority this amount is for."),
        ({"reason": "x", "authority": "refund", "authority_amount": "-1"}, "authority_amount",
         "The amount cannot be negative."),
        ({"reason": "x", "authority": "refund", "authority_amount": "1.234"}, "authority_amount",
         "Must have at most two decimals."),
    ],
)
def test_bad_escalations_are_422_and_route_nothing(
    sign_in: Callable[[str], FlaskClient], data: dict[str, Any], field: str, message: str
) -> None:
    irritant = log_as(AGENT, category="faulty-product", amount=80)

    response = sign_in(NORTH_LEAD).post(f"/irritants/{irritant.id}/escalate", data=data)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert f'id="{field}' in html
    assert len(events(irritant.id, "routed")) == 1
    assert reload(irritant).assignee.key == "roubaix"


def test_reassigning_sends_it_to_the_chosen_unit_with_the_reason(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    irritant = log_as(AGENT, category="faulty-product", amount=80)

    response = sign_in(NORTH_LEAD).post(f"/irritants/{irritant.id}/reassign",
                                        data={"unit": "north-bo", "reason": "They know it"})

    assert response.status_code == 303
    assert reload(irritant).assignee.key == "north-bo"
    assert [event.data for event in events(irritant.id, "reassigned")] == [
        {"reason": "They know it", "from": "roubaix"}]


def test_reassigning_without_a_unit_is_422_and_changes_nothing(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    irritant = log_as(AGENT, category="faulty-product", amount=80)

    response = sign_in(NORTH_LEAD).post(f"/irritants/{irritant.id}/reassign",
                                        data={"unit": "", "reason": "x"})

    assert response.status_code == 422
    assert "Choose a team." in response.get_data(as_text=True)
    assert events(irritant.id, "reassigned") == []


def test_a_photo_added_on_the_page_is_served_as_a_sandboxed_download(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    irritant = log_as(AGENT)
    agent = sign_in(AGENT)

    response = agent.post(f"/irritants/{irritant.id}/photo",
                          data={"photo": (io.BytesIO(tiny_png()), 'Étagère 1.png')},
                          content_type="multipart/form-data")

    assert response.status_code == 303
    photo = db.session.scalars(select(Attachment)).one()
    download = sign_in(LEAD).get(f"/irritants/{irritant.id}/photos/{photo.id}")
    assert download.status_code == 200
    assert download.data == tiny_png()
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"photo.png\"; filename*=UTF-8''%C3%89tag%C3%A8re%201.png")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    policy = [part.strip() for part in download.headers["Content-Security-Policy"].split(";")]
    assert policy[:2] == ["sandbox", "default-src 'none'"]


def test_an_html_file_named_png_is_refused_on_the_page_and_nothing_is_stored(
    app: Flask, sign_in: Callable[[str], FlaskClient],
) -> None:
    from pathlib import Path

    irritant = log_as(AGENT)
    folder = Path(app.config["UPLOAD_DIR"])
    before = set(folder.iterdir()) if folder.exists() else set()

    response = sign_in(AGENT).post(
        f"/irritants/{irritant.id}/photo",
        data={"photo": (io.BytesIO(b"<html><script>alert(1)</script>"), "x.png")},
        content_type="multipart/form-data")

    assert response.status_code == 422
    assert "The photo must be a JPEG, PNG, WebP or HEIC image." in page_text(
        response.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert (set(folder.iterdir()) if folder.exists() else set()) == before


def test_a_photo_of_another_irritant_is_not_served_through_this_one(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    mine = log_as(OUTSIDER)
    theirs = log_as(AGENT)
    photo = attach_photo(theirs.id, actor=user(AGENT), data=tiny_png(), filename="a.png")

    response = sign_in(OUTSIDER).get(f"/irritants/{mine.id}/photos/{photo.id}")

    assert response.status_code == 404
    assert db.session.get(Attachment, photo.id).irritant_id == theirs.id


def test_photos_need_a_signed_in_reader(client: FlaskClient, org: dict[str, Any]) -> None:
    irritant = log_as(AGENT)
    photo = attach_photo(irritant.id, actor=user(AGENT), data=tiny_png(), filename="a.png")

    response = client.get(f"/irritants/{irritant.id}/photos/{photo.id}")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_free_text_of_every_action_is_rendered_inert(
    sign_in: Callable[[str], FlaskClient],
) -> None:
    payload = " ".join(XSS_PAYLOADS)
    irritant = log_as(AGENT, description=payload, customer_ref=XSS_PAYLOADS[1][:100])
    attach_photo(irritant.id, actor=user(AGENT), data=tiny_png(),
                 filename='"><img src=x onerror=alert(1)>.png')
    lead = sign_in(LEAD)
    lead.post(f"/irritants/{irritant.id}/comment", data={"text": payload})
    lead.post(f"/irritants/{irritant.id}/reassign", data={"unit": "roubaix", "reason": payload})
    director = sign_in("director@example.com")
    director.post(f"/irritants/{irritant.id}/escalate", data={"reason": payload})
    director.post(f"/irritants/{irritant.id}/resolve", data={
        "resolution": payload, "root_cause": "other", "root_cause_detail": payload})
    assert reload(irritant).status == "resolved"

    html = director.get(f"/irritants/{irritant.id}").get_data(as_text=True)

    assert_inert(html)
    assert html.count("xss-1") >= 6
