"""Page blueprints, one package per area."""

from flask import Flask


def register_pages(app: Flask) -> None:
    """Register every page blueprint."""
    from irritants.web.auth import bp as auth_bp
    from irritants.web.main import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
