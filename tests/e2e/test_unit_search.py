"""A call-centre agent names the store concerned by typing part of its name (French page)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.helpers import signed_in


@pytest.mark.browser
def test_typing_part_of_a_store_name_selects_it_as_the_origin(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    email = "agent.lille@example.com"
    agent = signed_in(browser, live_server, email, org_passwords[email])  # home: log one
    page = agent.page
    page.select_option("select[name=category]", "faulty-product")
    page.fill("textarea[name=description]", "Le grille-pain ne chauffe plus")
    page.click("summary.more__summary")
    origin = page.locator("select[name=origin_unit]")
    every = origin.locator("option").count()  # the open units (other journeys add some)
    assert origin.input_value() == "lille"  # their own unit by default
    search = page.get_by_label("Chercher une équipe")

    search.fill("ROUB")  # case ignored
    assert [text.strip() for text in origin.locator("option").all_inner_texts()] == [
        "Store Roubaix"]
    assert origin.input_value() == "roubaix"
    search.fill("marsei")
    assert origin.input_value() == "marseille"
    search.press("Enter")  # picks the team, does not send the form
    assert page.url.endswith("/irritants/new")
    search.fill("")
    assert origin.locator("option").count() == every  # every team again, the choice kept
    assert origin.input_value() == "marseille"

    agent.submit(page.locator("button.button--wide"))
    assert re.search(r"/irritants/\d+\?sent=1$", page.url)
    assert "Store Marseille" in page.inner_text(".banner")
    agent.close()
