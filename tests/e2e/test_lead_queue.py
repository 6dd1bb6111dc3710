"""A back-office lead at a desk, in French: overdue first, the SLA clock, resolve with a cause."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import signed_in


@pytest.mark.browser
def test_a_lead_sees_the_overdue_irritant_first_and_resolves_it_with_its_root_cause(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    email = "lead.northbo@example.com"
    lead = signed_in(browser, live_server, email, org_passwords[email], screen="desk")
    page = lead.page
    assert page.locator("h1").inner_text() == "File d’attente de North back-office"
    items = page.locator(".queue-item")
    assert items.count() == 2
    first = items.nth(0).inner_text()
    assert "Late delivery" in first
    assert "En retard" in first
    assert "échéance dépassée il y a 3\u00a0h" in first
    assert "Échéance dans 3\u00a0j" in items.nth(1).inner_text()
    assert "1 en retard" in lead.main_text()

    lead.follow("Late delivery")
    clock = page.locator(".irritant-head").inner_text()
    assert "En retard\néchéance dépassée il y a 3\u00a0h" in clock
    lead.submit(page.get_by_role("button", name="Le prendre en charge"))
    page.get_by_text("Résoudre", exact=True).first.click()
    page.get_by_label("Résolution").fill("Colis retrouvé et livré en express")
    page.get_by_label("Cause profonde", exact=True).select_option(label="Effectifs")
    lead.submit(page.locator("#resolve").get_by_role("button", name="Résoudre"))
    assert lead.flash() == "Résolu. La personne qui l’a signalé est prévenue."
    resolved = page.locator(".card--resolved").inner_text()
    assert "Colis retrouvé et livré en express" in resolved
    assert "Cause profonde\u00a0: Effectifs" in resolved
    assert "North back-office · pris en charge par Bruno Lead" in lead.main_text()

    lead.follow("File d’attente", nav=True)
    assert "0 en retard" in lead.main_text()
    assert page.locator(".queue-item").count() == 1
    lead.close()
