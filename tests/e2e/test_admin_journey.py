"""An administrator shapes the organisation and its users on a phone, in French."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import User, signed_in


@pytest.mark.browser
def test_an_admin_creates_renames_moves_equips_and_closes_a_unit(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    email = "admin@example.com"
    admin = signed_in(browser, live_server, email, org_passwords[email])
    page = admin.page
    assert page.locator("h1").inner_text() == "Organisation"
    admin.follow("Nouvelle unité")
    page.get_by_label("Clé", exact=True).fill("lens")
    page.get_by_label("Nom", exact=True).fill("Magasin Lens")
    page.get_by_label("Unité parente (clé)").fill("north")
    admin.submit(page.get_by_role("button", name="Créer l'unité"))
    assert admin.flash() == "Unité Magasin Lens créée."
    assert breadcrumbs(admin) == "Organisation › Head office › Customer service division › " \
        "Region North › Magasin Lens"

    page.get_by_label("Nom", exact=True).fill("Store Lens")
    page.get_by_label("Unité parente (clé)").fill("south")
    admin.submit(page.get_by_role("button", name="Enregistrer", exact=True))
    assert admin.flash() == "Unité enregistrée."
    assert breadcrumbs(admin) == "Organisation › Head office › Customer service division › " \
        "Region South › Store Lens"

    page.get_by_label("service", exact=True).check()
    page.get_by_label("pos", exact=True).check()
    page.get_by_label("gesture", exact=True).check()
    page.get_by_label("Limite (€)").first.fill("30")
    admin.submit(page.get_by_role("button", name="Enregistrer les capacités"))
    assert admin.flash() == "Capacités enregistrées."
    assert page.get_by_label("service", exact=True).is_checked()
    assert page.get_by_label("pos", exact=True).is_checked()
    assert not page.get_by_label("crm", exact=True).is_checked()
    assert page.get_by_label("Limite (€)").first.input_value() == "30"

    admin.submit(page.get_by_role("button", name="Fermer cette unité"))
    assert admin.flash() == "Unité fermée."
    assert page.locator("h1").inner_text() == "Store Lens lens fermée"

    admin.follow("Vocabulaire")  # its table once pushed the phone page sideways
    admin.follow("Journal d'audit")
    whats = page.locator("main tbody tr td:nth-child(3)").all_inner_texts()
    assert [what.split("\n")[0].rsplit(" ", 1)[0] for what in whats[:4]] == [
        "Unité fermée", "Capacités de l'unité modifiées", "Unité renommée et déplacée",
        "Unité créée"]
    admin.close()


def breadcrumbs(user: Any) -> str:
    return user.page.locator("main p", has_text="Organisation ›").inner_text().strip()


@pytest.mark.browser
def test_an_admin_invites_a_lead_who_sets_a_password_then_is_deactivated(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    email = "admin@example.com"
    admin = signed_in(browser, live_server, email, org_passwords[email], screen="desk",
                      lang="en")
    page = admin.page
    admin.follow("Users", nav=True)
    admin.follow("Invite someone")
    page.get_by_label("Email address").fill("nina.lead@example.com")
    page.get_by_label("Name", exact=True).fill("Nina Lead")
    page.get_by_label("Role", exact=True).select_option("agent")
    page.get_by_label("Unit (key)").fill("nice")
    page.locator("main").get_by_label("Language").select_option("fr")
    admin.submit(page.get_by_role("button", name="Invite", exact=True))
    assert page.locator("h1").inner_text() == "Nina Lead is invited"
    link = page.get_by_label("Link").input_value()
    assert link.startswith(f"{live_server}/set-password/")
    admin.follow("Back to the user")
    page.get_by_label("Role", exact=True).select_option("lead")
    admin.submit(page.get_by_role("button", name="Save", exact=True))
    assert admin.flash() == "User saved."
    assert page.get_by_label("Role", exact=True).input_value() == "lead"

    # Nina opens the link on her phone, in French.
    nina = User(browser, live_server)
    nina.page.goto(link)
    nina.check()
    assert nina.page.locator("h1").inner_text() == "Choisissez votre mot de passe"
    nina.page.get_by_label("Nouveau mot de passe", exact=True).fill("sel-de-camargue-42")
    nina.page.get_by_label("Confirmez le nouveau mot de passe").fill("sel-de-camargue-42")
    nina.submit(nina.page.get_by_role("button", name="Enregistrer mon mot de passe"))
    assert nina.flash() == "Votre mot de passe est enregistré : connectez-vous avec."
    nina.sign_in("nina.lead@example.com", "sel-de-camargue-42")
    assert nina.page.locator("h1").inner_text() == "File d'attente de Store Nice"

    admin.submit(page.get_by_role("button", name="Deactivate"))
    assert admin.flash() == "Account deactivated."
    assert page.locator("h1").inner_text() == "Nina Lead deactivated"
    nina.page.reload()  # signed out everywhere at once
    nina.check()
    assert nina.page.url.startswith(f"{live_server}/auth/login")
    nina.close()
    admin.close()
