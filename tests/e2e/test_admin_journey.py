"""An administrator shapes the organisation and its users on a phone, in French."""

from __future__ import annotations

import json
import re
from pathlib import Path
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
    page.get_by_label("Unité parente", exact=True).select_option(label="Region North")
    admin.submit(page.get_by_role("button", name="Créer l’unité"))
    assert admin.flash() == "Unité Magasin Lens créée."
    assert breadcrumbs(admin) == "Organisation › Head office › Customer service division › " \
        "Region North › Magasin Lens"

    page.get_by_label("Nom", exact=True).fill("Store Lens")
    parent = page.get_by_label("Unité parente", exact=True)
    assert parent.input_value() == "north"  # its parent chosen: saving keeps it there
    parent.select_option(label="Region South")
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

    asked = admin.submit_confirmed(page.get_by_role("button", name="Fermer cette unité"))
    assert asked.startswith("Fermer Store Lens\u202f? "), asked
    assert admin.flash() == "Unité fermée."
    assert page.locator("h1").inner_text() == "Store Lens lens fermée"

    admin.follow("Vocabulaire")  # its table once pushed the phone page sideways
    admin.follow("Journal d’audit")
    whats = page.locator("main tbody tr td:nth-child(3)").all_inner_texts()
    assert [what.split("\n")[0].rsplit(" ", 1)[0] for what in whats[:4]] == [
        "Unité fermée", "Capacités de l’unité modifiées", "Unité renommée et déplacée",
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
    page.get_by_label("Unit", exact=True).select_option(label="Store Nice")
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
    # A new link (the invitation is lost, say) replaces the first one.
    admin.submit(page.get_by_role("button", name="Make a password link"))
    assert page.locator("h1").inner_text() == "Password link for Nina Lead"
    link = page.get_by_label("Link").input_value()
    admin.follow("Back to the user")

    # Nina opens the link on a phone set to English: she was invited in French, so the pages
    # until she signs in are French.
    nina = User(browser, live_server, lang="en")
    nina.page.goto(link)
    nina.check()
    assert nina.page.locator("h1").inner_text() == "Choisissez votre mot de passe"
    nina.page.get_by_label("Nouveau mot de passe", exact=True).fill("sel-de-camargue-42")
    nina.page.get_by_label("Confirmez le nouveau mot de passe").fill("sel-de-camargue-42")
    nina.submit(nina.page.get_by_role("button", name="Enregistrer mon mot de passe"))
    assert nina.flash() == "Votre mot de passe est enregistré\u00a0: connectez-vous avec."
    assert nina.page.locator("h1").inner_text() == "Se connecter"
    nina.sign_in("nina.lead@example.com", "sel-de-camargue-42")
    assert nina.page.locator("h1").inner_text() == "File d’attente de Store Nice"

    asked = admin.submit_confirmed(page.get_by_role("button", name="Deactivate"))
    assert asked == "Deactivate Nina Lead? Their sessions and tokens stop working at once."
    assert admin.flash() == "Account deactivated."
    assert page.locator("h1").inner_text() == "Nina Lead deactivated"
    nina.page.reload()  # signed out everywhere at once
    nina.check()
    assert nina.page.url.startswith(f"{live_server}/auth/login")
    nina.close()
    admin.close()


@pytest.mark.browser
def test_an_admin_adds_to_the_vocabulary_makes_a_category_and_exports_the_organisation(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    email = "admin@example.com"
    admin = signed_in(browser, live_server, email, org_passwords[email])
    page = admin.page
    admin.follow("Vocabulaire")
    page.get_by_label("Type").select_option(label="Outil")
    page.get_by_label("Clé", exact=True).fill("scanner")
    page.get_by_label("Libellé en français").fill("Scanner de colis")
    page.get_by_label("Libellé en anglais").fill("Parcel scanner")
    admin.submit(page.get_by_role("button", name="Ajouter au vocabulaire"))
    assert admin.flash() == "scanner ajouté au vocabulaire."
    assert admin.row("scanner") == [
        "scanner", "Scanner de colis", "Parcel scanner", "0", "0", "Modifier les libellés"]

    admin.follow("Catégories")
    admin.follow("Nouvelle catégorie")
    page.get_by_label("Clé", exact=True).fill("damaged-parcel")
    page.get_by_label("Libellé en français").fill("Colis abîmé")
    page.get_by_label("Libellé en anglais").fill("Damaged parcel")
    page.get_by_label("Compétence", exact=True).select_option("delivery")
    page.get_by_label("Scanner de colis").check()
    assert page.get_by_label("Causes profondes").input_value().splitlines()[:2] == [
        "process | Processus | Process", "training | Formation | Training"]
    admin.submit(page.get_by_role("button", name="Enregistrer la catégorie"))
    assert admin.flash() == "Catégorie créée."
    assert page.locator("h1").inner_text() == "Colis abîmé damaged-parcel"
    assert page.get_by_label("Scanner de colis").is_checked()
    assert page.get_by_label("Compétence", exact=True).input_value() == "delivery"

    admin.follow("Import et export")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger l’organisation (JSON)").click()
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    category = next(c for c in exported["categories"] if c["key"] == "damaged-parcel")
    assert category["label"] == {"fr": "Colis abîmé", "en": "Damaged parcel"}
    assert (category["competency"], category["tools"]) == ("delivery", ["scanner"])
    assert exported["labels"]["tools"]["scanner"] == {
        "fr": "Scanner de colis", "en": "Parcel scanner"}
    assert all("password" not in user for user in exported["users"])

    # Importing it back with one more store and a new name for the category.
    exported["units"].append({"key": "toulon", "name": "Store Toulon", "parent": "south",
                              "competencies": ["product", "service"], "authorities": {},
                              "tools": ["pos"]})
    category["label"]["fr"] = "Colis endommagé"
    page.get_by_label("Fichier de l’organisation (JSON)").set_input_files({
        "name": "org.json", "mimeType": "application/json",
        "buffer": json.dumps(exported).encode()})
    admin.submit(page.get_by_role("button", name="Importer"))
    assert re.fullmatch(r"Organisation importée\u00a0: 1 unité, 1 catégorie et 0 utilisateur créés "
                        r"ou mis à jour\u202f; version de l’organisation \d+\.", admin.flash())
    admin.follow("Unités")
    assert admin.row("toulon")[1:3] == ["Store Toulon", "south"]
    admin.close()
