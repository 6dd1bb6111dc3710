"""quoted(): a key or value quoted in a message as the reader's language writes it."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale

from irritants.services.messages import quoted


def test_french_puts_the_value_in_guillemets_with_no_break_spaces(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "fr"}), force_locale("fr"):
        assert quoted("lille") == "«\u00a0lille\u00a0»"


def test_english_puts_the_value_in_curly_double_quotes(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "en"}), force_locale("en"):
        assert quoted("lille") == "\u201clille\u201d"


def test_under_force_locale_without_a_request_it_translates_too(app: Flask) -> None:
    with app.app_context(), force_locale("fr"):
        assert quoted("lille") == "«\u00a0lille\u00a0»"


def test_outside_a_request_it_is_the_repr_of_the_text(app: Flask) -> None:
    with app.app_context():
        assert quoted("lille") == "'lille'"
        assert quoted(12) == "'12'"
    assert quoted("lille") == "'lille'"


def test_a_value_is_written_with_str(app: Flask) -> None:
    with app.test_request_context(), force_locale("en"):
        assert quoted(12) == "\u201c12\u201d"
        assert quoted(None) == "\u201cNone\u201d"
        assert quoted("l'usine") == "\u201cl'usine\u201d"
        assert quoted("Élodie") == "\u201cÉlodie\u201d"


def test_control_characters_are_escaped_so_the_value_stays_on_one_line(app: Flask) -> None:
    with app.test_request_context(), force_locale("fr"):
        assert quoted("lil\nle") == "«\u00a0lil\\nle\u00a0»"
        assert quoted("a\tb\x00") == "«\u00a0a\\tb\\x00\u00a0»"
    with app.test_request_context(), force_locale("en"):
        assert quoted("lil\nle") == "\u201clil\\nle\u201d"
    with app.app_context():
        assert quoted("lil\nle") == "'lil\\nle'"
