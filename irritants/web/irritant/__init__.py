"""One irritant: where it went and why, its timeline and the actions on it."""

from flask import Blueprint

bp = Blueprint("irritant", __name__)

from irritants.web.irritant import views  # noqa: E402,F401
