"""Directors' pages: root causes, the gap ledger and grants, locality, the map, what-if, HR."""

from flask import Blueprint

bp = Blueprint("insights", __name__)

from irritants.web.insights import views  # noqa: E402,F401
