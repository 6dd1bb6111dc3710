"""The application factory: config, extensions, blueprints, CLI, hooks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event

from config import Config, config_from_environment

# The flask-smorest Api under another name: importing the irritants.api package rebinds
# `irritants.api`, which broke a second create_app() in the same process.
from irritants.extensions import api as rest_api
from irritants.extensions import babel, csrf, db, limiter, login_manager, mail, migrate

ROOT = Path(__file__).resolve().parent.parent


def build_app(config_class: type[Config] | None = None, **overrides: Any) -> Flask:
    """Build the application: config, extensions, blueprints, CLI, errors."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(config_class or config_from_environment())
    app.config.update(overrides)
    Path(app.instance_path).mkdir(exist_ok=True)
    _configure_logging(app)
    _register_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    from irritants import jobs
    from irritants.web import hooks

    hooks.init_app(app)
    jobs.init_app(app)
    return app


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )


def _register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    from irritants.web.i18n import select_locale

    babel.init_app(app, locale_selector=select_locale)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
    rest_api.init_app(app)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL and a busy timeout so that several processes can share the file."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _register_blueprints(app: Flask) -> None:
    from irritants.api import register_api
    from irritants.web import register_pages

    register_pages(app)
    register_api(app)


def _register_cli(app: Flask) -> None:
    from irritants import cli

    cli.init_app(app)

