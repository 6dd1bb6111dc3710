"""Sign in, sign out, the account page (password, language) and the language switch."""

from __future__ import annotations

import time
from typing import Any

from flask import (
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from irritants.extensions import limiter
from irritants.models import ROLES, User
from irritants.security_log import security_event
from irritants.services import accounts
from irritants.services.errors import InvalidInput
from irritants.web.auth import bp
from irritants.web.auth.forms import ChangePasswordForm, LanguageForm, LoginForm
from irritants.web.decorators import public, role_required
from irritants.web.form_errors import show_field_errors
from irritants.web.redirects import safe_target

LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600


def _login_rate_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _client_ip_key() -> str:
    return f"login-ip:{request.remote_addr or 'unknown'}"


def _email_key() -> str:
    return "login-email:" + (request.form.get("email") or "").strip().lower()[:254]


def _sign_in_failed(response: Any) -> bool:
    return bool(g.get("login_failed"))


# Failed sign-ins only count, per client IP and per email address; a window passes and
# the account opens again: nobody can lock a user out for good (reliability.md S7).
_limit_per_ip = limiter.limit(
    _login_rate_limit, key_func=_client_ip_key, methods=["POST"], deduct_when=_sign_in_failed
)
_limit_per_email = limiter.limit(
    _login_rate_limit, key_func=_email_key, methods=["POST"], deduct_when=_sign_in_failed
)


def start_session(user: User) -> None:
    """A new session for the user: nothing of the previous one is kept (fixation)."""
    session.clear()
    login_user(user, remember=False, fresh=True)
    session.permanent = True
    session["login_at"] = int(time.time())


@bp.route("/login", methods=["GET", "POST"])
@public
@_limit_per_ip
@_limit_per_email
def login() -> Any:
    """Sign in with email and password."""
    form = LoginForm(next=request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(safe_target(form.next.data) or url_for("main.index"))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422 if form.errors else 200
    user = accounts.authenticate(form.email.data or "", form.password.data or "")
    if user is None:
        g.login_failed = True
        security_event("login_failed", email=form.email.data)
        return render_template("auth/login.html", form=form, failed=True), 422
    start_session(user)
    security_event("login_succeeded", actor_id=user.id)
    return redirect(safe_target(form.next.data) or url_for("main.index"))


@bp.post("/logout")
@role_required(*ROLES)
def logout() -> Any:
    """Sign out, ending every session of the user (a copied cookie stops working)."""
    user_id = current_user.id
    accounts.revoke_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    security_event("logout", actor_id=user_id)
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/account")
@role_required(*ROLES)
def account() -> Any:
    """The user's account: password and language."""
    return _account_page(ChangePasswordForm(formdata=None))


@bp.post("/account/password")
@role_required(*ROLES)
def change_password() -> Any:
    """Change the password; the other sessions of the user end, this one stays."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _account_page(form, 422)
    user = current_user._get_current_object()
    try:
        accounts.change_password(
            user, form.current_password.data or "", form.new_password.data or ""
        )
    except InvalidInput as exc:
        show_field_errors(form, exc.field_errors)
        security_event("password_change_failed", actor_id=current_user.id)
        return _account_page(form, 422)
    # The session version changed: sign this session in again with the new one.
    login_user(user, remember=False, fresh=True)
    security_event("password_changed", actor_id=user.id)
    flash(_("Your password has been changed. Your other sessions are signed out."), "success")
    return redirect(url_for("auth.account"))


@bp.post("/language")
@public
def language() -> Any:
    """Choose the language of the pages, signed in or not."""
    form = LanguageForm()
    target = safe_target(form.next.data) or url_for("main.index")
    if not form.validate_on_submit():
        return redirect(target)
    chosen = form.lang.data or ""
    if current_user.is_authenticated:
        accounts.set_locale(current_user._get_current_object(), chosen)
    response = redirect(target)
    config = current_app.config
    response.set_cookie(
        config["LANGUAGE_COOKIE_NAME"],
        chosen,
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        secure=config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def _account_page(form: ChangePasswordForm, status: int = 200) -> Any:
    language_form = LanguageForm(formdata=None, next=url_for("auth.account"))
    return render_template(
        "auth/account.html", form=form, language_form=language_form
    ), status
