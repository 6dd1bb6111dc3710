"""Command line: flask org import/export, flask sla sweep, flask demo load."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the command groups."""
