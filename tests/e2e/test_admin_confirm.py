"""Destructive admin actions ask first: dismissing the question changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import User, signed_in


def dismiss_next_dialog(admin: User) -> list[str]:
    """Answers "Cancel" to the next confirm(); the list its message goes into."""
    messages: list[str] = []

    def dismiss(dialog: Any) -> None:
        messages.append(dialog.message)
        dialog.dismiss()

    admin.page.once("dialog", dismiss)
    return messages


@pytest.mark.browser
def test_cancelling_a_deactivation_or_a_closure_changes_nothing(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    email = "admin@example.com"
    admin = signed_in(browser, live_server, email, org_passwords[email])
    page = admin.page

    page.goto("/admin/users?q=agent.lille")
    admin.follow("agent.lille@example.com")
    user_page = page.url
    asked = dismiss_next_dialog(admin)
    page.get_by_role("button", name="Désactiver", exact=True).click()
    page.reload()
    admin.check()
    assert len(asked) == 1, asked
    assert asked[0].startswith("Désactiver "), asked
    assert asked[0].endswith("\u202f? Ses sessions et ses jetons cessent de fonctionner "
                             "aussitôt."), asked
    assert page.url == user_page
    assert page.get_by_role("button", name="Désactiver", exact=True).is_visible()

    page.goto("/admin/units/app-support")
    admin.check()
    asked = dismiss_next_dialog(admin)
    page.get_by_role("button", name="Fermer cette unité").click()
    page.reload()
    admin.check()
    assert asked == ["Fermer App support team\u202f? L’orientation cesse aussitôt de lui envoyer "
                     "des irritants."]
    assert page.get_by_role("button", name="Fermer cette unité").is_visible()
    admin.close()
