"""Language selection: the user's choice, else the visitor's cookie, else the language a
page asked for (a set-password link speaks its owner's), else the language this visitor's
session keeps (the invitee's, from setting their password until they sign in), else the
browser's, else French.

The JSON API (irritants.api) never looks at sessions or cookies: the client's
Accept-Language when it names one of the languages, else the language of the user behind
the bearer token (`answer_in_token_holder_language`, once the token is read), else French."""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app, g, has_request_context, request, session
from flask_babel import refresh
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept

# The session key of the language kept for a visitor who is not signed in yet. Signing in
# starts a new session (irritants.web.auth.views.start_session), which drops it.
SESSION_LOCALE = "visitor_locale"
# The `g` key of the stored language of the user behind an API call's bearer token: the
# text, not the user, so that choosing the language of an error answer never reloads a
# user that a rollback expired (the database may be the error).
API_USER_LOCALE = "api_user_locale"


def select_locale() -> str:
    """The locale of this request."""
    languages = current_app.config["LANGUAGES"]
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    if _is_api_request():
        asked = _asked_language(languages)
        if asked is not None:
            return asked
        held = g.get(API_USER_LOCALE)
        return str(held) if held in languages else default
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return str(current_user.locale)
    chosen = request.cookies.get(current_app.config["LANGUAGE_COOKIE_NAME"])
    if chosen in languages:
        return str(chosen)
    if g.get("page_locale") in languages:
        return str(g.page_locale)
    if session.get(SESSION_LOCALE) in languages:
        return str(session[SESSION_LOCALE])
    return request.accept_languages.best_match(languages) or default


def _is_api_request() -> bool:
    from irritants.api.errors import is_api_request

    return is_api_request()


def _asked_language(languages: Sequence[str]) -> str | None:
    """The language of Accept-Language, when it names one of `languages` (`*` names none)."""
    named = LanguageAccept([(value, quality) for value, quality in request.accept_languages
                            if value != "*"])
    return named.best_match(languages)


def answer_in_token_holder_language(locale: str | None) -> None:
    """Answer the rest of this API call in the token holder's stored language (unless
    Accept-Language names one): called once the bearer token is read."""
    setattr(g, API_USER_LOCALE, locale)
    refresh()  # get_locale() may already have answered for this request


def prefer_locale(locale: str | None) -> None:
    """Render the rest of this request in `locale` (a user's stored language) rather than
    the browser's; a signed-in user's language and the language switch still win."""
    if locale in current_app.config["LANGUAGES"]:
        g.page_locale = locale
        refresh()  # get_locale() may already have answered for this request


def keep_locale_until_sign_in(locale: str | None) -> None:
    """Render this visitor's next pages in `locale` too, until they sign in: the person who
    has just set their password reads the sign-in page in their own language, even when the
    browser asks for another (a shared or borrowed device)."""
    if locale in current_app.config["LANGUAGES"]:
        session[SESSION_LOCALE] = locale
