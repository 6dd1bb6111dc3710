"""GET/POST /set-password/<token>: choose a password from a single-use link."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from irritants.services import users_admin
from irritants.services.errors import InvalidInput
from irritants.services.users_admin import ExpiredLink, InvalidLink
from irritants.web.account_setup import bp
from irritants.web.account_setup.forms import SetPasswordForm
from irritants.web.decorators import public
from irritants.web.form_errors import show_field_errors
from irritants.web.i18n import keep_locale_until_sign_in, prefer_locale


def _private(body: str, status: int) -> Response:
    """The token is in the URL: never cached, never sent on as a referrer."""
    response = Response(body, status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _link_problem(error: Exception, status: int) -> Response:
    return _private(render_template("setup/link_problem.html", message=str(error),
                                    status=status), status)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@public
def set_password(token: str) -> Any:
    """Check the link, then set the password once; a bad link gets 400, a spent one 410.

    The page speaks the language of the link's owner (chosen at the invitation), not the
    browser's, unless the visitor used the language switch; so does the sign-in page that
    follows, until they sign in."""
    try:
        link = users_admin.check_password_token(token)
    except InvalidLink as error:
        return _link_problem(error, 400)
    except ExpiredLink as error:
        return _link_problem(error, 410)
    if not current_user.is_authenticated:
        prefer_locale(link.user.locale)
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            users_admin.consume_reset_token(token, form.password.data)
        except InvalidLink as error:
            return _link_problem(error, 400)
        except ExpiredLink as error:
            return _link_problem(error, 410)
        except InvalidInput as error:
            show_field_errors(form, error.field_errors)
        else:
            if not current_user.is_authenticated:
                keep_locale_until_sign_in(link.user.locale)
            flash(_("Your password is saved: sign in with it."), "success")
            return redirect(url_for("auth.login"))
    status = 422 if form.errors else 200
    return _private(render_template("setup/set_password.html", form=form, user=link.user,
                                    purpose=link.purpose), status)
