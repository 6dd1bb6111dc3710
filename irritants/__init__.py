"""Irritants: customer irritants routed to the nearest competent team.

This module imports nothing at load time, so that the pure routing core
(irritants.routing) can be imported without Flask or SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from config import Config


def create_app(config_class: type[Config] | None = None, **overrides: Any) -> Flask:
    """Build the application (see irritants.factory)."""
    from irritants.factory import build_app

    return build_app(config_class, **overrides)
