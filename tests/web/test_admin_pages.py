"""The admin pages: the tree, units, vocabulary, categories, users, import/export, audit."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from irritants.models import (
    ApiToken,
    AuditEvent,
    Category,
    PasswordToken,
    Unit,
    User,
    VocabularyLabel,
    utcnow,
)
from irritants.services import org_admin, org_edit, users_admin
from irritants.services.accounts import authenticate, find_user_by_email
from irritants.services.org_version import current_org_version
from tests.web.conftest import sign_in

XSS = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
NEW_PASSWORD = "a long and unusual sentence"

LoginAs = Callable[..., FlaskClient]
ADMIN_PAGES = [
    "/admin/units", "/admin/units?q=store", "/admin/units?parent=north",
    "/admin/units/new", "/admin/units/lille", "/admin/vocabulary",
    "/admin/vocabulary/tool/pos", "/admin/categories", "/admin/categories/new",
    "/admin/categories/late-delivery", "/admin/users", "/admin/users/new",
    "/admin/org/import", "/admin/org/export", "/admin/audit",
]


@pytest.fixture
def admin(login_as: LoginAs, client: FlaskClient) -> FlaskClient:
    """The admin, reading the pages in English (the messages asserted below)."""
    client.set_cookie("lang", "en")
    return login_as("admin")


def english(client: FlaskClient) -> FlaskClient:
    client.set_cookie("lang", "en")
    return client


def unit_row(db: Any, key: str) -> Unit:
    db.session.expire_all()
    return db.session.scalar(select(Unit).where(Unit.key == key))


def count(db: Any, model: Any) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def collapsed(html: str) -> str:
    """Runs of HTML whitespace as one space, as a browser shows them; a no-break space is not
    HTML whitespace and stays."""
    return re.sub(r"[ \t\n\r\f]+", " ", html)


def text_of(response: Any) -> str:
    return unescape(collapsed(response.get_data(as_text=True)))


def field_errors(response: Any, field_id: str) -> list[str]:
    """The messages shown beside one field."""
    html = response.get_data(as_text=True)
    match = re.search(rf'<ul class="field__errors" id="{field_id}-errors">(.*?)</ul>', html,
                      re.S)
    return [unescape(m.strip()) for m in re.findall(r"<li>(.*?)</li>", match.group(1), re.S)
            ] if match else []


def flashes(response: Any) -> list[str]:
    """The flash messages at the top of the page, as written (no-break spaces kept)."""
    html = response.get_data(as_text=True)
    return [unescape(text.strip())
            for text in re.findall(r'<p class="flash flash--\w+">(.*?)</p>', html, re.S)]


# -- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, org: Any, path: str):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].split("?")[0] == "/auth/login"


@pytest.mark.parametrize("role", ["agent", "lead", "director"])
def test_other_roles_get_403_on_every_admin_page(app: Flask, login_as: LoginAs, role: str):
    client = login_as(role)

    statuses = {path: client.get(path).status_code for path in ADMIN_PAGES}

    assert statuses == dict.fromkeys(ADMIN_PAGES, 403)


def test_admins_get_every_admin_page(admin: FlaskClient):
    statuses = {path: admin.get(path).status_code for path in ADMIN_PAGES}

    assert statuses == dict.fromkeys(ADMIN_PAGES, 200)


def test_other_roles_cannot_change_the_org(login_as: LoginAs, db: Any):
    client = login_as("director")
    version = current_org_version()

    response = client.post("/admin/units/new", data={"key": "x", "name": "X", "parent": "hq"})

    assert response.status_code == 403
    assert unit_row(db, "x") is None
    assert current_org_version() == version


# -- units -----------------------------------------------------------------------------------


def test_the_units_list_searches_by_key_or_name_and_paginates(admin: FlaskClient, db: Any):
    for number in range(60):
        org_edit.create_unit(f"shop-{number:02d}", f"Shop {number:02d}", "south", actor=None)

    first = admin.get("/admin/units?q=shop")
    second = admin.get("/admin/units?q=SHOP&page=2")

    keys_first = re.findall(r'href="/admin/units/(shop-\d\d)"><code>', first.get_data(True))
    keys_second = re.findall(r'href="/admin/units/(shop-\d\d)"><code>', second.get_data(True))
    assert keys_first == [f"shop-{n:02d}" for n in range(50)]
    assert keys_second == [f"shop-{n:02d}" for n in range(50, 60)]
    assert "60 units" in text_of(first)
    assert 'rel="next" href="/admin/units?q=shop&amp;page=2"' in first.get_data(True)


def test_the_tree_shows_one_level_at_a_time_with_breadcrumbs(admin: FlaskClient):
    response = admin.get("/admin/units?parent=north")

    html = response.get_data(as_text=True)
    tree = html[html.index('id="tree"'):]
    assert re.findall(r'href="/admin/units\?parent=([\w-]+)#tree">', tree)[:2] == ["hq", "cs"]
    assert re.findall(r'<a href="/admin/units/([\w-]+)"', tree) == [
        "north", "lille", "north-bo", "roubaix"]


def test_the_tree_fragment_holds_only_the_children_of_a_node(admin: FlaskClient):
    response = admin.get("/admin/units?parent=hq&fragment=1")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html
    assert re.findall(r'<a href="/admin/units/([\w-]+)">', html) == ["cs", "digital",
                                                                     "logistics"]
    assert "2 sub-units" in text_of(response)


def test_an_unknown_unit_is_404(admin: FlaskClient):
    assert admin.get("/admin/units/atlantis").status_code == 404
    assert admin.get("/admin/units?parent=atlantis").status_code == 404


def test_the_unit_page_shows_breadcrumbs_of_its_ancestors(admin: FlaskClient):
    html = admin.get("/admin/units/lille").get_data(as_text=True)

    crumbs = html[html.index('class="breadcrumbs"'):html.index("</nav>",
                                                                html.index('class="breadcrumbs"'))]
    assert re.findall(r'href="/admin/units/([\w-]+)"', crumbs) == ["hq", "cs", "north"]
    assert '<span aria-current="page">Store Lille</span>' in crumbs


def test_creating_a_unit_redirects_to_it_and_bumps_the_version(admin: FlaskClient, db: Any):
    version = current_org_version()

    response = admin.post("/admin/units/new",
                          data={"key": "lens", "name": "Store Lens", "parent": "north"})

    assert (response.status_code, response.headers["Location"]) == (302, "/admin/units/lens")
    assert unit_row(db, "lens").parent.key == "north"
    assert current_org_version() == version + 1


def test_a_bad_new_unit_is_re_rendered_with_errors_beside_the_fields(admin: FlaskClient,
                                                                    db: Any):
    units, version = count(db, Unit), current_org_version()

    response = admin.post("/admin/units/new",
                          data={"key": "Bad Key", "name": "X", "parent": "atlantis"})

    assert response.status_code == 422
    assert field_errors(response, "key")[0].startswith("“Bad Key” is not a valid key")
    assert field_errors(response, "parent") == ["Unknown unit “atlantis”."]
    assert (count(db, Unit), current_org_version()) == (units, version)


def test_an_empty_required_field_says_it_as_the_rest_of_the_app(admin: FlaskClient, db: Any):
    # WTForms' own message is « Ce champ est requis. »; the services say « obligatoire ».
    units = count(db, Unit)
    admin.set_cookie("lang", "fr")

    response = admin.post("/admin/units/new", data={"key": "", "name": "", "parent": "north"})

    assert response.status_code == 422
    assert (field_errors(response, "key"), field_errors(response, "name")) == (
        ["Ce champ est obligatoire."], ["Ce champ est obligatoire."])
    assert count(db, Unit) == units


def test_moving_a_unit_under_its_descendant_is_refused_naming_the_keys(admin: FlaskClient,
                                                                      db: Any):
    version = current_org_version()

    response = admin.post("/admin/units/north", data={"name": "Region North",
                                                      "parent": "lille"})

    assert response.status_code == 422
    assert field_errors(response, "parent") == [
        "Moving “north” under “lille” would make a cycle: “lille” is “north” itself or one "
        "of its sub-units."]
    assert unit_row(db, "north").parent.key == "cs"
    assert current_org_version() == version


def test_renaming_and_moving_at_once_is_one_change(admin: FlaskClient, db: Any):
    version = current_org_version()

    response = admin.post("/admin/units/north", data={"name": "Nord", "parent": "hq"})

    assert (response.status_code, response.headers["Location"]) == (302, "/admin/units/north")
    row = unit_row(db, "north")
    assert (row.name, row.parent.key) == ("Nord", "hq")
    assert current_org_version() == version + 1
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.type, event.data["before"], event.data["after"]) == (
        "unit_changed", {"name": "Region North", "parent": "cs"},
        {"name": "Nord", "parent": "hq"})


def test_capabilities_are_chosen_from_the_vocabulary_with_limits(admin: FlaskClient, db: Any):
    response = admin.post("/admin/units/lille/capabilities", data={
        "competencies": ["product", "service", "delivery"], "tools": ["pos", "crm"],
        "authorities": ["gesture", "refund"], "limit-gesture": "1 000,50", "limit-refund": "",
        "limit-policy-exception": "99"})

    assert (response.status_code, response.headers["Location"]) == (302, "/admin/units/lille")
    row = unit_row(db, "lille")
    assert (sorted(row.competencies), sorted(row.tools), row.authorities) == (
        ["delivery", "product", "service"], ["crm", "pos"],
        {"gesture": 1000.5, "refund": None})


def test_a_tool_typo_is_refused_on_the_page_and_nothing_is_written(admin: FlaskClient,
                                                                   db: Any):
    version = current_org_version()

    response = admin.post("/admin/units/lille/capabilities", data={
        "competencies": ["product"], "tools": ["refund-termnal"]})

    assert response.status_code == 422
    assert field_errors(response, "tools") == [
        "Unknown tool “refund-termnal”: choose one of the organisation's tools, or add it "
        "to the vocabulary first."]
    assert unit_row(db, "lille").tools == ["pos"]
    assert current_org_version() == version


def test_a_limit_that_is_not_a_number_is_refused(admin: FlaskClient, db: Any):
    response = admin.post("/admin/units/lille/capabilities", data={
        "authorities": ["gesture"], "limit-gesture": "lots"})

    assert response.status_code == 422
    assert field_errors(response, "authorities") == [
        "The limit of gesture must be a number, or empty for unlimited."]
    assert unit_row(db, "lille").authorities == {"gesture": 50, "refund": 150}


def test_closing_a_unit_with_users_is_refused_with_the_reason(admin: FlaskClient, db: Any):
    response = admin.post("/admin/units/lille/close")

    assert response.status_code == 422
    assert ("Unit “lille” still has active users (agent.lille@example.com, "
            "lead.lille@example.com): move or deactivate them first.") in text_of(response)
    assert unit_row(db, "lille").closed_at is None


def test_closing_then_reopening_a_unit(admin: FlaskClient, db: Any):
    closed = admin.post("/admin/units/app-support/close")
    assert unit_row(db, "app-support").closed_at is not None
    reopened = admin.post("/admin/units/app-support/reopen")

    assert (closed.status_code, closed.headers["Location"]) == (
        302, "/admin/units/app-support")
    assert reopened.status_code == 302
    assert unit_row(db, "app-support").closed_at is None


# -- vocabulary and categories --------------------------------------------------------------


def test_adding_a_vocabulary_item(admin: FlaskClient, db: Any):
    version = current_org_version()

    response = admin.post("/admin/vocabulary", data={
        "kind": "tool", "key": "label-printer", "label_fr": "Imprimante", "label_en": "Printer"})

    assert (response.status_code, response.headers["Location"]) == (302, "/admin/vocabulary")
    label = db.session.scalar(select(VocabularyLabel))
    assert (label.kind, label.key, label.label_fr, label.label_en) == (
        "tool", "label-printer", "Imprimante", "Printer")
    assert current_org_version() == version + 1


def test_adding_an_existing_vocabulary_item_is_refused(admin: FlaskClient, db: Any):
    response = admin.post("/admin/vocabulary", data={
        "kind": "tool", "key": "pos", "label_fr": "Caisse", "label_en": "Till"})

    assert response.status_code == 422
    assert field_errors(response, "key") == [
        "“pos” is already in the vocabulary: edit its labels instead."]
    assert count(db, VocabularyLabel) == 0


def test_relabelling_a_vocabulary_item(admin: FlaskClient, db: Any):
    response = admin.post("/admin/vocabulary/tool/pos",
                          data={"label_fr": "Caisse", "label_en": "Till"})

    assert (response.status_code, response.headers["Location"]) == (302, "/admin/vocabulary")
    label = db.session.scalar(select(VocabularyLabel))
    assert (label.key, label.label_fr, label.label_en) == ("pos", "Caisse", "Till")


CATEGORY_FORM = {
    "key": "damaged-parcel", "label_fr": "Colis abîmé", "label_en": "Damaged parcel",
    "competency": "delivery", "authority": "gesture", "tools": ["carrier-portal"],
    "sla_critical": "2", "sla_high": "12,5", "sla_medium": "", "sla_low": "",
    "root_causes": "carrier | Transporteur | Carrier\npacking | Emballage",
    "active": "y",
}


def test_creating_a_category_from_the_page(admin: FlaskClient, db: Any):
    response = admin.post("/admin/categories/new", data=CATEGORY_FORM)

    assert (response.status_code, response.headers["Location"]) == (
        302, "/admin/categories/damaged-parcel")
    row = db.session.scalar(select(Category).where(Category.key == "damaged-parcel"))
    assert (row.label_fr, row.competency, row.authority, row.tools, row.sla_hours,
            row.root_causes, row.active) == (
        "Colis abîmé", "delivery", "gesture", ["carrier-portal"],
        {"high": 12.5, "critical": 2},
        [{"key": "carrier", "fr": "Transporteur", "en": "Carrier"},
         {"key": "packing", "fr": "Emballage", "en": "Emballage"}], True)


def test_the_sla_hours_are_text_boxes_so_that_the_browser_keeps_a_decimal_comma(
        admin: FlaskClient, db: Any):
    # In <input type="number"> a browser drops the "," of "2,5": 25 hours would be saved.
    html = admin.get("/admin/categories/new").get_data(as_text=True)

    boxes = re.findall(r'<input[^>]*id="sla_[a-z]+"[^>]*>', html)
    assert len(boxes) == 4
    assert all('type="text"' in box and 'inputmode="decimal"' in box for box in boxes), boxes


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"competency": "delivry"}, "competency",
     "Unknown competency “delivry”: choose one of the organisation's competencies, or add "
     "it to the vocabulary first."),
    ({"sla_high": "0"}, "sla_high",
     "Hours must be a number > 0 (at most 87,600), or empty for the default."),
    ({"root_causes": "just one field"}, "root_causes",
     "Line 1: write key | French label | English label."),
    ({"key": "late-delivery"}, "key", "A category with the key “late-delivery” already exists."),
])
def test_a_bad_category_is_re_rendered_and_nothing_is_written(admin: FlaskClient, db: Any,
                                                              changes: dict[str, str],
                                                              field: str, message: str):
    categories, version = count(db, Category), current_org_version()

    response = admin.post("/admin/categories/new", data={**CATEGORY_FORM, **changes})

    assert response.status_code == 422
    assert field_errors(response, field) == [message]
    assert (count(db, Category), current_org_version()) == (categories, version)


@pytest.mark.parametrize(("language", "message"), [
    ("en", "At most 20,000 characters."),
    ("fr", "20\u202f000 caractères au plus."),
])
def test_too_long_root_causes_are_refused_in_the_admin_s_language(
        admin: FlaskClient, db: Any, language: str, message: str):
    # The app's own message, the number written as the admin writes numbers (WTForms' own
    # Length said "Field cannot be longer than 20000 characters.").
    categories = count(db, Category)
    admin.set_cookie("lang", language)

    response = admin.post("/admin/categories/new",
                          data={**CATEGORY_FORM, "root_causes": "x" * 20_001})

    assert response.status_code == 422
    assert field_errors(response, "root_causes") == [message]
    assert count(db, Category) == categories


def test_deactivating_a_category_from_its_page(admin: FlaskClient, db: Any):
    page = admin.get("/admin/categories/late-delivery").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="carrier-portal"', page)

    data = {**CATEGORY_FORM, "key": "", "label_fr": "Livraison en retard",
            "label_en": "Late delivery", "tools": ["carrier-portal"],
            "sla_high": "", "root_causes": "process | Processus | Process"}
    del data["active"]
    response = admin.post("/admin/categories/late-delivery", data=data)

    assert response.status_code == 302
    row = db.session.scalar(select(Category).where(Category.key == "late-delivery"))
    db.session.refresh(row)
    assert (row.active, row.sla_hours) == (False, {"critical": 2})


# -- stored XSS -------------------------------------------------------------------------------


def test_the_sla_hours_of_the_categories_read_in_the_admin_s_language(admin: FlaskClient,
                                                                        db: Any):
    english_page = text_of(admin.get("/admin/categories"))
    admin.set_cookie("lang", "fr")
    french_page = text_of(admin.get("/admin/categories"))

    assert "critical: 2 h" in english_page
    assert "critique\u00a0: 2 h" in french_page
    assert "critical:" not in french_page


def test_unit_and_category_names_are_rendered_escaped_everywhere(admin: FlaskClient, db: Any):
    org_edit.create_unit("evil", XSS, "hq", actor=None)
    org_edit.rename_unit("lille", XSS, actor=None)
    org_edit.relabel_vocabulary_item("tool", "pos", XSS, XSS, actor=None)
    category = org_edit.get_category("late-delivery")
    org_edit.update_category(
        "late-delivery", **{**org_edit._category_state(category), "label_fr": XSS,
                            "label_en": XSS,
                            "root_causes": [{"key": "x", "fr": XSS, "en": XSS}]}, actor=None)

    invited = users_admin.invite_user("evil@example.com", XSS, "agent", "evil", actor=None)

    pages = [f"/admin/users/{invited.user.id}", "/admin/users?q=evil",
             "/admin/units", "/admin/units?q=evil", "/admin/units?parent=hq",
             "/admin/units?parent=hq&fragment=1", "/admin/units/evil",
             "/admin/units/lille", "/admin/units/roubaix", "/admin/categories",
             "/admin/categories/late-delivery", "/admin/vocabulary", "/admin/audit",
             "/admin/users"]
    for path in pages:
        html = admin.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in html, path
        assert "<img src=x" not in html, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in admin.get("/admin/units/evil").get_data(
        as_text=True)


# -- users ------------------------------------------------------------------------------------


def test_the_users_list_says_it_searches_by_email_or_name(admin: FlaskClient, db: Any):
    response = admin.get("/admin/users?q=marseille@")

    assert "Search by email or name" in text_of(response)  # users have no key
    assert "Search by key or name" not in text_of(response)
    assert re.findall(r'href="/admin/users/\d+">([^<]+)</a>', response.get_data(True)) == [
        "agent.marseille@example.com"]


def set_password_path(link_page: str) -> str:
    match = re.search(r'value="http://localhost(/set-password/[\w-]+)"', link_page)
    assert match, link_page
    return match.group(1)


def test_inviting_shows_the_link_once_and_emails_it(admin: FlaskClient, app: Flask, db: Any):
    outbox = app.extensions["mailman"].outbox = []

    response = admin.post("/admin/users/new", data={
        "email": "new@example.com", "name": "New Person", "role": "lead", "unit": "north",
        "locale": "en"})

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    path = set_password_path(response.get_data(as_text=True))
    token = path.rsplit("/", 1)[1]
    user = find_user_by_email("new@example.com")
    assert (user.role, user.unit.key, user.password_hash) == ("lead", "north", None)
    stored = db.session.scalar(select(PasswordToken.token_hash))
    assert stored == users_admin.token_digest(token) != token
    assert [message.to for message in outbox] == [["new@example.com"]]
    assert path in outbox[0].body


def test_a_bad_invite_is_re_rendered_and_writes_nothing(admin: FlaskClient, db: Any):
    users = count(db, User)

    response = admin.post("/admin/users/new", data={
        "email": "agent.lille@example.com", "name": "Dup", "role": "agent", "unit": "lille",
        "locale": "fr"})

    assert response.status_code == 422
    assert field_errors(response, "email") == [
        "Someone already has the email agent.lille@example.com."]
    assert (count(db, User), count(db, PasswordToken)) == (users, 0)


def invitation_path(admin: FlaskClient, locale: str) -> str:
    """The set-password link of a new agent invited to read the pages in `locale`."""
    page = admin.post("/admin/users/new", data={
        "email": "new@example.com", "name": "New", "role": "agent", "unit": "lille",
        "locale": locale}).get_data(as_text=True)
    return set_password_path(page)


def browser_in(client: FlaskClient, language: str) -> FlaskClient:
    """The client's browser asks for `language` (no language switch used)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def test_the_invited_person_sets_a_password_once_then_signs_in(admin: FlaskClient, app: Flask,
                                                               db: Any):
    path = invitation_path(admin, "fr")
    visitor = browser_in(app.test_client(), "en")

    shown = visitor.get(path)
    weak = visitor.post(path, data={"password": "short", "confirm": "short"})
    done = visitor.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    again = browser_in(app.test_client(), "en").get(path)

    assert shown.status_code == 200
    assert shown.headers["Referrer-Policy"] == "no-referrer"
    assert weak.status_code == 422
    # The invitee chose French: the page and its messages are French, whatever the browser.
    assert field_errors(weak, "password") == ["Utilisez au moins 8 caractères."]
    assert (done.status_code, done.headers["Location"]) == (302, "/auth/login")
    # A spent link no longer names anyone: another browser opening it reads its own language.
    assert again.status_code == 410
    assert "This link has already been used." in text_of(again)
    assert authenticate("new@example.com", NEW_PASSWORD) is not None


@pytest.mark.parametrize(("chosen", "browser", "heading"), [
    ("fr", "en-GB,en;q=0.9", "Choisissez votre mot de passe"),
    ("en", "fr-FR,fr;q=0.9", "Choose your password"),
])
def test_a_password_link_speaks_the_invitee_s_language_not_the_browser_s(
        admin: FlaskClient, app: Flask, db: Any, chosen: str, browser: str, heading: str):
    path = invitation_path(admin, chosen)

    shown = browser_in(app.test_client(), browser).get(path)

    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert f'<html lang="{chosen}"' in html
    assert f"<h1>{heading}</h1>" in html


@pytest.mark.parametrize(("chosen", "browser", "heading", "saved"), [
    ("fr", "en", "Se connecter", "Votre mot de passe est enregistré\u00a0: connectez-vous avec."),
    ("en", "fr", "Sign in", "Your password is saved: sign in with it."),
])
def test_after_setting_the_password_the_sign_in_page_speaks_the_invitee_s_language(
        admin: FlaskClient, app: Flask, db: Any, chosen: str, browser: str, heading: str,
        saved: str):
    path = invitation_path(admin, chosen)
    visitor = browser_in(app.test_client(), browser)

    sign_in_page = visitor.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                                follow_redirects=True)
    mistyped = visitor.post("/auth/login", data={"email": "new@example.com",
                                                 "password": "not-the-password"})

    assert sign_in_page.request.path == "/auth/login"
    html = sign_in_page.get_data(as_text=True)
    assert f'<html lang="{chosen}"' in html
    assert f"<h1>{heading}</h1>" in html
    assert flashes(sign_in_page) == [saved]
    # A mistyped password shows the sign-in page again: still in the invitee's language.
    assert mistyped.status_code == 422
    assert f"<h1>{heading}</h1>" in mistyped.get_data(as_text=True)


def test_the_invitee_s_language_lasts_until_they_sign_in(admin: FlaskClient, app: Flask,
                                                         db: Any):
    path = invitation_path(admin, "fr")
    visitor = browser_in(app.test_client(), "en")
    visitor.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    sign_in(visitor, "new@example.com", NEW_PASSWORD)
    visitor.post("/auth/logout")

    signed_out = visitor.get("/auth/login")

    # Signed in, their account's language took over; signed out, the browser's decides again.
    assert "<h1>Sign in</h1>" in signed_out.get_data(as_text=True)


def test_the_language_switch_still_wins_on_a_password_link(admin: FlaskClient, app: Flask,
                                                           db: Any):
    path = invitation_path(admin, "fr")
    visitor = browser_in(app.test_client(), "fr")
    visitor.post("/auth/language", data={"lang": "en", "next": path})

    shown = visitor.get(path)

    assert "<h1>Choose your password</h1>" in shown.get_data(as_text=True)


def test_an_unknown_link_gets_400_and_an_expired_one_410(client: FlaskClient, db: Any,
                                                          org: Any):
    english(client)
    user = find_user_by_email("agent.lille@example.com")
    link = users_admin.issue_password_reset(user, actor=None,
                                            now=utcnow() - timedelta(hours=49))

    unknown = client.get("/set-password/" + "x" * 43)
    expired = client.post(f"/set-password/{link.token}",
                          data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert unknown.status_code == 400
    assert "This link is not valid." in text_of(unknown)
    assert expired.status_code == 410
    assert "This link has expired." in text_of(expired)
    assert authenticate("agent.lille@example.com", "lille-agent-pass") is not None


def test_changing_a_user_s_role_and_unit(admin: FlaskClient, db: Any):
    user = find_user_by_email("agent.marseille@example.com")

    response = admin.post(f"/admin/users/{user.id}", data={"role": "lead", "unit": "south"})

    assert (response.status_code, response.headers["Location"]) == (
        302, f"/admin/users/{user.id}")
    db.session.expire_all()
    assert (user.role, user.unit.key) == ("lead", "south")


def test_a_closed_or_unknown_unit_is_refused_beside_the_field(admin: FlaskClient, db: Any):
    user = find_user_by_email("agent.marseille@example.com")

    response = admin.post(f"/admin/users/{user.id}", data={"role": "agent", "unit": "nowhere"})

    assert response.status_code == 422
    assert field_errors(response, "unit") == ["Unknown unit “nowhere”."]


def test_deactivation_kills_an_open_session_and_an_api_token_at_once(
        admin: FlaskClient, app: Flask, login_as: LoginAs, db: Any):
    agent_client = login_as("agent", app.test_client())
    assert agent_client.get("/auth/account").status_code == 200
    token = app.test_client().post("/api/v1/tokens", json={
        "email": "agent.lille@example.com", "password": "lille-agent-pass"}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/units", headers=bearer).status_code == 200
    user = find_user_by_email("agent.lille@example.com")

    response = admin.post(f"/admin/users/{user.id}/deactivate")

    assert (response.status_code, response.headers["Location"]) == (
        302, f"/admin/users/{user.id}")
    after = agent_client.get("/auth/account")
    assert (after.status_code, after.headers["Location"].split("?")[0]) == (302, "/auth/login")
    assert app.test_client().get("/api/v1/units", headers=bearer).status_code == 401
    db.session.expire_all()
    assert [row.revoked_at is not None for row in db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id))] == [True]


@pytest.mark.parametrize(("language", "message"), [
    ("en", "Deactivate Agent Lille? Their sessions and tokens stop working at once."),
    ("fr", "Désactiver Agent Lille\u202f? Ses sessions et ses jetons cessent de fonctionner "
           "aussitôt."),
])
def test_deactivating_asks_first_naming_the_person(admin: FlaskClient, language: str,
                                                    message: str):
    user = find_user_by_email("agent.lille@example.com")
    admin.set_cookie("lang", language)

    html = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)

    assert confirmation_of(html, f"/admin/users/{user.id}/deactivate") == message.replace(
        "Agent Lille", user.name)


@pytest.mark.parametrize(("language", "message"), [
    ("en", "Close Store Lille? Routing stops sending irritants to it at once."),
    ("fr", "Fermer Store Lille\u202f? L’orientation cesse aussitôt de lui envoyer des "
           "irritants."),
])
def test_closing_a_unit_asks_first_naming_it(admin: FlaskClient, language: str, message: str):
    admin.set_cookie("lang", language)

    html = admin.get("/admin/units/lille").get_data(as_text=True)

    assert confirmation_of(html, "/admin/units/lille/close") == message


def confirmation_of(html: str, action: str) -> str:
    """The data-confirm message of the button of the form posting to `action`."""
    form = html.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    return unescape(re.findall(r'data-confirm="([^"]*)"', form)[0])


def test_an_admin_cannot_deactivate_their_own_account(admin: FlaskClient, db: Any):
    me = find_user_by_email("admin@example.com")

    response = admin.post(f"/admin/users/{me.id}/deactivate")

    assert response.status_code == 422
    assert "You cannot deactivate your own account." in text_of(response)
    db.session.expire_all()
    assert me.is_active_account is True


def test_a_reset_link_from_the_user_page_works_once(admin: FlaskClient, app: Flask, db: Any):
    user = find_user_by_email("agent.marseille@example.com")

    page = admin.post(f"/admin/users/{user.id}/reset")
    path = set_password_path(page.get_data(as_text=True))
    done = app.test_client().post(path, data={"password": NEW_PASSWORD,
                                              "confirm": NEW_PASSWORD})

    assert page.status_code == 200
    assert done.status_code == 302
    assert authenticate("agent.marseille@example.com", NEW_PASSWORD) is not None
    assert authenticate("agent.marseille@example.com", "marseille-agent-pass") is None


# -- import, export, audit --------------------------------------------------------------------


def upload(client: FlaskClient, content: bytes) -> Any:
    return client.post("/admin/org/import", data={"file": (io.BytesIO(content), "org.json")},
                       content_type="multipart/form-data")


def test_importing_a_file_from_the_page(admin: FlaskClient, db: Any):
    data = {"units": [{"key": "lens", "name": "Store Lens", "parent": "north"}]}

    response = upload(admin, json.dumps(data).encode())

    assert (response.status_code, response.headers["Location"]) == (302, "/admin/org/import")
    assert unit_row(db, "lens").parent.key == "north"


def test_a_refused_import_names_the_key_and_writes_nothing(admin: FlaskClient, db: Any):
    data = {"units": [{"key": "lens", "name": "Store Lens", "parent": "north"},
                      {"key": "arras", "name": "Store Arras", "parent": "atlantis"}]}
    version, units = current_org_version(), count(db, Unit)

    response = upload(admin, json.dumps(data).encode())

    assert response.status_code == 422
    assert field_errors(response, "file") == [
        "units.1.parent: unit “arras” has an unknown parent “atlantis”"]
    assert (count(db, Unit), current_org_version()) == (units, version)


def test_a_refused_import_speaks_french_to_a_french_admin(admin: FlaskClient, db: Any):
    admin.set_cookie("lang", "fr")
    data = {"units": [{"key": "lens", "name": "", "parent": "north"},
                      {"key": "arras", "name": "Magasin Arras", "parent": "atlantis"}],
            "users": [{"email": "new@example.com", "name": "Nouvelle", "unit": "lens",
                       "role": "boss"}]}

    response = upload(admin, json.dumps(data).encode())

    assert response.status_code == 422
    assert field_errors(response, "file") == [
        "units.0.name\u00a0: unité «\u00a0lens\u00a0»\u00a0: nom est obligatoire\u00a0: un "
        "texte non vide d’au plus 200 caractères",
        "users.0.role\u00a0: utilisateur «\u00a0new@example.com\u00a0»\u00a0: rôle inconnu "
        "«\u00a0boss\u00a0» (parmi agent, lead, director, admin)",
    ]
    assert count(db, Unit) == 12


@pytest.mark.parametrize(("language", "messages"), [
    ("en", ["users: “users” must be a list",
            "labels: “labels” must be an object with competencies, authorities and tools"]),
    ("fr", ["users\u00a0: «\u00a0users\u00a0» doit être une liste",
            "labels\u00a0: «\u00a0labels\u00a0» doit être un objet avec competencies, "
            "authorities et tools"]),
])
def test_a_key_named_by_an_import_error_is_quoted_as_the_admin_s_language_quotes(
        admin: FlaskClient, db: Any, language: str, messages: list[str]):
    admin.set_cookie("lang", language)
    data = {"units": [{"key": "lens", "name": "Store Lens", "parent": "north"}],
            "users": {"new@example.com": {}}, "labels": []}

    response = upload(admin, json.dumps(data).encode())

    assert response.status_code == 422
    assert field_errors(response, "file") == messages


def test_a_file_that_is_not_json_is_refused(admin: FlaskClient, db: Any):
    response = upload(admin, b"\xff\xfenot json")

    assert response.status_code == 422
    assert field_errors(response, "file")[0].startswith("This is not a JSON file")


def test_export_downloads_the_org_in_the_import_format(admin: FlaskClient, db: Any):
    response = admin.get("/admin/org/export")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="organisation.json"')
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data(as_text=True)) == org_admin.export_org()


def test_the_audit_trail_lists_admin_changes_newest_first(admin: FlaskClient, db: Any):
    admin.post("/admin/units/new", data={"key": "lens", "name": "Store Lens",
                                         "parent": "north"})
    admin.post("/admin/units/lens", data={"name": "Lens", "parent": "north"})

    response = admin.get("/admin/audit")

    types = re.findall(r'<td data-label="What">([\w ]+) <code>(\w+)</code></td>',
                       response.get_data(as_text=True))
    assert types[:2] == [("Unit renamed", "unit_renamed"), ("Unit created", "unit_created")]
    assert "Adam Admin" in text_of(response)


def test_the_audit_trail_names_a_directors_grant(admin: FlaskClient, db: Any):
    from irritants.services.grants import grant_gap

    director = db.session.scalar(select(User).where(User.email == "director@example.com"))
    grant_gap(actor=director, unit="lille", grant_tools=["crm"], reason="Billing stays here")

    response = admin.get("/admin/audit")

    types = re.findall(r'<td data-label="What">([\w ]*) <code>(\w+)</code></td>',
                       response.get_data(as_text=True))
    assert types[0] == ("Granted to the unit", "grant")


def audit_changes(response: Any) -> list[str]:
    """The lines of the audit trail's Changes column, newest event first."""
    html = response.get_data(as_text=True)
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [unescape(collapsed(line)).strip(" ")
            for line in re.findall(r"<li>(.*?)</li>", body, re.S)]


def change_a_unit(db: Any) -> None:
    org_edit.rename_unit("lille", "Store Lille Centre", actor=None)
    org_edit.set_unit_capabilities("lille", competencies=["product", "service"], tools=[],
                                   authorities={"gesture": 50, "refund": 500}, actor=None)
    db.session.commit()


def test_the_audit_trail_shows_changes_as_plain_words(admin: FlaskClient, db: Any):
    change_a_unit(db)

    response = admin.get("/admin/audit")

    assert audit_changes(response)[:5] == [
        "Tools: pos → none",
        "Authorities: gesture ≤ 50, refund ≤ 150 → gesture ≤ 50, refund ≤ 500",
        f"Organisation version: {current_org_version()}",
        "Name: Store Lille → Store Lille Centre",
        f"Organisation version: {current_org_version() - 1}",
    ]
    body = response.get_data(as_text=True).split("<tbody>", 1)[1]
    assert "{" not in body
    assert "&#34;" not in body


def test_the_audit_trail_reads_in_french(admin: FlaskClient, db: Any):
    change_a_unit(db)
    admin.set_cookie("lang", "fr")

    lines = audit_changes(admin.get("/admin/audit"))

    assert "Outils\u00a0: pos → rien" in lines
    assert "Habilitations\u00a0: gesture ≤ 50, refund ≤ 150 → gesture ≤ 50, refund ≤ 500" in lines
    assert "Nom\u00a0: Store Lille → Store Lille Centre" in lines


@pytest.mark.parametrize(("language", "captions"), [
    ("en", ["When", "Who", "What", "Subject", "Changes"]),
    ("fr", ["Quand", "Qui", "Quoi", "Objet", "Modifications"]),
])
def test_each_audit_cell_names_its_column_for_the_phone_cards(
        admin: FlaskClient, db: Any, language: str, captions: list[str]):
    change_a_unit(db)
    admin.set_cookie("lang", language)

    html = admin.get("/admin/audit").get_data(as_text=True)

    table = html.split('<table class="table--cards">', 1)[1].split("</table>", 1)[0]
    headers = re.findall(r'<th scope="col">(.*?)</th>', table)
    first_row = table.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert headers == captions
    assert re.findall(r'<td data-label="(.*?)">', first_row) == captions


@pytest.mark.parametrize(("path", "current"), [
    ("/admin/units", "Units"), ("/admin/vocabulary", "Vocabulary"),
    ("/admin/categories", "Categories"), ("/admin/users", "Users"),
    ("/admin/org/import", "Import and export"), ("/admin/audit", "Audit trail"),
])
def test_the_admin_navigation_marks_the_page_the_admin_is_on(admin: FlaskClient, path: str,
                                                              current: str):
    html = admin.get(path).get_data(as_text=True)

    nav = html.split('<nav class="section-nav"', 1)[1].split("</nav>", 1)[0]
    links = re.findall(r'<a class="section-nav__link" href="[^"]+"( aria-current="page")?>'
                       r"(.*?)</a>", nav)
    assert [label for _marked, label in links] == [
        "Units", "Vocabulary", "Categories", "Users", "Import and export", "Audit trail"]
    assert [label for marked, label in links if marked] == [current]


def test_the_audit_trail_escapes_what_it_shows(admin: FlaskClient, db: Any):
    org_edit.rename_unit("lille", XSS, actor=None)
    db.session.commit()

    html = admin.get("/admin/audit").get_data(as_text=True)

    assert "<script>alert(1)" not in html
    assert "Name: Store Lille → " + XSS in audit_changes(admin.get("/admin/audit"))
