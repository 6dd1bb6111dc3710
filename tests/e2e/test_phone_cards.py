"""Wide tables become cards on a phone: every column in sight, none scrolled off-screen.

The users list, the vocabulary, the gap ledger, the irritants behind a figure and the HR
tables use the audit trail's .table--cards (app.css); a desk keeps the table.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import User, signed_in

# How the table is laid out: whether its frame scrolls sideways, the display of the first
# row, its captions (the ::before content of its cells), and whether every cell and every
# caption ends inside the window.
CARDS = """(table) => {
  const frame = table.closest('.table-wrap');
  const row = table.querySelector('tbody tr');
  const cells = [...row.querySelectorAll('td')];
  return {
    frameScrolls: frame.scrollWidth > frame.clientWidth,
    row: getComputedStyle(row).display,
    header: getComputedStyle(table.querySelector('thead')).display,
    captions: cells.map((td) => getComputedStyle(td, '::before').content),
    captionsWrap: cells.map((td) => getComputedStyle(td, '::before').whiteSpace),
    outside: [...row.querySelectorAll('th, td, td *')].filter(
      (el) => el.getBoundingClientRect().right > window.innerWidth + 0.5).map(
      (el) => el.outerHTML.slice(0, 80)),
  };
}"""


def cards_of(user: User, path: str) -> dict[str, Any]:
    user.page.goto(path)
    user.check()  # the page itself never scrolls sideways
    return user.page.locator("main table").first.evaluate(CARDS)


def signed_in_as(browser: Any, live_server: str, passwords: dict[str, str], email: str,
                 screen: str = "phone") -> User:
    return signed_in(browser, live_server, email, passwords[email], screen=screen)


@pytest.mark.browser
def test_on_a_phone_the_users_list_is_cards_in_french(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    admin = signed_in_as(browser, live_server, org_passwords, "admin@example.com")

    cards = cards_of(admin, "/admin/users")

    assert cards["captions"] == ['"Adresse e-mail"', '"Nom"', '"Rôle"', '"Unité"', '"Statut"']
    assert (cards["row"], cards["header"], cards["frameScrolls"]) == ("block", "none", False)
    assert cards["outside"] == []
    vocabulary = cards_of(admin, "/admin/vocabulary")
    assert (vocabulary["row"], vocabulary["frameScrolls"], vocabulary["outside"]) == (
        "block", False, [])
    admin.close()


@pytest.mark.browser
def test_on_a_phone_the_gap_ledger_and_the_hr_tables_are_cards_in_french(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    director = signed_in_as(browser, live_server, org_passwords, "director@example.com")

    cards = cards_of(director, "/insights/gaps")

    assert cards["captions"][:5] == ['"Manquant"', '"Fois"', '"Période précédente"',
                                     '"Tendance"', '"Montants demandés et limite détenue"']
    # A long caption wraps within its column, even over a figure kept on one line.
    assert set(cards["captionsWrap"]) == {"normal"}
    assert (cards["row"], cards["header"], cards["frameScrolls"]) == ("block", "none", False)
    assert cards["outside"] == []
    for path in ("/insights/hr", "/insights/irritants"):
        other = cards_of(director, path)
        assert (path, other["row"], other["frameScrolls"], other["outside"]) == (
            path, "block", False, [])
    director.close()


@pytest.mark.browser
def test_on_a_desk_the_gap_ledger_stays_a_table(
    browser: Any, live_server: str, org_passwords: dict[str, str]
) -> None:
    director = signed_in_as(browser, live_server, org_passwords, "director@example.com",
                            screen="desk")

    table = cards_of(director, "/insights/gaps")

    assert (table["row"], table["header"]) == ("table-row", "table-header-group")
    assert set(table["captions"]) == {"none"}
    director.close()
