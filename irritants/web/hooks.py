"""Request hooks: the signed-in user, session lifetime, security headers, error pages."""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_timedelta
from flask import (
    Flask,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_time, get_locale
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from irritants.extensions import db, limiter, login_manager
from irritants.models import User
from irritants.security_log import security_event
from irritants.services.snapshot import note_version, version_column
from irritants.web import filters
from irritants.web.navigation import is_current, nav_items_for, role_label
from irritants.web.redirects import safe_target

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
ERROR_PAGES = (400, 403, 404, 405, 413, 429, 500)
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_TEXT_TYPES = ("application/json", "application/javascript", "application/xml")


def init_app(app: Flask) -> None:
    """Install the hooks on the app."""
    login_manager.login_view = "auth.login"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    # First of all hooks: a request starts with an empty `g` and its own id.
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)
    app.before_request(end_expired_session)
    app.after_request(set_security_headers)
    app.context_processor(template_context)
    filters.init_app(app)
    for code in ERROR_PAGES:
        app.register_error_handler(code, handle_http_error)
    app.register_error_handler(CSRFError, handle_http_error)


def load_user(session_id: str) -> User | None:
    """The user of a session id "user_id:session_version", or None if revoked."""
    user_id, _sep, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    # The org version comes along: the page's org snapshot then costs no query.
    found = db.session.execute(
        select(User, version_column()).where(User.id == int(user_id))
    ).first()
    user = found[0] if found is not None else None
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    note_version(found[1])
    return user


def start_request() -> None:
    """Forget what earlier requests left in `g`, and give this request an id.

    An app context pushed around several requests (tests, scripts) would otherwise hand
    the previous request's signed-in user (Flask-Login caches it in `g`) and CSRF token
    (Flask-WTF too) to the next one.
    """
    for name in list(g):
        g.pop(name, None)
    assign_request_id()


def assign_request_id() -> None:
    """An id for this request, in its log lines and the X-Request-ID header."""
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)


def end_expired_session() -> None:
    """Sign out a session older than SESSION_ABSOLUTE_LIFETIME, whatever its activity.

    The idle timeout is PERMANENT_SESSION_LIFETIME: Flask refuses a session cookie signed
    longer ago than that, and signs it again on every request.
    """
    if "_user_id" not in session:
        return
    login_at = session.get("login_at")
    lifetime = current_app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()
    if isinstance(login_at, int | float) and 0 <= time.time() - login_at <= lifetime:
        return
    logout_user()
    session.clear()
    g.session_expired = True
    security_event("session_expired")


def unauthorized() -> Any:
    """Not signed in: the sign-in page (401 for the API)."""
    if request.path.startswith("/api/"):
        from irritants.api.errors import error_response

        return error_response(401)
    if g.get("session_expired"):
        flash(_("Your session has expired: please sign in again."), "info")
    else:
        flash(_("Please sign in to open this page."), "info")
    target = None
    if request.method == "GET":
        target = safe_target(request.full_path if request.query_string else request.path)
    return redirect(url_for("auth.login", next=target))


def set_security_headers(response: Response) -> Response:
    """Headers every response carries (reliability.md S1)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    # A view may send its own policy (a photo: "sandbox; default-src 'none'"), never one
    # without these three, which default-src does not cover.
    policy = headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        if directive.split()[0] not in policy:
            policy = f"{policy}; {directive}"
    headers["Content-Security-Policy"] = policy
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    hsts = current_app.config.get("HSTS")
    if hsts:
        headers.setdefault("Strict-Transport-Security", hsts)
    if request.endpoint != "static":
        # Pages show personal data and carry CSRF tokens: never stored by a cache.
        headers.setdefault("Cache-Control", "no-store")
    mimetype = response.mimetype or ""
    is_text = mimetype.startswith("text/") or mimetype in _TEXT_TYPES or mimetype.endswith("+json")
    if is_text and "charset" not in (response.content_type or ""):
        response.content_type = f"{mimetype}; charset=utf-8"
    if g.get("request_id"):
        headers["X-Request-ID"] = g.request_id
    return response


def template_context() -> dict[str, Any]:
    """Values every template sees: the locale, the navigation, the languages."""
    signed_in = not g.get("minimal_layout") and current_user.is_authenticated
    return {
        "locale": str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
        "nav_items": nav_items_for(current_user.role if signed_in else None),
        "is_current": is_current,
        "signed_in": signed_in,
        "language_names": LANGUAGE_NAMES,
        "role_label": role_label,
        "has_endpoint": _has_endpoint,
        # Where the language switch comes back to (only pages one can GET again).
        "current_path": _current_path() if request.method == "GET" else None,
    }


def _has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def _current_path() -> str | None:
    return safe_target(request.full_path if request.query_string else request.path)


def handle_http_error(error: HTTPException) -> Any:
    """The error page of an HTTP error; JSON under /api/."""
    code = error.code or 500
    if code == 403:
        actor = current_user.get_id() if current_user.is_authenticated else None
        security_event("forbidden", actor_id=_user_id(actor))
    if code >= 500:
        db.session.rollback()
        g.minimal_layout = True
    if request.path.startswith("/api/"):
        return _api_error(error, code)
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    try:
        body = render_template(f"errors/{code}.html", error=error, **_retry_context(code))
    except Exception:  # noqa: BLE001 - the error page must never fail in turn
        db.session.rollback()
        current_app.logger.exception("error page %s failed", code)
        body = "<!doctype html><title>Error</title><p>Error</p>"
    return body, code, headers


def _user_id(session_id: str | None) -> int | None:
    user_id = (session_id or "").partition(":")[0]
    return int(user_id) if user_id.isdigit() else None


def _api_error(error: HTTPException, code: int) -> Any:
    if code not in (404, 405, 500):
        # Other API errors keep the API's own shapes (its HTTPException handler).
        handler = current_app.error_handler_spec[None][None].get(HTTPException)
        if handler is not None:
            return handler(error)
    # A path or method the API does not have, or a crash: the API's own error shape too.
    from irritants.api.errors import error_response

    return error_response(code, headers={name: value for name, value in error.get_headers()
                                         if name != "Content-Type"})


def _retry_context(code: int) -> dict[str, Any]:
    """When a rate-limited visitor may try again, for the 429 page."""
    if code != 429 or limiter.current_limit is None:
        return {}
    reset_at = datetime.fromtimestamp(limiter.current_limit.reset_at, UTC)
    wait = max(reset_at - datetime.now(UTC), timedelta(0))
    return {
        "retry_in": format_timedelta(
            wait, add_direction=True, format="long", locale=get_locale() or "fr"
        ),
        "retry_at": format_time(reset_at, "short"),
    }
