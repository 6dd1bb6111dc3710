"""The French catalogue covers every message of the sources, and the .mo files are fresh.

When this fails after you added or changed a message: run `make translations`, translate
the new entries of irritants/translations/fr/LC_MESSAGES/messages.po (no fuzzy ones),
then `pybabel compile -d irritants/translations` (or `make translations` again).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "irritants" / "translations"
# The keywords of `make translations` (Makefile): gettext's defaults, _l, lazy_gettext and
# n_ (ngettext outside requests, irritants/services/messages.py).
KEYWORDS: dict[str, Any] = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "n_": (1, 2)}


def extracted_messages() -> dict[Any, list[str]]:
    """msgid (a string, or a (singular, plural) tuple) -> where it is used."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[Any, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        key = message if isinstance(message, str) else tuple(message[:2])
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def catalogue(locale: str) -> Catalog:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


@pytest.fixture(scope="module")
def sources() -> dict[Any, list[str]]:
    return extracted_messages()


@pytest.fixture(scope="module")
def french() -> Catalog:
    return catalogue("fr")


def entry_key(message: Any) -> Any:
    return message.id if isinstance(message.id, str) else tuple(message.id[:2])


def test_the_sources_have_messages(sources: dict[Any, list[str]]) -> None:
    assert "Sign in" in sources
    assert "Email or password is incorrect." in sources
    assert len(sources) > 50


def test_every_message_of_the_sources_is_in_the_french_catalogue(
    sources: dict[Any, list[str]], french: Catalog
) -> None:
    known = {entry_key(message) for message in french if message.id}
    missing = {key: places[0] for key, places in sources.items() if key not in known}
    assert missing == {}, "run `make translations` and translate the new entries"


def test_every_french_entry_is_translated_and_not_fuzzy(
    sources: dict[Any, list[str]], french: Catalog
) -> None:
    used = set(sources)
    untranslated = sorted(
        str(message.id)
        for message in french
        if message.id
        and entry_key(message) in used
        and (
            message.fuzzy
            or not message.string
            or (isinstance(message.string, tuple) and not all(message.string))
        )
    )
    assert untranslated == []


def test_french_entries_keep_the_placeholders_of_their_message(french: Catalog) -> None:
    problems = [
        f"{message.id!r}: {error}"
        for message, errors in french.check()
        for error in errors
    ]
    assert problems == []


NBSP = "\u00a0"  # no-break space
NNBSP = "\u202f"  # narrow no-break space

# French spaces its high punctuation, and the space must not break: a line never starts with
# ":" or "?". A no-break space before ":", a percent sign and the euro sign, inside « », and
# a narrow one before ; ? ! (the Imprimerie nationale's rule). A plain space there may break
# the line; no space at all is English. A quoted key ('{"fr": ...}') is code, not French.
SPACE_BEFORE = {":": NBSP, ";": NNBSP, "?": NNBSP, "!": NNBSP, "»": NBSP, "%": NBSP,
                "€": NBSP}
_ENDING_MARK = re.compile(r'(.?)(?<!")([:;?!])(?=\s|$)')
_CLOSING_QUOTE = re.compile(r"(.?)(»)")
_OPENING_QUOTE = re.compile(r"(«)(.?)")
# A literal percent sign ("%%" in a python-format message), not a placeholder ("%(id)s"),
# after a number or a placeholder that prints one.
_PERCENT_SIGN = re.compile(r"(?<=[\d)d\s])(\s?)(%)(?:%|(?![(\w]))")
# The euro sign after an amount ("%(amount)s €"), not in "(€)".
_EURO_SIGN = re.compile(r"(\s)(€)")


def french_spacing_problems(text: str) -> list[str]:
    """Each high punctuation mark of `text` without the no-break space French puts there."""
    problems = [
        f"{space!r} before {mark!r}"
        for pattern in (_ENDING_MARK, _CLOSING_QUOTE, _PERCENT_SIGN, _EURO_SIGN)
        for space, mark in pattern.findall(text)
        if space != SPACE_BEFORE[mark]
    ]
    problems += [f"{space!r} after '«'" for _mark, space in _OPENING_QUOTE.findall(text)
                 if space != NBSP]
    return problems


@pytest.mark.parametrize(("text", "problems"), [
    ("Échéance\u00a0: 3\u00a0h", []),
    ("Et si\u202f?", []),
    ("la liste «\u00a0units\u00a0» manque\u202f; réessayez\u202f!", []),
    ("Couvre 80\u00a0%% et %(percent)d\u00a0%%", []),
    ('{"fr": ..., "en": ...}, https://example.com, 12:30, n° %(id)s', []),
    ("Échéance : 3 h", ["' ' before ':'"]),
    ("Échéance: 3 h", ["'e' before ':'"]),
    ("Et si ?", ["' ' before '?'"]),
    ("Et si\u00a0?", ["'\\xa0' before '?'"]),
    ("la liste « units »", ["' ' before '»'", "' ' after '«'"]),
    ("Couvre 80 %% et %(percent)d %%", ["' ' before '%'", "' ' before '%'"]),
    ("Montant (€) : %(amount)s\u00a0€", []),
    ("%(amount)s €", ["' ' before '€'"]),
])
def test_the_french_spacing_rule(text: str, problems: list[str]) -> None:
    assert french_spacing_problems(text) == problems


def test_french_entries_space_their_high_punctuation_with_no_break_spaces(
    french: Catalog
) -> None:
    def texts(message: Any) -> tuple[str, ...]:
        return message.string if isinstance(message.string, tuple) else (message.string,)

    problems = {text: french_spacing_problems(text) for message in french if message.id
                for text in texts(message) if french_spacing_problems(text)}
    assert problems == {}


# French writes its apostrophe ’ (U+2019), not the typewriter's ': « l’unité », « aujourd’hui ».
# A placeholder (%(key)s, {name}) and a JSON example ({"fr": ..., "en": ...}) are code and
# are left out; a straight quote around a key ('-') is no French either: « - ».
_CODE = re.compile(r"%\([^)]*\)[a-z]|\{[^{}]*\}")


def french_apostrophe_problems(text: str) -> list[str]:
    """Each straight apostrophe of `text` outside its placeholders and JSON examples."""
    words = _CODE.sub(" ", text).split()
    return [f"{word!r}: ’, not '" for word in words if "'" in word]


@pytest.mark.parametrize(("text", "problems"), [
    ("L’unité %(key)s n’a pas d’habilitation aujourd’hui.", []),
    ('%(what)s\u00a0: un texte, ou {"fr": ..., "en": ...}, d’au plus 200\u00a0caractères', []),
    ("Ouvrir l’irritant n° %(id)s", []),
    ("L'unité %(key)s n’a pas d'habilitation", ["\"L'unité\": ’, not '",
                                                 "\"d'habilitation\": ’, not '"]),
    ("utilisez '-' et '_'", ["\"'-'\": ’, not '", "\"'_'\": ’, not '"]),
])
def test_the_french_apostrophe_rule(text: str, problems: list[str]) -> None:
    assert french_apostrophe_problems(text) == problems


def test_french_entries_write_the_apostrophe_as_french_does(french: Catalog) -> None:
    def texts(message: Any) -> tuple[str, ...]:
        return message.string if isinstance(message.string, tuple) else (message.string,)

    problems = {text: french_apostrophe_problems(text) for message in french if message.id
                for text in texts(message) if french_apostrophe_problems(text)}
    assert problems == {}


# A name put in a message between quotes is quoted as the language quotes: « %(name)s » in
# French, “%(name)s” in English, never "%(name)s" (straight quotes are for JSON examples).
_STRAIGHT_QUOTED_PLACEHOLDER = re.compile(r'"%\([^)]*\)[a-z]"')


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_a_quoted_placeholder_has_the_quotes_of_its_language(locale: str) -> None:
    def texts(message: Any) -> tuple[str, ...]:
        shown = message.string if any(message.string) else message.id  # empty: the msgid
        return shown if isinstance(shown, tuple) else (shown,)

    straight = [text for message in catalogue(locale) if message.id
                for text in texts(message) if _STRAIGHT_QUOTED_PLACEHOLDER.search(text)]
    assert straight == []


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_compiled_catalogue_matches_its_po_file(locale: str) -> None:
    expected = io.BytesIO()
    write_mo(expected, catalogue(locale))
    mo_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"compile it: pybabel compile -d {TRANSLATIONS}"
    assert mo_path.read_bytes() == expected.getvalue(), (
        f"{mo_path} is stale: pybabel compile -d irritants/translations"
    )


def test_the_english_catalogue_has_the_same_entries(french: Catalog) -> None:
    # English is the message language: an empty msgstr shows the msgid.
    english = catalogue("en")
    assert english.locale is not None
    assert english.locale.language == "en"
    assert {entry_key(m) for m in english if m.id} == {entry_key(m) for m in french if m.id}
