"""A call-centre agent names the store concerned by typing part of its name (French page)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import PHONE


@pytest.mark.browser
def test_typing_part_of_a_store_name_selects_it_as_the_origin(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    context = browser.new_context(viewport=PHONE, locale="fr-FR", base_url=live_server)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto("/auth/login")
    page.fill("input[name=email]", "agent.lille@example.com")
    page.fill("input[name=password]", org_passwords["agent.lille@example.com"])
    page.click("form.form [type=submit]")
    page.wait_for_load_state()

    page.goto("/irritants/new")
    page.select_option("select[name=category]", "faulty-product")
    page.fill("textarea[name=description]", "Le grille-pain ne chauffe plus")
    page.click("summary.more__summary")
    origin = page.locator("select[name=origin_unit]")
    assert origin.input_value() == "lille"  # their own unit by default
    search = page.get_by_label("Rechercher une équipe par son nom")

    search.fill("ROUB")  # case ignored
    assert [text.strip() for text in origin.locator("option").all_inner_texts()] == [
        "Store Roubaix"]
    assert origin.input_value() == "roubaix"
    search.fill("marsei")
    assert origin.input_value() == "marseille"
    search.press("Enter")  # picks the team, does not send the form
    assert page.url.endswith("/irritants/new")
    search.fill("")
    assert origin.locator("option").count() == 12  # every team again, the choice kept
    assert origin.input_value() == "marseille"

    page.click("button.button--wide")
    page.wait_for_url(re.compile(r"/irritants/\d+\?sent=1$"))
    assert "Store Marseille" in page.inner_text(".banner")
    assert errors == []
    context.close()
