"""Home page and health check."""

from __future__ import annotations

from flask import jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from irritants.extensions import db
from irritants.web.main import bp


@bp.get("/")
@login_required
def index():
    """Send each role to the page it uses most."""
    return render_template("main/index.html")


@bp.get("/healthz")
def healthz():
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


@bp.get("/signed-in")
def signed_in_home():
    """Where sign-in lands when no next page was asked for."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("main.index"))
