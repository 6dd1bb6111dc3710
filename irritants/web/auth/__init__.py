"""Sign in, sign out, password and language."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from irritants.web.auth import views  # noqa: E402,F401
