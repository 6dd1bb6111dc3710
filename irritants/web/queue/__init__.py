"""The queue of a team lead: their unit and its descendants."""

from flask import Blueprint

bp = Blueprint("queue", __name__)

from irritants.web.queue import views  # noqa: E402,F401
