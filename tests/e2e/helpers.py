"""Shared steps of the browser journeys: signing in, and the checks every page must pass.

A `User` is one browser context (one person on one screen, in one language). Every page it
lands on is checked by `user.check()`: no console error (a CSP violation, a script error), no
failed request of the app's own resources, no horizontal scrolling, every visible control with
an accessible name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.e2e.conftest import DESK, PHONE

SCREENS = {"phone": PHONE, "desk": DESK}
LOCALES = {"fr": "fr-FR", "en": "en-US"}

# Visible controls without an accessible name (label, aria-label(ledby), title, text), or out
# of the keyboard's reach (a negative tabindex).
UNLABELLED_CONTROLS = """() => {
  const visible = (el) => el.checkVisibility({visibilityProperty: true});
  const named = (el) => {
    if ((el.getAttribute('aria-label') || '').trim()) return true;
    const ids = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
    if (ids.some((id) => (document.getElementById(id)?.textContent || '').trim())) return true;
    if (el.labels && [...el.labels].some((label) => label.textContent.trim())) return true;
    if ((el.getAttribute('title') || '').trim()) return true;
    if (['button', 'submit', 'reset'].includes(el.type) && el.tagName === 'INPUT')
      return !!(el.value || '').trim();
    if (['A', 'BUTTON', 'SUMMARY'].includes(el.tagName))
      return !!(el.textContent || '').trim()
        || [...el.querySelectorAll('img[alt]')].some((img) => img.alt.trim());
    return false;
  };
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
  return [...document.querySelectorAll(selector)]
    .filter((el) => visible(el) && (!named(el) || (el.tabIndex < 0 && !el.disabled)))
    .map((el) => el.outerHTML.slice(0, 160));
}"""

# Ids used by two elements: a label then names the wrong control.
DUPLICATED_IDS = """() => {
  const ids = [...document.querySelectorAll('[id]:not([type=hidden])')].map((el) => el.id);
  return [...new Set(ids.filter((id, index) => ids.indexOf(id) !== index))];
}"""


class User:
    """One person in one browser context: their page and what went wrong on it."""

    def __init__(self, browser: Any, base_url: str, *, screen: str = "phone",
                 lang: str = "fr") -> None:
        self.context = browser.new_context(
            viewport=SCREENS[screen], locale=LOCALES[lang], base_url=base_url,
            accept_downloads=True)
        self.context.set_default_timeout(5000)
        self.base_url = base_url
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.errors.append(f"script: {error}"))
        self.page.on("response", self._on_response)

    def _on_console(self, message: Any) -> None:
        # A failed load is reported by _on_response, with its URL.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console: {message.text}")

    def _on_response(self, response: Any) -> None:
        if response.status >= 400 and response.url.startswith(self.base_url):
            self.errors.append(f"{response.status} {response.url}")

    def sign_in(self, email: str, password: str) -> User:
        """Signs in from the sign-in page, as a person would."""
        page = self.page
        page.goto("/auth/login")
        self.check()
        page.locator("input[name=email]").fill(email)
        page.locator("input[name=password]").fill(password)
        page.locator("form.form [type=submit]").click()
        page.wait_for_load_state()
        assert "/auth/login" not in page.url, page.inner_text("main")
        self.check()
        return self

    def open_menu(self) -> None:
        """Opens the phone menu when it is folded."""
        toggle = self.page.locator(".nav-toggle")
        if toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false":
            toggle.click()

    def follow(self, name: str | re.Pattern[str], *, nav: bool = False) -> None:
        """Clicks the link of that name (in the main menu with nav=True) and checks the page."""
        if nav:
            self.open_menu()
            scope = self.page.locator("#site-nav")
        else:
            scope = self.page.locator("main")
        scope.get_by_role("link", name=name).first.click()
        self.page.wait_for_load_state()
        self.check()

    def submit(self, button: Any) -> None:
        """Clicks a button that sends a form, waits for the next page and checks it."""
        with self.page.expect_navigation():
            button.click()
        self.check()

    def submit_confirmed(self, button: Any) -> str:
        """Clicks a button that asks first (data-confirm), answers OK, waits for the next
        page and checks it; the question asked."""
        asked: list[str] = []

        def accept(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept()

        self.page.once("dialog", accept)
        self.submit(button)
        assert len(asked) == 1, asked
        return asked[0]

    def download(self, link: Any) -> bytes:
        """Clicks a download link; the bytes of the file."""
        with self.page.expect_download() as download:
            link.click()
        return Path(download.value.path()).read_bytes()

    def csv_lines(self, link: Any) -> list[str]:
        """Downloads a CSV: it must start with a BOM (for spreadsheets); its lines."""
        content = self.download(link)
        assert content.startswith(b"\xef\xbb\xbf"), content[:20]
        return content.decode("utf-8-sig").splitlines()

    def row(self, text: str) -> list[str]:
        """The cells of the first table row with a cell containing `text` (case ignored)."""
        cells = self.page.locator("th, td").filter(has_text=text)
        row = self.page.locator("main tr", has=cells).first
        return [cell.strip() for cell in row.locator("th, td").all_inner_texts()]

    def flash(self) -> str:
        return self.page.locator(".flashes").inner_text().strip()

    def main_text(self) -> str:
        return self.page.locator("main").inner_text()

    def check(self) -> None:
        """The checks every page must pass."""
        page = self.page
        page.wait_for_load_state()
        assert self.errors == [], (page.url, self.errors)
        width = page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{page.url} scrolls sideways: {width}"
        duplicated = page.evaluate(DUPLICATED_IDS)
        assert duplicated == [], (page.url, "ids used twice", duplicated)
        unlabelled = page.evaluate(UNLABELLED_CONTROLS)
        assert unlabelled == [], (page.url, unlabelled)

    def close(self) -> None:
        assert self.errors == [], self.errors
        self.context.close()


def log_irritant(agent: User, category: str, description: str) -> str:
    """The agent logs an irritant from the menu; the path of its page."""
    agent.follow("Signaler un irritant", nav=True)
    agent.page.get_by_label("Catégorie").select_option(label=category)
    agent.page.get_by_label("Que s’est-il passé\u202f?").fill(description)
    agent.submit(agent.page.get_by_role("button", name="Envoyer"))
    assert re.search(r"/irritants/\d+\?sent=1$", agent.page.url)
    return agent.page.url.split("?")[0].removeprefix(agent.base_url)


def signed_in(browser: Any, base_url: str, email: str, password: str, *,
              screen: str = "phone", lang: str = "fr") -> User:
    return User(browser, base_url, screen=screen, lang=lang).sign_in(email, password)
