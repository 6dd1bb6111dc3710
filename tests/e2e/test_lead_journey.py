"""A lead works their queue on a phone, in French: take, comment, escalate, reassign."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import User, log_irritant, signed_in


def assignee(user: User) -> str:
    """The team the irritant page says it is assigned to."""
    return user.page.locator("dt", has_text="Attribué à").locator("xpath=following-sibling::dd[1]"
                                                               ).inner_text().strip()


@pytest.mark.browser
def test_a_lead_escalates_saying_what_the_team_lacks_then_the_next_lead_reassigns(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    email = "agent.lille@example.com"
    agent = signed_in(browser, live_server, email, org_passwords[email])
    path = log_irritant(agent, "Unwelcoming service", "Vendeur désagréable en caisse")
    assert agent.page.locator(".banner h1").inner_text() == "Envoyé à Store Lille"
    agent.close()

    email = "lead.lille@example.com"
    lead = signed_in(browser, live_server, email, org_passwords[email])  # home: the queue
    assert lead.page.locator("h1").inner_text() == "File d’attente de Store Lille"
    lead.page.locator(f'main a[href="{path}"]').click()
    lead.check()
    page = lead.page
    lead.submit(page.get_by_role("button", name="Le prendre en charge"))
    assert lead.flash() == "Vous avez pris en charge cet irritant."
    page.get_by_label("Commentaire").fill("Client rappelé, il attend un geste")
    lead.submit(page.get_by_role("button", name="Ajouter le commentaire"))
    assert lead.flash() == "Commentaire ajouté."
    assert "Client rappelé, il attend un geste" in lead.main_text()

    page.get_by_text("Escalader\u00a0: mon équipe ne peut pas le résoudre").click()
    lead.check()
    page.get_by_label("Pourquoi votre équipe ne peut-elle pas le résoudre\u202f?").fill(
        "Il faut le CRM")
    page.locator("#escalate").get_by_label("crm", exact=True).check()
    lead.submit(page.get_by_role("button", name="Escalader", exact=True))
    assert lead.flash() == "Escaladé\u00a0: maintenant chez Region North."
    assert assignee(lead) == "Region North"
    why = lead.main_text()
    assert "Il manque à Store Lille l’outil crm." in why
    # Every sentence of "why" in French, the plural of "steps" included.
    assert "Region North, à 1 étape, a tout ce qu’il faut." in why
    assert "Outils qui lui manquaient\u00a0: crm." in why
    lead.close()

    email = "lead.north@example.com"
    north = signed_in(browser, live_server, email, org_passwords[email])
    # The phone menu opens from the keyboard.
    toggle = north.page.get_by_role("button", name="Menu")
    toggle.focus()
    toggle.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true"
    assert north.page.locator("#site-nav").get_by_role("link", name="File d’attente").is_visible()
    toggle.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "false"
    north.page.locator(f'main a[href="{path}"]').click()
    north.check()
    page = north.page
    page.get_by_text("Réattribuer à une autre équipe").click()
    reassign = page.locator("#reassign")
    reassign.get_by_label("Équipe", exact=True).select_option(label="Store Roubaix")
    reassign.get_by_label("Raison", exact=True).fill("Le vendeur travaille à Roubaix")
    north.submit(page.get_by_role("button", name="Réattribuer", exact=True))
    assert north.flash() == "Réattribué à Store Roubaix."
    assert assignee(north) == "Store Roubaix"
    assert "Réattribué manuellement à Store Roubaix." in north.main_text()
    assert "Le vendeur travaille à Roubaix" in north.main_text()
    north.close()


@pytest.mark.browser
def test_on_a_phone_a_form_sent_back_with_an_error_shows_the_error(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    # The comment form is far down the irritant page; the page came back at its top, the
    # error out of sight: the lead saw the same page and thought nothing had happened.
    email = "agent.lille@example.com"
    agent = signed_in(browser, live_server, email, org_passwords[email])
    path = log_irritant(agent, "Unwelcoming service", "Personne à l'accueil")
    agent.close()

    email = "lead.north@example.com"
    lead = signed_in(browser, live_server, email, org_passwords[email])
    page = lead.page
    page.goto(path)
    lead.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Ajouter le commentaire").click()
    assert lead.errors == [f"422 {live_server}{path}/comment"]  # sent back, as expected
    lead.errors.clear()
    lead.check()

    comment = page.get_by_label("Commentaire", exact=True)
    assert comment.evaluate("(box) => box === document.activeElement")
    error = page.locator("#text-errors").bounding_box()
    assert error["y"] >= 0
    assert error["y"] + error["height"] <= page.viewport_size["height"]
    assert page.locator("#text-errors").inner_text() == "Écrivez un commentaire."
    lead.close()
