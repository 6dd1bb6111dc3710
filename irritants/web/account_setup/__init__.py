"""Choosing a password from an invite or reset link (public: the link is the credential)."""

from flask import Blueprint

bp = Blueprint("setup", __name__)

from irritants.web.account_setup import views  # noqa: E402,F401
