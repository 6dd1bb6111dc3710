"""Language choice (user, cookie, browser, French) and locale formatting of dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import select

from irritants.models import User
from irritants.web.filters import TimeFormat, datetime_filter, timeago_filter

AGENT = "agent.lille@example.com"


def page_language(response: Any) -> str:
    html = response.get_data(as_text=True)
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize(
    ("accept", "language"),
    [
        (None, "fr"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-CA", "fr"),
        ("de-DE,de;q=0.9", "fr"),
        ("de, en;q=0.5, fr;q=0.8", "fr"),
        ("es, en;q=0.4", "en"),
    ],
)
def test_the_browser_language_decides_for_visitors(
    client: FlaskClient, accept: str | None, language: str
) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get("/auth/login", headers=headers)
    assert page_language(response) == language
    assert ("Sign in" in response.get_data(as_text=True)) is (language == "en")


def test_a_visitor_chooses_english_with_the_switch(client: FlaskClient) -> None:
    response = client.post("/auth/language", data={"lang": "en", "next": "/auth/login"})
    assert (response.status_code, response.location) == (302, "/auth/login")
    cookie = client.get_cookie("lang")
    assert cookie is not None
    assert cookie.value == "en"
    page = client.get("/auth/login", headers={"Accept-Language": "fr"})
    assert page_language(page) == "en"
    assert "<h1>Sign in</h1>" in page.get_data(as_text=True)


def test_an_unknown_language_is_ignored(client: FlaskClient) -> None:
    response = client.post("/auth/language", data={"lang": "de", "next": "/auth/login"})
    assert (response.status_code, response.location) == (302, "/auth/login")
    assert client.get_cookie("lang") is None


def test_a_user_choice_is_stored_and_wins_over_the_browser(
    app: Flask, login_as: Callable[..., FlaskClient], db: Any
) -> None:
    client = login_as("agent")
    client.post("/auth/language", data={"lang": "en", "next": "/auth/account"})
    db.session.expire_all()
    assert db.session.scalars(select(User.locale).where(User.email == AGENT)).one() == "en"
    # Another browser of the same user, in French: the account's choice wins.
    other = login_as("agent", app.test_client())
    response = other.get("/auth/account", headers={"Accept-Language": "fr"})
    assert page_language(response) == "en"
    assert "My account" in response.get_data(as_text=True)


def test_the_account_page_offers_both_languages(login_as: Callable[..., FlaskClient]) -> None:
    html = login_as("agent").get("/auth/account").get_data(as_text=True)
    assert '<button type="submit" name="lang" value="fr" lang="fr"' in html
    assert '<button type="submit" name="lang" value="en" lang="en"' in html
    assert "Changer mon mot de passe" in html


def test_dates_are_formatted_per_language_in_the_display_time_zone(app: Flask) -> None:
    moment = datetime(2026, 3, 14, 13, 5, tzinfo=UTC)
    with app.test_request_context():
        with force_locale("fr"):
            assert datetime_filter(moment, "short") == "14/03/2026 14:05"
        with force_locale("en"):
            assert datetime_filter(moment, "short") == "3/14/26, 2:05\u202fPM"
        assert datetime_filter(None) == ""


def test_the_default_date_and_time_has_no_seconds(app: Flask) -> None:
    moment = datetime(2026, 12, 5, 15, 53, 50, tzinfo=UTC)
    with app.test_request_context():
        with force_locale("fr"):
            assert datetime_filter(moment) == "5 déc. 2026, 16:53"
            assert TimeFormat().format_datetime(moment) == "5 déc. 2026, 16:53"
            assert datetime_filter(moment, "medium") == "5 déc. 2026, 16:53:50"  # on demand
        with force_locale("en"):
            assert datetime_filter(moment) == "Dec 5, 2026, 4:53\u202fPM"
            assert TimeFormat().format_datetime(moment) == "Dec 5, 2026, 4:53\u202fPM"


def test_relative_times_read_naturally(app: Flask) -> None:
    now = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
    with app.test_request_context():
        with force_locale("fr"):
            assert timeago_filter(now + timedelta(hours=3), now=now) == "dans 3\u00a0h"
            assert timeago_filter(now - timedelta(days=2), now=now) == "il y a 2\u00a0j"
        with force_locale("en"):
            assert timeago_filter(now + timedelta(hours=3), now=now) == "in 3 hr."
            assert timeago_filter(now - timedelta(minutes=40), now=now) == "40 min. ago"
        naive = (now + timedelta(hours=3)).replace(tzinfo=None)
        with force_locale("fr"):
            assert timeago_filter(naive, now=now) == "dans 3\u00a0h"


def test_templates_have_the_filters(app: Flask) -> None:
    with app.test_request_context(), force_locale("fr"):
        html = render_template_string(
            "{{ when|datetime('short') }} · {{ 1234.5|number }}",
            when=datetime(2026, 3, 14, 13, 5, tzinfo=UTC),
        )
    assert html == "14/03/2026 14:05 · 1\u202f234,5"


def test_a_length_limit_is_written_as_the_reader_writes_numbers(app) -> None:
    from flask_babel import force_locale
    from wtforms import Form, StringField

    from irritants.web.validators import AtMostCharacters

    class Description(Form):
        text = StringField(validators=[AtMostCharacters(10_000)])

    with app.test_request_context():
        for locale, message in (("fr", "10\u202f000 caractères au plus."),
                                ("en", "At most 10,000 characters.")):
            with force_locale(locale):
                form = Description(data={"text": "x" * 10_001})
                assert not form.validate()
                assert form.text.errors == [message]
        assert Description(data={"text": "x" * 10_000}).validate()
        assert 'maxlength="10000"' in str(Description().text())


def test_no_form_falls_back_on_wtforms_own_length_or_required_messages() -> None:
    # WTForms' messages come from its own catalogue: "Field cannot be longer than 10000
    # characters." (plain number) and « Ce champ est requis. » where the app says
    # « obligatoire ». AtMostCharacters and Required (or a message of our own) instead.
    import importlib
    import pkgutil

    from flask_wtf import FlaskForm
    from wtforms.fields.core import UnboundField
    from wtforms.validators import DataRequired, InputRequired, Length

    import irritants.web

    for module in pkgutil.walk_packages(irritants.web.__path__, "irritants.web."):
        if module.name.endswith(".forms"):
            importlib.import_module(module.name)

    def forms(base: type) -> list[type]:
        return [sub for cls in base.__subclasses__() for sub in (cls, *forms(cls))]

    ours = [form for form in forms(FlaskForm) if form.__module__.startswith("irritants.")]
    fallbacks = [
        f"{form.__module__}.{form.__name__}.{name}: {type(validator).__name__}"
        for form in ours
        for name, field in vars(form).items() if isinstance(field, UnboundField)
        for validator in field.kwargs.get("validators", ())
        if type(validator) is Length
        or (isinstance(validator, InputRequired | DataRequired) and validator.message is None)
    ]
    assert len(ours) > 10
    assert fallbacks == []
