"""Home page, health check, and the unit pickers' suggestions."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from irritants.web.main import views  # noqa: E402,F401
