"""An agent at a desk: switches language, reads their account, logs a repeat of an irritant."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import log_irritant, signed_in


@pytest.mark.browser
def test_an_agent_switches_to_english_and_back_and_reads_their_account(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    email = "agent.marseille@example.com"
    agent = signed_in(browser, live_server, email, org_passwords[email], screen="desk")
    page = agent.page
    assert page.locator("h1").inner_text() == "Signaler un irritant"
    agent.submit(page.locator("footer").get_by_role("button", name="English"))
    assert page.locator("h1").inner_text() == "Log an irritant"  # the same page, in English
    assert page.url.endswith("/irritants/new")
    agent.follow("My account", nav=True)
    facts = agent.main_text()
    assert "Role\nAgent\nUnit\nStore Marseille" in facts
    agent.submit(page.locator("footer").get_by_role("button", name="Français"))
    assert page.locator("h1").inner_text() == "Mon compte"
    assert page.locator("footer").get_by_role("button", name="Français").get_attribute(
        "aria-pressed") == "true"

    # Logged twice: the second page points to the first one, still open.
    first = log_irritant(agent, "Faulty product", "Écran fissuré à la livraison")
    assert agent.page.locator(".banner h1").inner_text() == "Envoyé à Store Marseille"
    agent.follow("Signaler un autre irritant")
    log_irritant(agent, "Faulty product", "Encore un écran fissuré")
    also = page.locator(".similar")
    assert also.locator("h2").inner_text() == (
        "Aussi ouverts chez Store Marseille dans cette catégorie")
    assert also.get_by_role("link", name=f"#{first.rsplit('/', 1)[1]}").count() == 1
    agent.close()


@pytest.mark.browser
def test_an_agent_types_an_amount_with_a_decimal_comma_on_a_french_phone(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    # A number box would drop the comma: 4 990 €, beyond Store Marseille's refund limit (150).
    email = "agent.marseille@example.com"
    agent = signed_in(browser, live_server, email, org_passwords[email])
    page = agent.page
    page.get_by_label("Catégorie").select_option(label="Faulty product")
    page.get_by_label("Que s’est-il passé\u202f?").fill("Abat-jour fendu à la livraison")
    page.locator("summary.more__summary").click()
    page.get_by_label("Montant (€)").press_sequentially("49,90")  # key by key, as on a phone
    agent.submit(page.get_by_role("button", name="Envoyer"))
    assert page.locator(".banner h1").inner_text() == "Envoyé à Store Marseille"
    assert "Montant\n49,90\u00a0€" in agent.main_text()
    agent.close()
