"""The JSON API under /api/v1."""

from flask import Flask


def register_api(app: Flask) -> None:
    """Register every API blueprint on the flask-smorest Api."""
