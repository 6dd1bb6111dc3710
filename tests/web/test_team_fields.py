"""The team fields of the directors' and admins' forms: a select of the teams (a text box
with suggestions from PICKER_FROM teams on), never a unit key to know and type.

The filters of the directors' pages offer the teams the user may read (a lead's subtree,
else every open team); the grant, the what-if and the admin forms every open team. A key
that is not offered is refused beside its field and nothing is computed or written. The
history is the one of tests/services/test_dashboards.py, asked for 3 to 16 March 2025.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from irritants.extensions import db
from irritants.models import AuditEvent, Unit, User
from irritants.services import org_edit
from irritants.services.org_admin import import_org
from irritants.services.org_version import current_org_version
from irritants.web import unit_select
from irritants.web.insights import views as insights_views
from tests.services.test_dashboards import history as history  # noqa: F401 (fixture)
from tests.web.irritant_fixtures import input_of, page_text, value_of

PERIOD = {"since": "2025-03-03", "until": "2025-03-16"}
NBSP = "\u00a0"
# The open units of the small organisation, in the order of the tree.
OPEN_UNITS = ["hq", "cs", "north", "lille", "north-bo", "roubaix", "south", "marseille", "nice",
              "digital", "app-support", "logistics"]
NORTH = ["north", "lille", "north-bo", "roubaix"]  # lead.north's subtree
NORTH_LEAD = "lead.north@example.com"
DEPOTS = 300
FILTER_PAGES = ["/insights/", "/insights/irritants", "/insights/gaps", "/insights/locality",
                "/insights/hr"]


@pytest.fixture
def sign_in(app: Flask, login_as: Callable[..., FlaskClient]) -> Callable[..., FlaskClient]:
    """A fresh session for that user (or role), reading pages in English or French."""

    def signed_in(who: str, lang: str = "en") -> FlaskClient:
        client = login_as(who, app.test_client())
        client.set_cookie("lang", lang)
        return client

    return signed_in


@pytest.fixture
def large_org(org: dict[str, Any]) -> None:
    """The small organisation and 300 depots under Logistics: 312 open teams, a large
    organisation (PICKER_FROM is 300), whose Region North is still 4 teams."""
    assert unit_select.PICKER_FROM == 300
    import_org({"units": [{"key": f"depot-{number:03d}", "name": f"Depot {number:03d}",
                           "parent": "logistics"} for number in range(1, DEPOTS + 1)]})


# -- reading the pages -----------------------------------------------------------------------


def options_of(html: str, name: str) -> list[tuple[str, str, bool]]:
    """The options of the <select> of that name (there is one): value, label, selected."""
    found = re.findall(rf'<select[^>]*\bname="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert len(found) == 1, f"{len(found)} selects named {name}"
    return [(value, unescape(label).strip(NBSP), bool(selected)) for selected, value, label
            in re.findall(r'<option( selected)? value="([^"]*)">([^<]*)</option>', found[0])]


def offered(html: str, name: str) -> list[str]:
    return [value for value, _label, _selected in options_of(html, name)]


def chosen(html: str, name: str) -> list[str]:
    return [value for value, _label, selected in options_of(html, name) if selected]


def blank_label(html: str, name: str) -> str:
    value, label, _selected = options_of(html, name)[0]
    assert value == ""
    return label


def label_of(html: str, field_id: str) -> str:
    found = re.search(rf'<label class="field__label" for="{field_id}">([^<]*)</label>', html)
    assert found is not None, field_id
    return unescape(found.group(1))


def errors_of(html: str, field_id: str) -> list[str]:
    found = re.search(rf'<ul class="field__errors" id="{field_id}-errors">(.*?)</ul>', html, re.S)
    return [page_text(item) for item in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)
            ] if found else []


def ledger_lines(html: str) -> list[str]:
    """The sentences of the gap ledger's rows ("Store Lille lacked delivery 3 times...")."""
    return [page_text(line) for line in re.findall(r'<span class="sentence">(.*?)</span>', html,
                                                   re.S)]


def link(html: str, pattern: str) -> str:
    found = re.search(rf'href="({pattern})"', html)
    assert found is not None, pattern
    return unescape(found.group(1))


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))


def grants() -> list[tuple[str, str]]:
    db.session.rollback()
    return [(event.subject, event.data["reason"]) for event in db.session.scalars(
        select(AuditEvent).where(AuditEvent.type == "grant").order_by(AuditEvent.id))]


def audit_events() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def parent_of(key: str) -> str:
    db.session.expire_all()
    unit = db.session.scalars(select(Unit).where(Unit.key == key)).one()
    return unit.parent.key


def user_id(email: str) -> int:
    return db.session.scalars(select(User.id).where(User.email == email)).one()


LILLE_LINES = [
    "Store Lille lacked delivery 3 times in this period.",
    "Store Lille lacked carrier-portal 3 times in this period.",
    "Store Lille lacked gesture 1 time in this period.",
    "Store Lille lacked zeta 1 time in this period.",
    "Store Lille lacked refund-terminal 1 time in this period.",
]
LILLE_ROWS = [  # of the CSV: unit, its name, kind, item, count, count in the period before
    ["lille", "Store Lille", "competency", "delivery", "3", "0"],
    ["lille", "Store Lille", "tool", "carrier-portal", "3", "0"],
    ["lille", "Store Lille", "authority", "gesture", "1", "0"],
    ["lille", "Store Lille", "competency", "zeta", "1", "0"],
    ["lille", "Store Lille", "tool", "refund-terminal", "1", "1"],
]


# -- the filters of the directors' pages ------------------------------------------------------


@pytest.mark.parametrize("path", FILTER_PAGES)
def test_every_filter_form_offers_the_teams_with_the_one_of_the_link_selected(
    sign_in: Callable[..., FlaskClient], path: str,
) -> None:
    html = sign_in("director").get(path, query_string={"subtree": "north"}).get_data(
        as_text=True)

    assert label_of(html, "subtree") == "Team and its sub-units"
    assert offered(html, "subtree") == ["", *OPEN_UNITS]
    assert blank_label(html, "subtree") == "Whole organisation"
    assert chosen(html, "subtree") == ["north"]
    assert "<datalist" not in html
    assert ('name="unit"' in html) == (path == "/insights/gaps")


def test_the_ledger_s_team_filter_is_a_select_of_the_teams(
    history: dict[str, int], sign_in: Callable[..., FlaskClient],
) -> None:
    response = sign_in("director").get("/insights/gaps", query_string={**PERIOD, "unit": "lille"})

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert label_of(html, "unit") == "Team"
    assert offered(html, "unit") == ["", *OPEN_UNITS]
    assert blank_label(html, "unit") == "Any team"
    assert chosen(html, "unit") == ["lille"]
    assert chosen(html, "subtree") == []  # the whole organisation
    assert ledger_lines(html) == LILLE_LINES


@pytest.mark.parametrize("path", ["/insights/gaps", "/insights/hr"])
def test_a_lead_s_filters_offer_their_subtree_only(
    sign_in: Callable[..., FlaskClient], path: str,
) -> None:
    html = sign_in(NORTH_LEAD).get(path).get_data(as_text=True)

    assert offered(html, "subtree") == ["", *NORTH]
    assert blank_label(html, "subtree") == "All my teams"
    if path == "/insights/gaps":
        assert offered(html, "unit") == ["", *NORTH]
    assert "Region South" not in html


def test_the_filters_speak_french(sign_in: Callable[..., FlaskClient]) -> None:
    director = sign_in("director", "fr")
    lead = sign_in(NORTH_LEAD, "fr")

    html = director.get("/insights/gaps").get_data(as_text=True)
    assert label_of(html, "subtree") == "Équipe et ses sous-unités"
    assert blank_label(html, "subtree") == "Toute l’organisation"
    assert (label_of(html, "unit"), blank_label(html, "unit")) == ("Équipe", "Toutes les équipes")
    assert blank_label(lead.get("/insights/gaps").get_data(as_text=True),
                       "subtree") == "Toutes mes équipes"


@pytest.mark.parametrize(("who", "unit"), [(NORTH_LEAD, "south"), (NORTH_LEAD, "hq"),
                                           ("director", "atlantis")])
def test_a_ledger_team_not_offered_is_refused_beside_the_filter_and_nothing_is_computed(
    history: dict[str, int], sign_in: Callable[..., FlaskClient], who: str, unit: str,
) -> None:
    # The service would only find no line for it: the field refuses it.
    client = sign_in(who)

    response = client.get("/insights/gaps", query_string={**PERIOD, "unit": unit})
    download = client.get("/insights/gaps", query_string={**PERIOD, "unit": unit,
                                                          "format": "csv"})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert errors_of(html, "unit") == ["Choose one of the teams offered."]
    assert 'aria-invalid="true"' in re.search(r'<select[^>]*name="unit"[^>]*>', html).group(0)
    assert ledger_lines(html) == []
    assert "The gap ledger" not in html
    assert download.status_code == 422
    assert download.mimetype == "text/html"


def test_a_subtree_not_offered_is_refused_as_before(
    history: dict[str, int], sign_in: Callable[..., FlaskClient],
) -> None:
    lead = sign_in(NORTH_LEAD)

    # Outside the lead's subtree: 404, as the queue of a team outside it.
    assert lead.get("/insights/gaps", query_string={**PERIOD, "subtree": "south"}
                    ).status_code == 404
    unknown = lead.get("/insights/gaps", query_string={**PERIOD, "subtree": "atlantis"})
    assert unknown.status_code == 422
    html = unknown.get_data(as_text=True)
    assert errors_of(html, "subtree") == ["Unknown unit “atlantis”."]
    assert ledger_lines(html) == []


def test_the_csv_and_the_next_page_keep_the_team_chosen(
    history: dict[str, int], sign_in: Callable[..., FlaskClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(insights_views, "PER_PAGE", 3)
    director = sign_in("director")
    html = director.get("/insights/gaps", query_string={**PERIOD, "unit": "lille"}).get_data(
        as_text=True)
    assert ledger_lines(html) == LILLE_LINES[:3]

    following = director.get(link(html, r"/insights/gaps\?[^\"]*page=2[^\"]*"))
    rows = csv_rows(director.get(link(html, r"/insights/gaps\?[^\"]*format=csv[^\"]*")))

    assert following.status_code == 200
    assert ledger_lines(following.get_data(as_text=True)) == LILLE_LINES[3:]
    assert chosen(following.get_data(as_text=True), "unit") == ["lille"]
    assert [row[:6] for row in rows[1:]] == LILLE_ROWS


def test_a_link_to_a_team_closed_since_shows_it_chosen_and_marked_closed(
    history: dict[str, int], sign_in: Callable[..., FlaskClient],
) -> None:
    org_edit.close_unit("nice", actor=None)

    response = sign_in("director").get("/insights/gaps", query_string={**PERIOD, "unit": "nice"})
    lead = sign_in(NORTH_LEAD).get("/insights/gaps", query_string={**PERIOD, "unit": "nice"})

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert options_of(html, "unit")[-1] == ("nice", "Store Nice (closed)", True)
    assert ledger_lines(html) == ["Store Nice lacked digital 1 time in this period.",
                                  "Store Nice lacked app-admin 1 time in this period."]
    assert lead.status_code == 422  # not a team of the lead's, closed or not
    assert "Store Nice" not in lead.get_data(as_text=True)


# -- the grant and the what-if ------------------------------------------------------------------


def test_the_grant_form_offers_every_open_team_with_the_one_of_the_link_selected(
    org: dict[str, Any], sign_in: Callable[..., FlaskClient],
) -> None:
    html = sign_in("director").get("/insights/grant?unit=lille&tool=refund-terminal").get_data(
        as_text=True)

    assert label_of(html, "unit") == "Team"
    assert offered(html, "unit") == ["", *OPEN_UNITS]
    assert blank_label(html, "unit") == "Choose a team…"
    assert chosen(html, "unit") == ["lille"]
    assert "Store Lille holds today" in html
    assert "<datalist" not in html
    french = sign_in("director", "fr").get("/insights/grant").get_data(as_text=True)
    assert (label_of(french, "unit"), blank_label(french, "unit")) == (
        "Équipe", "Choisissez une équipe…")


@pytest.mark.parametrize(("unit", "message"), [
    ("atlantis", "Unknown unit."),
    ("app-support", "Unit “app-support” is closed: it receives no work."),
])
def test_a_grant_to_a_team_not_offered_is_refused_beside_the_field_and_writes_nothing(
    org: dict[str, Any], sign_in: Callable[..., FlaskClient], unit: str, message: str,
) -> None:
    org_edit.close_unit("app-support", actor=None)
    version, events = current_org_version(), audit_events()

    response = sign_in("director").post("/insights/grant", data={
        "unit": unit, "tools": ["crm"], "reason": "They need it"})

    assert response.status_code == 422
    assert errors_of(response.get_data(as_text=True), "unit") == [message]
    assert (current_org_version(), audit_events(), grants()) == (version, events, [])


def test_the_what_if_rows_offer_every_open_team_the_added_one_too(
    org: dict[str, Any], sign_in: Callable[..., FlaskClient],
) -> None:
    director = sign_in("director")
    first = director.get("/insights/whatif?unit=nice&tool=crm").get_data(as_text=True)

    more = director.post("/insights/whatif", data={
        "add": "Add another change", "changes-0-unit": "nice", "changes-0-tools": ["crm"]})

    assert (label_of(first, "changes-0-unit"), offered(first, "changes-0-unit")) == (
        "Team", ["", *OPEN_UNITS])
    assert chosen(first, "changes-0-unit") == ["nice"]
    assert more.status_code == 200
    html = more.get_data(as_text=True)
    assert chosen(html, "changes-0-unit") == ["nice"]
    assert offered(html, "changes-1-unit") == ["", *OPEN_UNITS]
    assert chosen(html, "changes-1-unit") == []
    assert blank_label(html, "changes-1-unit") == "Choose a team…"


# -- the admin forms -----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "name", "selected", "label"), [
    ("/admin/units/new?parent=north", "parent", "north", "Parent unit"),
    ("/admin/units/lille", "parent", "north", "Parent unit"),
    ("/admin/users/new?unit=lille", "unit", "lille", "Unit"),
    ("/admin/users/{lead}", "unit", "north", "Unit"),
])
def test_the_admin_forms_offer_every_open_unit_with_the_current_one_selected(
    org: dict[str, Any], sign_in: Callable[..., FlaskClient], path: str, name: str,
    selected: str, label: str,
) -> None:
    html = sign_in("admin").get(path.format(lead=user_id(NORTH_LEAD))).get_data(as_text=True)

    assert label_of(html, name) == label
    assert offered(html, name) == ["", *OPEN_UNITS]
    assert blank_label(html, name) == "Choose…"
    assert chosen(html, name) == [selected]


def test_the_admin_unit_fields_speak_french(
    org: dict[str, Any], sign_in: Callable[..., FlaskClient],
) -> None:
    html = sign_in("admin", "fr").get("/admin/units/lille").get_data(as_text=True)

    assert (label_of(html, "parent"), blank_label(html, "parent")) == (
        "Unité parente", "Choisissez…")


def test_saving_a_unit_with_the_parent_shown_moves_nothing(
    org: dict[str, Any], sign_in: Callable[..., FlaskClient],
) -> None:
    admin = sign_in("admin")
    shown = chosen(admin.get("/admin/units/north").get_data(as_text=True), "parent")
    version, events = current_org_version(), audit_events()

    unchanged = admin.post("/admin/units/north", data={"name": "Region North",
                                                       "parent": shown[0]})
    assert (unchanged.status_code, unchanged.headers["Location"]) == (302, "/admin/units/north")
    assert (shown, parent_of("north")) == (["cs"], "cs")
    assert (current_org_version(), audit_events()) == (version, events)  # nothing to write

    renamed = admin.post("/admin/units/north", data={"name": "Nord", "parent": shown[0]})
    assert renamed.status_code == 302
    assert parent_of("north") == "cs"
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.type, event.data["before"], event.data["after"]) == (
        "unit_renamed", {"name": "Region North"}, {"name": "Nord"})


def test_a_closed_unit_shows_its_closed_parent_chosen_and_saving_it_moves_nothing(
    org: dict[str, Any], sign_in: Callable[..., FlaskClient],
) -> None:
    org_edit.close_unit("app-support", actor=None)
    org_edit.close_unit("digital", actor=None)
    admin = sign_in("admin")

    html = admin.get("/admin/units/app-support").get_data(as_text=True)
    response = admin.post("/admin/units/app-support", data={"name": "App support",
                                                            "parent": "digital"})

    # Not the first unit offered (Head office), which saving would have moved it under.
    assert options_of(html, "parent")[-1] == ("digital", "Digital division (closed)", True)
    assert chosen(html, "parent") == ["digital"]
    assert response.status_code == 302
    assert parent_of("app-support") == "digital"


@pytest.mark.parametrize(("parent", "message"), [
    ("app-support", "Unit “app-support” is closed: it cannot receive a unit."),
    ("atlantis", "Unknown unit “atlantis”."),
    ("lille", "Moving “north” under “lille” would make a cycle: “lille” is “north” itself or "
              "one of its sub-units."),
])
def test_a_parent_the_service_refuses_is_shown_beside_the_field_and_nothing_moves(
    org: dict[str, Any], sign_in: Callable[..., FlaskClient], parent: str, message: str,
) -> None:
    org_edit.close_unit("app-support", actor=None)
    version, events = current_org_version(), audit_events()

    response = sign_in("admin").post("/admin/units/north", data={"name": "Region North",
                                                                 "parent": parent})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert errors_of(html, "parent") == [message]
    assert parent_of("north") == "cs"
    assert (current_org_version(), audit_events()) == (version, events)


@pytest.mark.parametrize(("path", "data", "field", "message"), [
    ("/admin/units/new", {"key": "lens", "name": "Store Lens", "parent": "app-support"},
     "parent", "Unit “app-support” is closed: it cannot receive a new unit."),
    ("/admin/users/new", {"email": "new@example.com", "name": "New", "role": "agent",
                          "unit": "atlantis", "locale": "en"},
     "unit", "Unknown unit “atlantis”."),
    ("/admin/users/{lead}", {"role": "lead", "unit": "app-support"},
     "unit", "Unit “app-support” is closed."),
])
def test_a_unit_the_admin_services_refuse_is_shown_beside_the_field_and_writes_nothing(
    org: dict[str, Any], sign_in: Callable[..., FlaskClient], path: str, data: dict[str, str],
    field: str, message: str,
) -> None:
    org_edit.close_unit("app-support", actor=None)
    version, events = current_org_version(), audit_events()

    response = sign_in("admin").post(path.format(lead=user_id(NORTH_LEAD)), data=data)

    assert response.status_code == 422
    assert errors_of(response.get_data(as_text=True), field) == [message]
    assert (current_org_version(), audit_events()) == (version, events)
    db.session.expire_all()
    assert db.session.get(User, user_id(NORTH_LEAD)).unit.key == "north"


# -- a large organisation: text boxes with suggestions ------------------------------------------


def picker(name: str, among: str, value: str, placeholder: str, *, required: bool = False,
           described: str | None = None) -> str:
    """The picker's <input>, as WTForms writes its attributes (sorted)."""
    attributes = [f'aria-describedby="{described}"' if described else "",
                  'autocapitalize="off"', 'autocomplete="off"', 'class="field__input"',
                  f'data-unit-picker="/units/suggest?among={among}"', f'id="{name}"',
                  f'name="{name}"', f'placeholder="{placeholder}"', "required" if required else "",
                  'spellcheck="false"', 'type="text"', f'value="{value}"']
    return "<input " + " ".join(attribute for attribute in attributes if attribute) + ">"


def test_on_a_large_organisation_the_filters_are_text_boxes_with_suggestions(
    history: dict[str, int], large_org: None, sign_in: Callable[..., FlaskClient],
) -> None:
    html = sign_in("director").get("/insights/gaps", query_string={
        **PERIOD, "subtree": "north", "unit": "lille"}).get_data(as_text=True)

    assert input_of(html, "subtree") == picker("subtree", "queue", "Region North (north)",
                                               "Whole organisation")
    assert input_of(html, "unit") == picker("unit", "queue", "Store Lille (lille)", "Any team")
    assert not re.search(r'<select[^>]*name="(subtree|unit)"', html)
    assert ledger_lines(html) == LILLE_LINES
    # Region North's lead has 4 teams: a select still.
    lead = sign_in(NORTH_LEAD).get("/insights/gaps").get_data(as_text=True)
    assert offered(lead, "subtree") == ["", *NORTH]


@pytest.mark.parametrize("typed", ["Store Lille (lille)", "lille", "store LILLE"])
def test_on_a_large_organisation_the_ledger_reads_the_team_typed_and_its_csv_link_too(
    history: dict[str, int], large_org: None, sign_in: Callable[..., FlaskClient], typed: str,
) -> None:
    director = sign_in("director")

    response = director.get("/insights/gaps", query_string={**PERIOD, "unit": typed,
                                                            "subtree": "Region North (north)"})

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert ledger_lines(html) == LILLE_LINES
    assert value_of(html, "unit") == "Store Lille (lille)"
    rows = csv_rows(director.get(link(html, r"/insights/gaps\?[^\"]*format=csv[^\"]*")))
    assert [row[:6] for row in rows[1:]] == LILLE_ROWS


@pytest.mark.parametrize(("who", "query", "field", "message"), [
    ("director", {"unit": "Store Atlantis"}, "unit", "No team matches “Store Atlantis”."),
    ("director", {"subtree": "Store Atlantis"}, "subtree", "No team matches “Store Atlantis”."),
    ("director", {"subtree": "Depot"}, "subtree", "No team matches “Depot”."),
    (NORTH_LEAD, {"unit": "south"}, "unit", "Choose one of the teams offered."),
])
def test_on_a_large_organisation_a_team_typed_that_is_not_offered_is_refused(
    history: dict[str, int], large_org: None, sign_in: Callable[..., FlaskClient], who: str,
    query: dict[str, str], field: str, message: str,
) -> None:
    response = sign_in(who).get("/insights/gaps", query_string={**PERIOD, **query})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert errors_of(html, field) == [message]
    assert ledger_lines(html) == []


def test_on_a_large_organisation_the_grant_reads_the_team_typed(
    org: dict[str, Any], large_org: None, sign_in: Callable[..., FlaskClient],
) -> None:
    director = sign_in("director")
    form = director.get("/insights/grant?unit=north-bo&competency=service").get_data(
        as_text=True)

    response = director.post("/insights/grant", data={
        "unit": "North back-office (north-bo)", "competencies": ["service"],
        "reason": "Train them"})

    assert input_of(form, "unit") == picker("unit", "open", "North back-office (north-bo)",
                                            "Choose a team…", required=True)
    assert (response.status_code, response.headers["Location"]) == (
        303, "/insights/gaps?unit=north-bo")
    assert grants() == [("north-bo", "Train them")]


@pytest.mark.parametrize(("typed", "message"), [
    ("Store Atlantis", "No team matches “Store Atlantis”."),
    ("", "Choose a team."),
])
def test_on_a_large_organisation_a_grant_to_no_team_writes_nothing(
    org: dict[str, Any], large_org: None, sign_in: Callable[..., FlaskClient], typed: str,
    message: str,
) -> None:
    events = audit_events()

    response = sign_in("director").post("/insights/grant", data={
        "unit": typed, "tools": ["crm"], "reason": "They need it"})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert errors_of(html, "unit") == [message]
    assert value_of(html, "unit") == typed
    assert (audit_events(), grants()) == (events, [])


def test_on_a_large_organisation_every_what_if_row_is_a_text_box(
    org: dict[str, Any], large_org: None, sign_in: Callable[..., FlaskClient],
) -> None:
    response = sign_in("director").post("/insights/whatif", data={
        "add": "Add another change", "changes-0-unit": "store nice"})

    html = response.get_data(as_text=True)
    assert input_of(html, "changes-0-unit") == picker(
        "changes-0-unit", "open", "Store Nice (nice)", "Choose a team…")
    assert input_of(html, "changes-1-unit") == picker("changes-1-unit", "open", "",
                                                      "Choose a team…")


def test_on_a_large_organisation_an_admin_moves_a_unit_by_typing_its_new_parent(
    org: dict[str, Any], large_org: None, sign_in: Callable[..., FlaskClient],
) -> None:
    admin = sign_in("admin")
    html = admin.get("/admin/units/lille").get_data(as_text=True)
    shown = value_of(html, "parent")
    version = current_org_version()

    kept = admin.post("/admin/units/lille", data={"name": "Store Lille", "parent": shown})
    unknown = admin.post("/admin/units/lille", data={"name": "Store Lille",
                                                     "parent": "Region Atlantis"})
    moved = admin.post("/admin/units/lille", data={"name": "Store Lille",
                                                   "parent": "Region South (south)"})

    assert input_of(html, "parent") == picker("parent", "open", "Region North (north)",
                                              "Choose…", described="parent-help")
    assert kept.status_code == 302
    assert unknown.status_code == 422
    assert errors_of(unknown.get_data(as_text=True), "parent") == [
        "No team matches “Region Atlantis”."]
    assert moved.status_code == 302
    assert parent_of("lille") == "south"
    assert current_org_version() == version + 1  # the move only
