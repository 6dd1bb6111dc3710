"""Directors' pages: figures, drill-down, CSV exports, grants, what-if, the map, escaping.

The history is the one of tests/services/test_dashboards.py (its docstring lists it);
the pages ask for 3 to 16 March 2025 (dates included), the same period.
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

from irritants.extensions import db as _db
from irritants.models import AuditEvent, Irritant, WhatIfRun
from irritants.services.intake import log_irritant
from irritants.services.org_version import current_org_version
from irritants.web.insights.export import csv_cell
from tests.services.test_dashboards import day, log, user
from tests.services.test_dashboards import history as history  # noqa: F401 (fixture)
from tests.web.irritant_fixtures import XSS_PAYLOADS, assert_inert, english, page_text

PERIOD = "since=2025-03-03&until=2025-03-16"


def csv_rows(response: Any) -> list[list[str]]:
    """The records of a CSV download, after checking its BOM and line ends."""
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    assert b"\r\n" in body
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


@pytest.fixture
def director(login_as: Callable[..., FlaskClient]) -> FlaskClient:
    """The director, reading English pages."""
    return english(login_as("director"))


def test_the_root_causes_csv_has_the_exact_groups(history: dict[str, int],
                                                  director: FlaskClient) -> None:
    response = director.get(f"/insights/?{PERIOD}&format=csv")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="root-causes-root_cause.csv"')
    rows = csv_rows(response)
    assert rows[0][:7] == ["Root cause", "Irritants", "Open", "Overdue", "Unroutable",
                           "Resolved", "Occurrences"]
    assert [row[:7] for row in rows[1:]] == [
        ["", "5", "5", "5", "1", "0", "5"],
        ["process", "1", "0", "0", "0", "1", "1"],
        ["tooling", "1", "0", "0", "0", "1", "1"],
        ["training", "1", "0", "0", "0", "1", "1"],
    ]


def test_a_figure_of_the_dashboard_opens_the_irritants_behind_it(
        history: dict[str, int], director: FlaskClient) -> None:
    page = director.get(f"/insights/?{PERIOD}&group_by=origin").get_data(as_text=True)
    link = re.search(r'href="(/insights/irritants\?[^"]*unroutable=1[^"]*)"', page)
    assert link is not None
    target = link.group(1).replace("&amp;", "&")
    assert "origin=lille" in target

    listed = director.get(target)
    assert listed.status_code == 200
    ids = re.findall(r'href="/irritants/(\d+)"', listed.get_data(as_text=True))
    assert ids == [str(history[7])]


def test_the_resolved_figure_opens_the_resolved_irritants_behind_it(
        history: dict[str, int], director: FlaskClient) -> None:
    # The page says every figure opens the irritants behind it: "Resolved" did not.
    page = director.get(f"/insights/?{PERIOD}").get_data(as_text=True)
    link = re.search(r'href="(/insights/irritants\?[^"]*root_cause=process[^"]*'
                     r'status=resolved[^"]*)"', page)
    assert link is not None

    listed = director.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert re.findall(r'href="/irritants/(\d+)"', listed) == [str(history[6])]


def test_the_gap_ledger_page_and_its_csv(history: dict[str, int],
                                        director: FlaskClient) -> None:
    page = director.get(f"/insights/gaps?{PERIOD}").get_data(as_text=True)
    assert "Store Lille lacked delivery 3 times in this period." in page
    assert 'href="/insights/grant?unit=lille&amp;competency=delivery"' in page

    rows = csv_rows(director.get(f"/insights/gaps?{PERIOD}&format=csv&kind=authority"))
    assert rows == [
        ["Unit", "Unit name", "Kind", "Item lacked", "Times lacked", "Period before",
         "Highest amount asked", "Limit when lacked", "Holds it today", "Limit today"],
        ["lille", "Store Lille", "authority", "gesture", "1", "0", "500", "50", "yes", "50"],
        ["north", "Region North", "authority", "gesture", "1", "0", "500", "300", "yes", "300"],
    ]


def test_a_french_director_reads_the_csv_headers_in_french(
        history: dict[str, int], login_as: Callable[..., FlaskClient]) -> None:
    french = login_as("director")
    french.set_cookie("lang", "fr")

    ledger = csv_rows(french.get(f"/insights/gaps?{PERIOD}&format=csv&kind=authority"))
    causes = csv_rows(french.get(f"/insights/?{PERIOD}&format=csv"))

    assert ledger[0] == [
        "Unité", "Nom de l’unité", "Type", "Élément manquant", "Nombre de manques",
        "Période précédente", "Plus haut montant demandé", "Limite au moment du manque",
        "L’a aujourd’hui", "Limite actuelle"]
    # The cells stay machine-friendly: keys, numbers, yes/no.
    assert ledger[1] == ["lille", "Store Lille", "authority", "gesture", "1", "0", "500", "50",
                         "yes", "50"]
    assert causes[0][:3] == ["Cause profonde", "Irritants", "Ouvert"]


def test_the_hr_csv_headers_in_english_spell_their_percentages(
        history: dict[str, int], director: FlaskClient) -> None:
    rows = csv_rows(director.get(f"/insights/hr?{PERIOD}&format=csv&table=delegation"))
    assert rows[0][6:] == ["Limit covering 80% of the amounts asked",
                           "Limit covering 95% of the amounts asked",
                           "Irritants originating there", "Kept local with the 95% limit"]


def test_a_lead_reads_the_gaps_of_their_subtree_only(
        history: dict[str, int], login_as: Callable[..., FlaskClient]) -> None:
    lead = english(login_as("lead.north@example.com"))
    rows = csv_rows(lead.get(f"/insights/gaps?{PERIOD}&format=csv"))
    assert sorted({row[0] for row in rows[1:]}) == ["lille", "north", "north-bo"]
    assert lead.get(f"/insights/gaps?{PERIOD}&subtree=south").status_code == 404
    assert lead.get(f"/insights/gaps?{PERIOD}&subtree=atlantis").status_code == 422
    assert lead.get(f"/insights/?{PERIOD}").status_code == 403


def test_locality_page_prints_every_value_beside_its_bar(history: dict[str, int],
                                                        director: FlaskClient) -> None:
    page = director.get(f"/insights/locality?{PERIOD}&subtree=north&bucket=month")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<svg class="bar"' in html
    assert "Region North" in html
    rows = csv_rows(director.get(f"/insights/locality?{PERIOD}&subtree=north&bucket=month"
                                 "&format=csv&table=units"))
    assert rows[0][:6] == ["Unit", "Unit name", "Only the unit itself", "Logged", "Resolved",
                           "Resolved at origin"]
    assert [row[:6] for row in rows[1:]] == [
        ["north", "Region North", "yes", "0", "0", "0"],
        ["lille", "Store Lille", "no", "5", "2", "1"],
        ["north-bo", "North back-office", "no", "1", "0", "0"],
        ["roubaix", "Store Roubaix", "no", "0", "0", "0"],
    ]


def test_hr_exports_the_delegation_proposals(org: dict[str, Any], director: FlaskClient) -> None:
    for number, amount in enumerate((310, 350, 400, 500, 900)):
        log("lead.northbo", "late-delivery", day(number), amount=amount)
    rows = csv_rows(director.get(f"/insights/hr?{PERIOD}&format=csv&table=delegation"))
    assert rows[1:] == [
        ["north", "Region North", "gesture", "5", "300", "900", "500", "900", "0", "0"],
        ["north-bo", "North back-office", "gesture", "5", "300", "900", "500", "900", "5", "5"],
    ]


def test_a_director_grants_from_the_ledger_and_the_next_routing_uses_it(
        history: dict[str, int], director: FlaskClient) -> None:
    form = director.get("/insights/grant?unit=north-bo&competency=service").get_data(
        as_text=True)
    assert re.search(r'value="service"[^>]*checked|checked[^>]*value="service"', form)
    version = current_org_version()

    response = director.post("/insights/grant", data={
        "unit": "north-bo", "competencies": ["service"], "reason": "Train them"})

    assert (response.status_code, response.headers["Location"]) == (
        303, "/insights/gaps?unit=north-bo")
    assert current_org_version() == version + 1
    event = _db.session.scalars(select(AuditEvent).where(AuditEvent.type == "grant")).one()
    assert (event.subject, event.data["reason"]) == ("north-bo", "Train them")
    again = log("lead.northbo", "rude-service", day(6))
    assert _db.session.get(Irritant, again).rank == [0, 0, 0, "north-bo"]


@pytest.mark.parametrize("path", ["/insights/grant", "/insights/whatif"])
def test_the_limits_are_text_boxes_so_that_the_browser_keeps_a_decimal_comma(
        org: dict[str, Any], director: FlaskClient, path: str) -> None:
    # In <input type="number"> a browser drops the "," of "1 500,50": 150050 would be granted.
    html = director.get(path).get_data(as_text=True)

    limit = re.search(r'<input[^>]*name="(?:changes-0-)?limit"[^>]*>', html)
    assert limit is not None
    assert 'type="text"' in limit.group(0)
    assert 'inputmode="decimal"' in limit.group(0)


def test_a_limit_typed_with_a_decimal_comma_and_spaces_is_granted_as_typed(
        org: dict[str, Any], director: FlaskClient) -> None:
    response = director.post("/insights/grant", data={
        "unit": "lille", "authority": "refund", "limit": "1\u00a0500,50", "reason": "Sales"})

    assert response.status_code == 303
    event = _db.session.scalars(select(AuditEvent).where(AuditEvent.type == "grant")).one()
    assert event.data["after"]["authorities"]["refund"] == 1500.5


def test_an_empty_grant_says_what_is_missing_in_words_of_its_own(
        org: dict[str, Any], director: FlaskClient) -> None:
    response = director.post("/insights/grant", data={"unit": "", "reason": " "})

    assert response.status_code == 422
    text = page_text(response.get_data(as_text=True))
    assert "Choose a team." in text
    assert "Say why: this field is required." in text
    assert "This field is required." not in text.replace("Say why: this field", "")


def test_a_bad_grant_shows_the_error_and_writes_nothing(
        org: dict[str, Any], director: FlaskClient) -> None:
    version = current_org_version()
    audits = _db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = director.post("/insights/grant", data={
        "unit": "lille", "tools": ["refund-termnial"], "reason": "Typo"})
    assert response.status_code == 422
    assert "Unknown tool “refund-termnial”" in response.get_data(as_text=True)
    response = director.post("/insights/grant", data={
        "unit": "lille", "authority": "gesture", "reason": "No limit given"})
    assert response.status_code == 422
    assert "Give the new limit, or tick unlimited." in response.get_data(as_text=True)
    assert current_org_version() == version
    assert _db.session.scalar(select(func.count()).select_from(AuditEvent)) == audits


def test_a_short_what_if_runs_while_the_page_waits(history: dict[str, int],
                                                  director: FlaskClient) -> None:
    response = director.post("/insights/whatif", data={
        "since": "2025-03-03", "until": "2025-03-16", "run": "Replay",
        "changes-0-unit": "north-bo", "changes-0-competencies": ["service"]})

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    figures = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html)
    # Eight irritants logged in the period; #8 would have stayed at North back-office.
    assert figures[:4] == [("Irritants replayed", "8"), ("Would change team", "1"),
                           ("Assigned to their origin, before", "3"),
                           ("Assigned to their origin, after", "4")]
    assert f'href="/irritants/{history[8]}"' in html
    assert 'href="/insights/grant?unit=north-bo&amp;competency=service"' in html


def test_a_what_if_needs_a_change_and_a_known_unit(org: dict[str, Any],
                                                  director: FlaskClient) -> None:
    empty = director.post("/insights/whatif", data={"run": "Replay"})
    assert empty.status_code == 422
    assert "Choose at least one change." in empty.get_data(as_text=True)
    unknown = director.post("/insights/whatif", data={
        "run": "Replay", "changes-0-unit": "atlantis", "changes-0-tools": ["crm"]})
    assert unknown.status_code == 422
    assert "Unknown unit “atlantis”." in unknown.get_data(as_text=True)
    more = director.post("/insights/whatif", data={"add": "Add", "changes-0-unit": "lille"})
    assert more.status_code == 200
    assert 'name="changes-1-unit"' in more.get_data(as_text=True)


def test_a_long_what_if_runs_as_a_job_with_a_progress_page(
        history: dict[str, int], director: FlaskClient, app: Flask,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "WHATIF_INLINE_LIMIT", 0)
    response = director.post("/insights/whatif", data={
        "since": "2025-03-03", "until": "2025-03-16", "run": "Replay",
        "changes-0-unit": "north-bo", "changes-0-competencies": ["service"]})

    run = _db.session.scalars(select(WhatIfRun)).one()
    assert (response.status_code, response.headers["Location"]) == (
        303, f"/insights/whatif/runs/{run.id}")
    # Without Redis the job ran at once.
    status = director.get(f"/insights/whatif/runs/{run.id}/status")
    assert status.get_json() == {"status": "done", "progress": 8, "total": 8, "done": True,
                                 "url": f"/insights/whatif/runs/{run.id}"}
    page = director.get(f"/insights/whatif/runs/{run.id}").get_data(as_text=True)
    assert "<dt>Would change team</dt><dd>1</dd>" in page


def test_the_progress_page_polls_with_a_script_file_only(
        org: dict[str, Any], director: FlaskClient) -> None:
    run = WhatIfRun(created_by_id=user("director").id, params={"changes": []},
                    status="running", progress=20000, total=50000)
    _db.session.add(run)
    _db.session.commit()
    html = director.get(f"/insights/whatif/runs/{run.id}").get_data(as_text=True)
    assert '<progress id="whatif-progress-bar" max="50000" value="20000">' in html
    assert f'data-status-url="/insights/whatif/runs/{run.id}/status"' in html
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/js/app.js" defer>', '<script src="/static/js/whatif.js" defer>']


def test_a_run_of_another_director_is_not_found(
        org: dict[str, Any], director: FlaskClient) -> None:
    run = WhatIfRun(created_by_id=user("admin").id, params={"changes": []})
    _db.session.add(run)
    _db.session.commit()
    assert director.get(f"/insights/whatif/runs/{run.id}/status").status_code == 404


def test_the_map_loads_only_open_nodes_and_draws_an_irritants_path(
        history: dict[str, int], director: FlaskClient) -> None:
    first = director.get(f"/insights/map?{PERIOD}").get_data(as_text=True)
    shown = re.findall(r'id="unit-([a-z-]+)"', first)
    assert shown == ["hq", "cs", "digital", "logistics"]  # the root and its children only

    html = director.get(f"/insights/map?{PERIOD}&irritant={history[5]}").get_data(as_text=True)
    shown = re.findall(r'id="unit-([a-z-]+)"', html)
    assert {"nice", "south", "cs", "hq", "digital"} <= set(shown)
    assert "lille" not in shown  # North is not on the path: it stays closed
    path = re.findall(r'class="map-node map-node--path" id="unit-([a-z-]+)"', html)
    assert sorted(path) == ["cs", "digital", "hq", "nice", "south"]
    assert ">Origin<" in html
    assert ">Assigned here<" in html

    found = director.get("/insights/map?q=roub").get_data(as_text=True)
    assert 'href="/insights/map?focus=roubaix' in found


def test_the_map_says_once_and_times_as_english_does(
        history: dict[str, int], director: FlaskClient) -> None:
    html = director.get(f"/insights/map?{PERIOD}&open=hq,cs,north,south").get_data(as_text=True)

    lacked = re.findall(r"lacked most: [^<]*", html)
    assert "lacked most: app-admin (tool, once)" in lacked
    assert "lacked most: carrier-portal (tool, 3 times)" in lacked
    assert not [line for line in lacked if "1 times" in line]


def test_the_csv_cells_cannot_run_as_formulas() -> None:
    assert [csv_cell(value) for value in (
        "=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\0x", "plain",
        -3, 2.5, None, True)] == [
        "'=HYPERLINK(\"http://x\")", "'+1", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx", "'\0x",
        "plain", -3, 2.5, "", "yes"]


def test_exported_descriptions_are_quoted_and_defused(org: dict[str, Any],
                                                      director: FlaskClient) -> None:
    payload = '=cmd|"/c calc"!A0, then\na new line'
    log("agent.lille", "rude-service", day(1))
    log_irritant(user("agent.lille"), category="rude-service", severity="low",
                 description=payload, now=day(2))
    body = director.get(f"/insights/irritants?{PERIOD}&format=csv").get_data()
    assert b'"\'=cmd|""/c calc""!A0, then\na new line"' in body
    rows = csv_rows(director.get(f"/insights/irritants?{PERIOD}&format=csv"))
    assert [row[-1] for row in rows[1:]] == ["'" + payload, "rude-service 04"]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_user_text_is_escaped_on_the_pages(org: dict[str, Any], director: FlaskClient,
                                           app: Flask, payload: str) -> None:
    irritant = log_irritant(user("agent.lille"), category="rude-service", severity="low",
                            description=payload, now=day(2))
    searches = [] if payload.startswith("javascript:") else [("/insights/map", {"q": payload})]
    for path, query in [(f"/insights/irritants?{PERIOD}", None),
                        (f"/insights/map?irritant={irritant.id}", None), *searches]:
        response = director.get(path, query_string=query)
        assert response.status_code == 200
        assert_inert(response.get_data(as_text=True), (payload,))


def test_the_gaps_summary_spaces_its_colon_in_french(
        history: dict[str, int], app: Flask, login_as: Callable[..., FlaskClient]) -> None:
    french = gaps_summary(login_as("director"), "fr")
    english_ = gaps_summary(login_as("director", app.test_client()), "en")

    assert "carrier-portal (outil)\u00a0: manqué 6 fois, à 2 équipes" in french
    assert "):" not in french
    assert "carrier-portal (tool): lacked 6 times, by 2 teams" in english_


def test_the_ledger_names_the_amounts_of_an_authority_in_euros(
        history: dict[str, int], app: Flask, login_as: Callable[..., FlaskClient]) -> None:
    french = login_as("director")
    french.set_cookie("lang", "fr")
    english_ = english(login_as("director", app.test_client()))

    def authority_lines(client: FlaskClient) -> str:
        return page_text(client.get(f"/insights/gaps?{PERIOD}&kind=authority&unit=lille")
                         .get_data(as_text=True))

    assert "demandé jusqu’à 500\u00a0€ limite actuelle\u00a0: 50\u00a0€" in authority_lines(french)
    assert "asked up to 500 € limit today: 50 €" in authority_lines(english_)


def gaps_summary(client: FlaskClient, language: str) -> str:
    """The visible text of the "lacked most" list of the gap ledger page."""
    client.set_cookie("lang", language)
    html = client.get(f"/insights/gaps?{PERIOD}").get_data(as_text=True)
    return page_text(html.split('<ol class="summary-list">', 1)[1].split("</ol>", 1)[0])


def test_shares_are_written_as_each_language_writes_a_percentage(
        history: dict[str, int], app: Flask, login_as: Callable[..., FlaskClient]) -> None:
    french = login_as("director")
    french.set_cookie("lang", "fr")
    english_ = english(login_as("director", app.test_client()))
    path = f"/insights/locality?{PERIOD}&subtree=north&bucket=month"

    figures = {language: locality_figures(client.get(path).get_data(as_text=True))
               for language, client in (("fr", french), ("en", english_))}

    # French: a decimal comma and a no-break space before the sign, which never starts a line.
    assert figures["fr"]["Résolus à leur origine"] == "16,7\u00a0%"
    assert figures["en"]["Resolved at their origin"] == "16.7%"


def locality_figures(html: str) -> dict[str, str]:
    """The headline figures of the locality page, by their label."""
    return {unescape(label): unescape(value) for label, value in re.findall(
        r'<div class="figure"><dt>(.*?)</dt><dd>(.*?)</dd></div>', html)}
