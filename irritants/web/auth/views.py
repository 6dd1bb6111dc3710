"""Sign in and sign out (placeholder until the auth area lands)."""

from flask import render_template

from irritants.web.auth import bp


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with email and password."""
    return render_template("auth/login.html")
