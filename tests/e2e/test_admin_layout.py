"""The admin pages fit a phone: a compact sub-navigation, and the audit trail as cards.

Each page is also checked by `User.check()`: the page itself never scrolls sideways.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import User, signed_in

ADMIN_LINKS = {
    "fr": ["Unités", "Vocabulaire", "Catégories", "Utilisateurs", "Import et export",
           "Journal d’audit"],
    "en": ["Units", "Vocabulary", "Categories", "Users", "Import and export", "Audit trail"],
}
AUDIT_COLUMNS = {
    "fr": ["Quand", "Qui", "Quoi", "Objet", "Modifications"],
    "en": ["When", "Who", "What", "Subject", "Changes"],
}
PRIMARY = "rgb(29, 78, 216)"  # --color-primary: the current page's tile
SURFACE = "rgb(255, 255, 255)"  # --color-surface: the other tiles

# The rows of tiles (their distinct tops), the shortest tile, the nav's height.
NAV_GEOMETRY = """(nav) => {
  const boxes = [...nav.querySelectorAll('a')].map((a) => a.getBoundingClientRect());
  return {rows: new Set(boxes.map((box) => Math.round(box.top))).size,
          shortest: Math.min(...boxes.map((box) => box.height)),
          height: nav.getBoundingClientRect().height};
}"""

# How the first audit event with changes is laid out: each cell's display, its caption (the
# ::before content), whether it ends inside the window; and the changes' right edge.
AUDIT_CARD = """(row) => {
  const cells = [...row.querySelectorAll('td')];
  return {
    row: getComputedStyle(row).display,
    captions: cells.map((td) => getComputedStyle(td, '::before').content),
    inside: cells.every((td) => td.getBoundingClientRect().right <= window.innerWidth),
    changesRight: Math.max(...[...row.querySelectorAll('.changes li')].map(
      (li) => li.getBoundingClientRect().right)),
  };
}"""


def open_from_admin_nav(admin: User, label: str) -> Any:
    """Follows a link of the admin sub-navigation; the nav of the page it opens."""
    admin_nav(admin).get_by_role("link", name=label, exact=True).click()
    admin.page.wait_for_load_state()
    admin.check()
    return admin_nav(admin)


def admin_nav(admin: User) -> Any:
    return admin.page.get_by_role("navigation", name="Administration")  # its name in both


def tile_colours(nav: Any) -> list[str]:
    return nav.locator("a").evaluate_all(
        "(links) => links.map((a) => getComputedStyle(a).backgroundColor)")


@pytest.mark.browser
@pytest.mark.parametrize(("screen", "rows"), [("phone", 2), ("desk", 1)])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_admin_navigation_is_a_compact_block_of_tiles_marking_the_current_page(
    browser: Any, live_server: str, org_passwords: dict[str, str], lang: str, screen: str,
    rows: int
) -> None:
    email = "admin@example.com"
    admin = signed_in(browser, live_server, email, org_passwords[email], screen=screen,
                      lang=lang)
    labels = ADMIN_LINKS[lang]
    for position, label in enumerate(labels):
        nav = open_from_admin_nav(admin, label)

        geometry = nav.evaluate(NAV_GEOMETRY)
        assert geometry["rows"] == rows, (label, geometry)  # phone: two rows of three
        assert geometry["height"] < 120, (label, geometry)
        assert geometry["shortest"] >= 44, (label, geometry)  # touch targets
        assert nav.locator("[aria-current=page]").all_inner_texts() == [label]
        colours = [SURFACE] * len(labels)
        colours[position] = PRIMARY
        assert tile_colours(nav) == colours
    admin.close()


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_on_a_phone_each_audit_event_is_a_card_with_its_changes_in_sight(
    browser: Any, live_server: str, org_passwords: dict[str, str], lang: str
) -> None:
    email = "admin@example.com"
    admin = signed_in(browser, live_server, email, org_passwords[email], lang=lang)
    open_from_admin_nav(admin, ADMIN_LINKS[lang][-1])
    page = admin.page

    card = page.locator("main tbody tr", has=page.locator(".changes")).first.evaluate(
        AUDIT_CARD)

    assert not page.locator("main thead").is_visible()  # each cell names its column instead
    assert card["row"] == "block"
    assert card["captions"] == [f'"{column}"' for column in AUDIT_COLUMNS[lang]]
    assert card["inside"] is True
    assert card["changesRight"] <= 360
    admin.close()


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_on_a_desk_the_audit_trail_stays_a_table(
    browser: Any, live_server: str, org_passwords: dict[str, str], lang: str
) -> None:
    email = "admin@example.com"
    admin = signed_in(browser, live_server, email, org_passwords[email], screen="desk",
                      lang=lang)
    open_from_admin_nav(admin, ADMIN_LINKS[lang][-1])
    page = admin.page

    card = page.locator("main tbody tr", has=page.locator(".changes")).first.evaluate(
        AUDIT_CARD)

    assert page.locator("main thead th").all_inner_texts() == AUDIT_COLUMNS[lang]
    assert card["row"] == "table-row"
    assert card["captions"] == ["none"] * len(AUDIT_COLUMNS[lang])
    assert card["inside"] is True
    admin.close()


# Where a vocabulary choice's label ends and its key begins: the key must stand apart, on the
# same line after a gap or on a line of its own.
LABEL_AND_KEY = """(choice) => {
  const label = choice.querySelector('label').getBoundingClientRect();
  const key = choice.querySelector('code').getBoundingClientRect();
  return {gap: key.left - label.right, below: key.top >= label.bottom};
}"""


@pytest.mark.browser
def test_on_a_phone_a_unit_page_with_labelled_vocabulary_keeps_its_width(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    # A labelled authority's row (label, key, "· Limite (€)", the box) once pushed the page
    # sideways, and every label ran into its key ("caissepos").
    email = "admin@example.com"
    admin = signed_in(browser, live_server, email, org_passwords[email])
    page = admin.page
    open_from_admin_nav(admin, "Vocabulaire")
    page.get_by_label("Type").select_option(label="Habilitation")
    page.get_by_label("Clé", exact=True).fill("voucher")
    page.get_by_label("Libellé en français").fill("Bon d'achat de dédommagement")
    page.get_by_label("Libellé en anglais").fill("Goodwill voucher")
    admin.submit(page.get_by_role("button", name="Ajouter au vocabulaire"))

    page.goto("/admin/units/nice")
    admin.check()  # no sideways scrolling
    choice = page.locator(".field__choice", has=page.get_by_label("Bon d'achat de dédommagement"))
    layout = choice.evaluate(LABEL_AND_KEY)
    assert layout["gap"] >= 4 or layout["below"], layout
    assert choice.get_by_label("Limite (€)").bounding_box()["x"] >= 0
    admin.close()
