"""The admin area: the organisation tree, vocabularies, categories, users, import, audit."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from irritants.web.admin import views  # noqa: E402,F401
