"""The intake pages: log an irritant, the duplicate hint, "it happened again", my irritants."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from irritants.extensions import db
from irritants.models import Attachment, Irritant, IrritantEvent, utcnow
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
GOOD = {
    "category": "faulty-product",
    "severity": "medium",
    "description": "The kettle leaks",
    "amount": "80",
    "customer_ref": "C-1234",
    "channel": "store",
    "origin_unit": "lille",
}


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def agent(app: Flask, login_as: Callable[..., FlaskClient]) -> FlaskClient:
    return english(login_as(AGENT, app.test_client()))


def test_logging_sends_the_agent_to_the_irritant_page_saying_where_it_went_and_why(
    agent: FlaskClient,
) -> None:
    response = agent.post("/irritants/new", data=GOOD)

    irritant = db.session.scalars(select(Irritant)).one()
    assert response.status_code == 303
    assert response.headers["Location"] == f"/irritants/{irritant.id}?sent=1"
    assert (irritant.category.key, irritant.severity, irritant.description) == (
        "faulty-product", "medium", "The kettle leaks")
    assert (irritant.amount, irritant.customer_ref, irritant.channel) == (
        Decimal("80.00"), "C-1234", "store")
    assert (irritant.origin_unit.key, irritant.assignee.key) == ("lille", "roubaix")
    assert irritant.reporter_id == user(AGENT).id
    text = page_text(agent.get(response.headers["Location"]).get_data(as_text=True))
    assert "Sent to Store Roubaix" in text
    assert ("Store Lille lacks the refund-terminal. Region North lacks it too. "
            "Store Roubaix, 2 steps away, has everything it takes.") in text


def test_an_amount_typed_with_a_decimal_comma_keeps_its_cents(agent: FlaskClient) -> None:
    response = agent.post("/irritants/new", data={**GOOD, "amount": "1\u202f049,90"})

    assert response.status_code == 303
    assert db.session.scalars(select(Irritant)).one().amount == Decimal("1049.90")


def test_the_amount_is_a_text_box_so_that_the_browser_keeps_a_decimal_comma(
    agent: FlaskClient,
) -> None:
    # A browser drops the "," a French user types into <input type="number"> (49,90 is
    # sent as 4990): the box must be text, with the numeric keyboard of inputmode.
    html = agent.get("/irritants/new").get_data(as_text=True)

    amount = re.search(r'<input[^>]*id="amount"[^>]*>', html)
    assert amount is not None
    assert 'type="text"' in amount.group(0)
    assert 'inputmode="decimal"' in amount.group(0)


def test_without_javascript_the_result_page_lists_what_was_already_open_there(
    agent: FlaskClient,
) -> None:
    older = log_as("lead.lille@example.com", category="faulty-product", description="Cracked")

    response = agent.post("/irritants/new", data=GOOD, follow_redirects=True)

    html = response.get_data(as_text=True)
    assert "Also open at Store Lille in this category" in page_text(html)
    assert re.findall(r'<li class="similar__item"><a href="/irritants/(\d+)">', html) == [
        str(older.id)]


def test_the_form_offers_medium_severity_the_agents_unit_and_the_most_used_category_first(
    agent: FlaskClient,
) -> None:
    for _ in range(2):
        log_as(AGENT, category="billing-error")
    log_as(AGENT, category="app-bug", origin_unit="marseille")
    log_as(AGENT, category="app-bug", origin_unit="marseille")
    log_as(AGENT, category="app-bug", origin_unit="marseille")

    html = agent.get("/irritants/new").get_data(as_text=True)

    categories = re.findall(r'<option value="([a-z-]*)"', html.split('name="category"')[1]
                            .split("</select>")[0])
    # billing-error is the most used at Lille; app-bug only at Marseille; then by label.
    assert categories == ["", "billing-error", "faulty-product", "late-delivery", "app-bug",
                          "rude-service"]
    assert re.search(r'<input[^>]*checked[^>]*value="medium"|<input[^>]*value="medium"'
                     r'[^>]*checked', html)
    assert re.search(r'<option selected value="lille">|<option value="lille" selected>', html)
    assert 'accept="image/*"' in html
    assert 'capture="environment"' in html
    assert "<details class=\"more\">" in html


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"description": ""}, "description", "Describe what happened."),
        ({"description": "x" * 10_001}, "description", "At most 10,000 characters."),
        ({"category": ""}, "category", "Choose a category."),
        ({"category": "no-such-thing"}, "category", "Not a valid choice."),
        ({"severity": "urgent"}, "severity", "Not a valid choice."),
        ({"amount": "-5"}, "amount", "The amount cannot be negative."),
        ({"amount": "ten"}, "amount", "Not a valid decimal value."),
        ({"amount": "12.345"}, "amount", "Must have at most two decimals."),
        ({"origin_unit": "atlantis"}, "origin_unit", "Not a valid choice."),
        ({"channel": "pigeon"}, "channel", "Not a valid choice."),
        ({"customer_ref": "C" * 101}, "customer_ref", "At most 100 characters."),
    ],
)
def test_bad_input_shows_the_error_beside_its_field_and_writes_nothing(
    agent: FlaskClient, change: dict[str, str], field: str, message: str
) -> None:
    response = agent.post("/irritants/new", data={**GOOD, **change})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = re.search(rf'<ul class="field__errors" id="{field}-errors">(.*?)</ul>', html, re.S)
    assert errors is not None, html
    assert message in page_text(errors.group(1))
    assert count(Irritant) == 0
    assert count(IrritantEvent) == 0


def test_a_png_photo_is_stored_outside_static_under_a_generated_name(
    app: Flask, agent: FlaskClient
) -> None:
    data = {**GOOD, "photo": (io.BytesIO(tiny_png()), "../../etc/shelf photo.png")}

    response = agent.post("/irritants/new", data=data, content_type="multipart/form-data")

    assert response.status_code == 303
    attachment = db.session.scalars(select(Attachment)).one()
    assert re.fullmatch(r"[0-9a-f]{32}\.png", attachment.stored_name)
    assert (attachment.original_filename, attachment.content_type) == (
        "shelf photo.png", "image/png")
    stored = Path(app.config["UPLOAD_DIR"]) / attachment.stored_name
    assert stored.read_bytes() == tiny_png()
    static = Path(app.static_folder or "").resolve()
    assert static not in stored.resolve().parents


def test_an_html_file_named_png_is_refused_and_the_irritant_stays_with_the_error_shown(
    agent: FlaskClient,
) -> None:
    page = b"<!doctype html><html><script>alert(1)</script></html>"
    data = {**GOOD, "photo": (io.BytesIO(page), "kettle.png")}

    response = agent.post("/irritants/new", data=data, content_type="multipart/form-data",
                          follow_redirects=True)

    assert response.status_code == 200
    assert count(Irritant) == 1
    assert count(Attachment) == 0
    assert ("The irritant was sent, but the photo was not attached: The photo must be a JPEG, "
            "PNG, WebP or HEIC image.") in page_text(response.get_data(as_text=True))


def test_a_photo_over_the_photo_limit_is_refused_and_the_irritant_stays(
    app: Flask, agent: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 2_000_000)
    big = tiny_png() + b"\0" * 2_000_001
    data = {**GOOD, "photo": (io.BytesIO(big), "big.png")}

    response = agent.post("/irritants/new", data=data, content_type="multipart/form-data",
                          follow_redirects=True)

    assert response.status_code == 200
    assert (count(Irritant), count(Attachment)) == (1, 0)
    assert "The photo must be at most 2 MB." in page_text(response.get_data(as_text=True))


def test_a_request_over_the_upload_limit_gets_413_with_the_error_beside_the_photo(
    app: Flask, agent: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 3_000_000)
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 2_000_000)
    photo = FileStorage(io.BytesIO(b"\0" * 3_000_001), "huge.png", content_type="image/png")
    data = {**GOOD, "photo": photo}
    # An in-memory body: the test client would spool a body this large to a temporary file
    # that nothing closes when the app refuses to read it.
    boundary, body = encode_multipart(data)

    response = agent.post("/irritants/new", input_stream=io.BytesIO(body),
                          content_type=f"multipart/form-data; boundary={boundary}",
                          content_length=len(body))

    assert response.status_code == 413
    html = response.get_data(as_text=True)
    errors = re.search(r'id="photo-errors">(.*?)</ul>', html, re.S)
    assert errors is not None
    assert page_text(errors.group(1)) == "The photo must be at most 2 MB."
    assert (count(Irritant), count(Attachment)) == (0, 0)


def test_similar_lists_open_irritants_of_that_category_at_that_origin_newest_first(
    agent: FlaskClient,
) -> None:
    older = log_as(AGENT, category="faulty-product", description="Leaking kettle",
                   now=utcnow() - timedelta(days=3))
    newer = log_as("lead.lille@example.com", category="faulty-product", description="Broken")
    log_as(AGENT, category="billing-error")
    log_as(AGENT, category="faulty-product", now=utcnow() - timedelta(days=20))
    log_as("agent.marseille@example.com", category="faulty-product")

    response = agent.get("/irritants/similar?category=faulty-product&origin=lille")

    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["id"] for item in items] == [newer.id, older.id]
    assert items[1]["description"] == "Leaking kettle"
    assert items[1]["url"] == f"/irritants/{older.id}"
    assert items[1]["again_url"] == f"/irritants/{older.id}/again"
    assert items[1]["assignee"] == "Store Roubaix"
    assert items[1]["meta"].endswith("· with Store Roubaix · happened once")


def test_similar_shows_nothing_the_user_may_not_read(
    app: Flask, login_as: Callable[..., FlaskClient]
) -> None:
    log_as(AGENT, category="faulty-product")
    marseille = login_as("agent.marseille@example.com", app.test_client())

    response = marseille.get("/irritants/similar?category=faulty-product&origin=lille")

    assert (response.status_code, response.get_json()) == (200, {"items": []})


def test_it_happened_again_adds_an_occurrence_instead_of_a_duplicate(
    agent: FlaskClient,
) -> None:
    irritant = log_as(AGENT, category="faulty-product")

    response = agent.post(f"/irritants/{irritant.id}/again", data={"customer_ref": "C-77"})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/irritants/{irritant.id}"
    db.session.expire_all()
    assert (count(Irritant), db.session.get(Irritant, irritant.id).occurrences) == (1, 2)
    event = db.session.scalars(
        select(IrritantEvent).where(IrritantEvent.type == "occurred_again")).one()
    assert event.data == {"customer_ref": "C-77"}
    assert event.actor_id == user(AGENT).id


def test_it_happened_again_on_an_irritant_of_another_unit_is_404_and_writes_nothing(
    app: Flask, login_as: Callable[..., FlaskClient]
) -> None:
    irritant = log_as(AGENT, category="faulty-product")
    marseille = login_as("agent.marseille@example.com", app.test_client())

    response = marseille.post(f"/irritants/{irritant.id}/again", data={})

    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Irritant, irritant.id).occurrences == 1


def test_it_happened_again_with_a_too_long_reference_is_422_and_writes_nothing(
    agent: FlaskClient,
) -> None:
    irritant = log_as(AGENT, category="faulty-product")

    response = agent.post(f"/irritants/{irritant.id}/again", data={"customer_ref": "C" * 101})

    assert response.status_code == 422
    assert "At most 100 characters." in page_text(response.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Irritant, irritant.id).occurrences == 1


def test_my_irritants_lists_only_mine_with_team_due_time_and_resolution(
    agent: FlaskClient,
) -> None:
    from irritants.services.resolution import resolve_irritant

    mine = log_as(AGENT, description="Mine, still open")
    done = log_as(AGENT, description="Mine, resolved")
    log_as("lead.lille@example.com", description="Not mine")
    resolve_irritant(done.id, actor=user("lead.lille@example.com"), resolution="Apologised")

    response = agent.get("/irritants/mine")

    assert response.status_code == 200
    text = page_text(response.get_data(as_text=True))
    assert "Mine, still open" in text
    assert "Mine, resolved" in text
    assert "Not mine" not in text
    assert f"#{mine.id} · Unwelcoming service" in text
    assert "With Store Lille" in text
    assert "Due in 3 days" in text
    assert "Resolution: Apologised" in text


def test_free_text_is_rendered_inert_on_the_intake_pages(agent: FlaskClient) -> None:
    payload = " ".join(XSS_PAYLOADS)
    agent.post("/irritants/new", data={**GOOD, "description": payload,
                                       "customer_ref": XSS_PAYLOADS[1]})
    irritant = db.session.scalars(select(Irritant)).one()

    assert_inert(agent.get(f"/irritants/{irritant.id}?sent=1").get_data(as_text=True))
    assert_inert(agent.get("/irritants/mine").get_data(as_text=True),
                 payloads=(XSS_PAYLOADS[0],))
    rerendered = agent.post("/irritants/new", data={**GOOD, "description": payload,
                                                    "amount": "-1"})
    assert rerendered.status_code == 422
    assert_inert(rerendered.get_data(as_text=True))
