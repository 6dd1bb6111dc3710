"""A director reads the insights pages and acts on them: drill-down, CSV, grant, map, what-if."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.helpers import signed_in


@pytest.mark.browser
def test_a_director_replays_two_changes_in_the_background_and_sees_the_result(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    # Runs before the grant below: Store Nice lacks the crm yet.
    email = "director@example.com"
    director = signed_in(browser, live_server, email, org_passwords[email], screen="desk",
                         lang="en")
    page = director.page
    director.follow("What-if", nav=True)
    first = page.locator("fieldset.change", has_text="Change 1")
    # A select of the teams (a search box above it: the small org has 12), no key to type.
    first.get_by_label("Team", exact=True).select_option(label="Store Nice")
    first.get_by_label("billing", exact=True).check()
    first.get_by_label("Set an authority limit").select_option("refund")
    first.get_by_label("Limit (euros)").fill("100")
    director.submit(page.get_by_role("button", name="Add another change"))
    second = page.locator("fieldset.change", has_text="Change 2")
    assert first.get_by_label("Team", exact=True).input_value() == "nice"  # kept
    second.get_by_label("Team", exact=True).select_option(label="Store Nice")
    second.get_by_label("crm", exact=True).check()
    with page.expect_navigation(url=re.compile(r"/insights/whatif/runs/\d+$")):
        page.get_by_role("button", name="Replay").click()
    # The progress bar, then the page reloads itself with the result.
    page.get_by_role("heading", name="Result").wait_for(timeout=15000)
    director.check()
    changes = page.locator("section", has=page.get_by_role("heading", name="Changes tried"))
    assert changes.locator("li").all_inner_texts() == [
        "Store Nice: billing, refund → 100", "Store Nice: crm"]
    hint = changes.locator(".hint").inner_text()
    assert re.fullmatch(r"From \w{3} \d+, \d{4} to \w{3} \d+, \d{4} included\.", hint), hint
    figures = dict(zip(page.locator(".figure dt").all_inner_texts(),
                       page.locator(".figure dd").all_inner_texts(), strict=True))
    # The three billing errors of Store Nice would stay there (others may be replayed too).
    assert figures["Would change team"] == "3"
    assert int(figures["Assigned to their origin, after"]) == (
        int(figures["Assigned to their origin, before"]) + 3)
    assert director.row("Store Nice")[1:] == ["3", "0", "+3"]
    assert director.row("Region South")[1:] == ["0", "3", "−3"]
    assert page.get_by_role("link", name="Grant this to Store Nice").count() == 2
    director.close()


@pytest.mark.browser
def test_a_director_drills_into_root_causes_downloads_them_and_grants_what_a_store_lacked(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    email = "director@example.com"
    director = signed_in(browser, live_server, email, org_passwords[email])
    page = director.page
    assert page.locator("h1").inner_text() == "Causes profondes"
    assert director.row("Processus")[1:] == ["0", "0", "0", "2", "2", "2", "–", "–"]
    assert director.row("Formation")[1:] == ["0", "0", "0", "1", "1", "1", "–", "–"]

    # The CSV of the table: UTF-8 with a BOM (for spreadsheets).
    lines = director.csv_lines(page.get_by_role("link", name="Télécharger en CSV"))
    # Its header row in the director's French; its cells keys and numbers.
    assert lines[0] == ("Cause profonde,Irritants,Ouvert,En retard,Sans équipe compétente,"
                        "Résolu,Occurrences,Plus ancien ouvert depuis,"
                        "Âge moyen des ouverts (jours)")
    assert "process,2,0,0,0,2,2,," in lines

    # Drill down: the process root cause by category, then its two irritants.
    page.locator("main tr", has=page.locator("th", has_text="Processus")).get_by_role(
        "link", name="par catégorie").click()
    director.check()
    assert "Cause profonde\u00a0: Processus" in page.locator(".chips").inner_text()
    assert director.row("Billing error")[1:6] == ["0", "0", "0", "2", "2"]
    # Its "Irritants" figure (after "Resolved", which opens the resolved ones).
    page.locator("main tr", has=page.locator("th", has_text="Billing error")).get_by_role(
        "link", name="2", exact=True).last.click()
    director.check()
    assert page.get_by_text("2 irritants", exact=True).is_visible()
    first = page.locator("main tr", has=page.get_by_text("Double débit n° 0"))
    cells = [cell.strip() for cell in first.locator("td").all_inner_texts()]
    assert cells[1:3] == ["Store Nice", "Region South\nparcours sur la carte"]
    first.get_by_role("link", name="parcours sur la carte").click()
    director.check()
    path = page.locator("main section", has_text="Parcours de l’irritant n° 1").first
    assert path.inner_text().splitlines()[-2:] == [
        "Store Nice (origine)", "Region South (attributaire)"]
    nice = page.locator("main li", has=page.get_by_text("nice", exact=True)).last
    assert "Origine" in nice.inner_text()
    assert "Manquait pour cet irritant\u00a0: billing, crm, refund (demandé 40)" in (
        nice.inner_text())

    page.get_by_label("Trouver une unité par nom ou par clé").fill("nice")
    director.submit(page.get_by_role("button", name="Chercher"))
    assert page.get_by_text("1 unité trouvée").is_visible()

    director.follow("Manques")
    refund = page.locator("main tr", has=page.get_by_text("Il a manqué refund à Store Nice"))
    assert [cell.strip() for cell in refund.locator("td").all_inner_texts()][1:4] == [
        "3", "0", "▲ +3\nde plus que la période précédente"]
    gaps_csv = director.csv_lines(page.get_by_role("link", name="Télécharger en CSV"))
    # Other journeys may have left gaps elsewhere: Store Nice's lines.
    assert [line for line in gaps_csv if line.startswith(("Unité,", "nice,"))] == [
        "Unité,Nom de l’unité,Type,Élément manquant,Nombre de manques,Période précédente,"
        "Plus haut montant demandé,Limite au moment du manque,L’a aujourd’hui,Limite actuelle",
        "nice,Store Nice,authority,refund,3,0,40,,no,",
        "nice,Store Nice,competency,billing,3,0,,,no,",
        "nice,Store Nice,tool,crm,3,0,,,no,"]
    crm_row = page.locator("main tr", has=page.get_by_text("Il a manqué crm à Store Nice"))
    crm_row.get_by_role("link", name="Accorder").click()
    director.check()
    team = page.get_by_label("Équipe", exact=True)
    assert team.input_value() == "nice"  # the team of the row, chosen in the select
    assert team.locator("option:checked").inner_text().strip() == "Store Nice"
    assert "Habilitations\ngesture\u00a0: 50" in page.locator(".facts").inner_text()
    assert page.get_by_label("crm", exact=True).is_checked()
    page.get_by_label("Pourquoi").fill("Les remboursements de facturation restent au magasin")
    director.submit(page.get_by_role("button", name="Accorder", exact=True))
    assert director.flash() == "Accordé. Les prochaines orientations en tiennent compte."
    # Back on the gap ledger: Store Nice now holds the crm; the grant is listed with its reason.
    crm = director.row("Store Nice")  # the first row: refund
    assert crm[1].startswith("refund")
    assert "l’a aujourd’hui" in crm_row.inner_text()
    assert crm_row.get_by_role("link", name="Accorder").count() == 0
    grants = page.locator("main section", has_text="Attributions\u00a0: avant et après").last
    assert "Par Diane Director\u00a0: Les remboursements de facturation restent au magasin" in (
        grants.inner_text())
    assert grants.locator("th").first.inner_text() == "Attribution"  # a noun, not "Accorder"

    # Locality and HR fit the phone (the locality table once pushed the page sideways).
    director.follow("Proximité")
    assert page.locator("h1").inner_text() == (
        "Proximité\u00a0: les irritants sont-ils résolus là où ils surviennent\u202f?")
    director.follow("Compétences et délégation")
    assert director.row("Store Nice")[1:3] == ["billing", "3"]
    training = director.csv_lines(page.get_by_role("link", name="Télécharger en CSV").first)
    assert training == [
        "Unité,Nom de l’unité,Compétence,Nombre de manques,Irritants nés dans l’unité,"
        "Restés sur place après formation",
        "nice,Store Nice,billing,3,3,0"]
    director.close()


# The columns (distinct left edges) of a list of checkboxes, and the height of its label.
CHECKLIST_GEOMETRY = """(list) => {
  const boxes = [...list.querySelectorAll('input[type=checkbox]')].map(
    (box) => box.getBoundingClientRect());
  return {columns: new Set(boxes.map((box) => Math.round(box.left))).size,
          smallest: Math.min(...boxes.map((box) => box.width)),
          label: list.querySelector('.field__label').getBoundingClientRect().height};
}"""


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/insights/grant", "/insights/whatif"])
def test_on_a_desk_the_tools_and_skills_to_give_spread_over_the_width(
    browser: Any, live_server: str, org_passwords: dict[str, str], path: str
) -> None:
    # They were squeezed into the first 10rem column of the grid meant for their boxes.
    email = "director@example.com"
    director = signed_in(browser, live_server, email, org_passwords[email], screen="desk",
                         lang="en")
    director.page.goto(path)
    director.check()
    for checklist in director.page.locator(".checklist").all():
        geometry = checklist.evaluate(CHECKLIST_GEOMETRY)
        assert geometry["columns"] > 1, geometry
        assert geometry["label"] < 30, geometry  # "Competencies to give" on one line
        assert geometry["smallest"] >= 24, geometry  # boxes as large as the other forms'
    director.close()
