"""Page blueprints, one package per area."""

from flask import Flask


def register_pages(app: Flask) -> None:
    """Register every page blueprint."""
    from irritants.web.auth import bp as auth_bp
    from irritants.web.main import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    from irritants.web.account_setup import bp as setup_bp
    from irritants.web.admin import bp as admin_bp

    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(setup_bp)
    from irritants.web.intake import bp as intake_bp
    from irritants.web.irritant import bp as irritant_bp
    from irritants.web.notifications import bp as notifications_bp
    from irritants.web.queue import bp as queue_bp

    app.register_blueprint(intake_bp, url_prefix="/irritants")
    app.register_blueprint(irritant_bp, url_prefix="/irritants")
    app.register_blueprint(queue_bp, url_prefix="/queue")
    app.register_blueprint(notifications_bp, url_prefix="/notifications")
    from irritants.web.insights import bp as insights_bp

    app.register_blueprint(insights_bp, url_prefix="/insights")
