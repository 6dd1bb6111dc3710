"""An agent logs an irritant on a phone; the lead of the team it went to takes and resolves it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import PHONE


def signed_in(browser: Any, base_url: str, email: str, password: str) -> tuple[Any, Any]:
    """A phone-sized English page, signed in; and the console errors it collects."""
    context = browser.new_context(viewport=PHONE, locale="en-US", base_url=base_url)
    page = context.new_page()
    errors: list[str] = []
    # Console errors (a CSP violation, a script error); failed loads are checked by response,
    # which leaves out the browser's own /favicon.ico request.
    page.on("console", lambda message: message.type == "error"
            and not message.text.startswith("Failed to load resource")
            and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda response: response.status >= 400
            and errors.append(f"{response.status} {response.url}"))
    page.goto("/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form.form [type=submit]")
    page.wait_for_load_state()
    assert "/auth/login" not in page.url
    return page, errors


def fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.browser
def test_an_agent_logs_on_a_phone_and_the_lead_of_the_assignee_resolves_it(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    email = "agent.lille@example.com"
    agent, agent_errors = signed_in(browser, live_server, email, org_passwords[email])

    agent.goto("/irritants/new")
    assert fits_the_screen(agent)
    agent.select_option("select[name=category]", "faulty-product")
    agent.fill("textarea[name=description]", "The kettle leaks from the bottom")
    agent.click("summary.more__summary")
    agent.fill("input[name=amount]", "80")
    agent.click("button.button--wide")
    agent.wait_for_url(re.compile(r"/irritants/\d+\?sent=1$"))

    banner = agent.inner_text(".banner")
    assert "Sent to Store Roubaix" in banner
    assert "Store Roubaix, 2 steps away, has everything it takes." in banner
    assert fits_the_screen(agent)
    irritant_path = agent.url.split("?")[0].removeprefix(live_server)
    assert agent_errors == []
    agent.context.close()

    email = "lead.roubaix@example.com"
    lead, lead_errors = signed_in(browser, live_server, email, org_passwords[email])
    lead.goto("/queue")
    assert fits_the_screen(lead)
    item = lead.locator(".queue-item", has=lead.locator(f'a[href="{irritant_path}"]'))
    item.locator("button", has_text="Take it").click()
    lead.wait_for_url(re.compile(re.escape(irritant_path) + "$"))
    assert "You took this irritant." in lead.inner_text(".flashes")

    lead.click("#resolve summary")
    lead.fill("textarea[name=resolution]", "Exchanged the kettle")
    lead.select_option("select[name=root_cause]", "supplier")
    lead.click("#resolve button[type=submit]")
    lead.wait_for_url(re.compile(re.escape(irritant_path) + "$"))

    assert "Resolved. The person who logged it is told." in lead.inner_text(".flashes")
    assert "Exchanged the kettle" in lead.inner_text(".card--resolved")
    assert fits_the_screen(lead)
    assert lead_errors == []
    lead.context.close()
