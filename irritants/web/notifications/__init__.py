"""In-app notifications."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from irritants.web.notifications import views  # noqa: E402,F401
