"""Request hooks: the signed-in user, security headers, error pages."""

from __future__ import annotations

from flask import Flask, Response, request

from irritants.extensions import db, login_manager
from irritants.models import User


def init_app(app: Flask) -> None:
    """Install the hooks on the app."""
    login_manager.login_view = "auth.login"
    login_manager.user_loader(load_user)
    app.after_request(set_security_headers)


def load_user(session_id: str) -> User | None:
    """The user of a session id "user_id:session_version", or None if revoked."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user


def set_security_headers(response: Response) -> Response:
    """Headers every response carries (reliability.md S1)."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith("/api/") or request.cookies:
        response.headers.setdefault("Cache-Control", "no-store")
    return response
