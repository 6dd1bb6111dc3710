"""Logging an irritant, its duplicates, and the reporter's own list."""

from flask import Blueprint

bp = Blueprint("intake", __name__)

from irritants.web.intake import views  # noqa: E402,F401
