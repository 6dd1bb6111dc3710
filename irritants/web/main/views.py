"""Home page, health check, and the unit pickers' suggestions."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import text

from irritants.extensions import db
from irritants.models import ROLES
from irritants.web import unit_select
from irritants.web.decorators import public, role_required
from irritants.web.main import bp
from irritants.web.navigation import home_endpoint_for


@bp.get("/")
@role_required(*ROLES)
def index() -> Any:
    """Send each role to the page it uses most, or welcome it while that page is missing."""
    endpoint = home_endpoint_for(current_user.role)
    if endpoint is not None:
        return redirect(url_for(endpoint))
    return render_template("main/index.html")


@bp.get("/healthz")
@public
def healthz() -> Any:
    """Database and Redis status, without a token."""
    from irritants import jobs

    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means the database is down
        db.session.rollback()
        database = "down"
    body = {"database": database, "redis": jobs.redis_status()}
    return jsonify(body), 200 if database == "ok" else 503


@bp.get("/units/suggest")
@role_required(*ROLES)
def unit_suggestions() -> Any:
    """The units of a set (`among`: a unit picker's, e.g. "open") whose name or key has
    the text typed (`q`): JSON {"items": [{"key", "name", "label"}]} (at most 20)."""
    among = request.args.get("among", "")
    if among not in unit_select.UNIT_SETS:
        abort(404)
    choices = unit_select.unit_set_choices(among)
    items = unit_select.unit_suggestions(request.args.get("q", ""), choices)
    return jsonify(items=items)
