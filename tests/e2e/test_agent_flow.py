"""An agent logs an irritant on a phone; the lead of the team it went to takes and resolves it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.helpers import signed_in


@pytest.mark.browser
def test_an_agent_logs_on_a_phone_and_the_lead_of_the_assignee_resolves_it(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    email = "agent.lille@example.com"
    user = signed_in(browser, live_server, email, org_passwords[email], lang="en")
    agent = user.page
    agent.select_option("select[name=category]", "faulty-product")
    agent.fill("textarea[name=description]", "The kettle leaks from the bottom")
    agent.click("summary.more__summary")
    agent.fill("input[name=amount]", "80")
    user.submit(agent.locator("button.button--wide"))
    assert re.search(r"/irritants/\d+\?sent=1$", agent.url)

    banner = agent.inner_text(".banner")
    assert "Sent to Store Roubaix" in banner
    assert "Store Roubaix, 2 steps away, has everything it takes." in banner
    irritant_path = agent.url.split("?")[0].removeprefix(live_server)
    user.close()

    email = "lead.roubaix@example.com"
    lead_user = signed_in(browser, live_server, email, org_passwords[email], lang="en")
    lead = lead_user.page  # home: the queue
    item = lead.locator(".queue-item", has=lead.locator(f'a[href="{irritant_path}"]'))
    lead_user.submit(item.locator("button", has_text="Take it"))
    assert lead.url.endswith(irritant_path)
    assert "You took this irritant." in lead.inner_text(".flashes")

    lead.click("#resolve summary")
    lead.fill("textarea[name=resolution]", "Exchanged the kettle")
    lead.select_option("select[name=root_cause]", "supplier")
    lead_user.submit(lead.locator("#resolve button[type=submit]"))
    assert lead.url.endswith(irritant_path)

    assert "Resolved. The person who logged it is told." in lead.inner_text(".flashes")
    assert "Exchanged the kettle" in lead.inner_text(".card--resolved")
    lead_user.close()

    # The agent is told: the bell shows it, the notification leads to the irritant.
    email = "agent.lille@example.com"
    user = signed_in(browser, live_server, email, org_passwords[email], lang="en")
    agent = user.page
    number = irritant_path.rsplit("/", 1)[1]
    user.open_menu()
    assert agent.locator(".bell .badge").inner_text().split() == ["1", "unread"]
    user.follow(re.compile("Notifications"), nav=True)
    notice = agent.locator("main li", has_text=f"Irritant #{number} you logged is resolved.")
    assert "Exchanged the kettle" in notice.inner_text()
    assert agent.get_by_role("button", name="Mark all as read").is_visible()
    user.submit(notice.get_by_role("button", name=f"Open irritant #{number}"))
    assert agent.url.endswith(irritant_path)
    user.open_menu()
    assert agent.locator(".bell .badge").count() == 0  # read by opening it
    user.follow("My irritants", nav=True)
    mine = agent.locator("main li", has_text=f"#{number} · Faulty product")
    assert "Resolved" in mine.inner_text()
    assert "Resolution: Exchanged the kettle" in mine.inner_text()
    user.close()
