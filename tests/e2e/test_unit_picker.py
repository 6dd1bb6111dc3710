"""A large organisation's origin field is a text box with suggestions (phone, French page)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from irritants.web import unit_select
from tests.e2e.helpers import signed_in


@pytest.mark.browser
def test_an_agent_names_the_origin_by_typing_part_of_a_store_name_and_picking_it(
    browser: Any, live_server: str, org_passwords: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import expect

    # The live server runs in this process: its organisation is now "large".
    monkeypatch.setattr(unit_select, "PICKER_FROM", 3)
    email = "agent.lille@example.com"
    agent = signed_in(browser, live_server, email, org_passwords[email])  # home: log one
    page = agent.page
    page.select_option("select[name=category]", "faulty-product")
    page.fill("textarea[name=description]", "La bouilloire fuit")
    page.click("summary.more__summary")
    assert page.locator("select[name=origin_unit]").count() == 0  # no option per team
    origin = page.get_by_role("combobox", name="Où cela s’est produit")
    assert origin.input_value() == "Store Lille (lille)"  # their own unit by default
    agent.check()

    origin.click()  # the chosen team is selected: what is typed replaces it
    origin.press_sequentially("rOUb", delay=30)  # case ignored
    suggestions = page.get_by_role("listbox", name="Où cela s’est produit")
    expect(suggestions.get_by_role("option")).to_have_text(["Store Roubaix (roubaix)"])
    origin.press("ArrowDown")
    origin.press("Enter")  # picks the team, does not send the form
    assert origin.input_value() == "Store Roubaix (roubaix)"
    expect(suggestions).to_be_hidden()
    assert page.url.endswith("/irritants/new")

    origin.fill("")
    origin.press_sequentially("mars", delay=30)
    page.get_by_role("option", name="Store Marseille (marseille)").click()
    assert origin.input_value() == "Store Marseille (marseille)"
    expect(suggestions).to_be_hidden()
    agent.check()

    agent.submit(page.get_by_role("button", name="Envoyer"))
    assert re.search(r"/irritants/\d+\?sent=1$", page.url)
    facts = page.locator(".facts__row", has_text="Où cela s’est produit")
    assert facts.locator("dd").inner_text().strip() == "Store Marseille"
    agent.close()
