"""Shared fixtures: app, db, client, runner, org, login_as, redis_url.

The database is SQLite (a temporary file) unless TEST_DATABASE_URL names a
PostgreSQL database; `make test` runs the suite on both. The schema is built
once per session and every table is emptied after each test.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text

from config import TestConfig
from irritants import create_app
from irritants.extensions import db as _db

FIXTURES = Path(__file__).parent / "fixtures"
ON_CI = os.environ.get("CI") == "true"


def need_service(variable: str, what: str) -> str:
    """The URL of a real service for this test; fail on CI, skip elsewhere."""
    url = os.environ.get(variable)
    if url:
        return url
    message = f"{what} is not available ({variable} unset)"
    if ON_CI:
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


def load_fixture(name: str) -> Any:
    """A JSON fixture from tests/fixtures."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    """The application on a test database, schema built once."""
    overrides: dict[str, Any] = {}
    tmpdir = tempfile.mkdtemp(prefix="irritants-test-")
    if not os.environ.get("TEST_DATABASE_URL"):
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmpdir}/test.db"
    overrides["UPLOAD_DIR"] = f"{tmpdir}/uploads"
    application = create_app(TestConfig, **overrides)
    with application.app_context():
        _db.drop_all()
        _db.create_all()
    yield application
    with application.app_context():
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture
def db(app: Flask) -> Iterator[Any]:
    """The database session inside an app context; every table emptied afterwards."""
    with app.app_context():
        yield _db
        _db.session.remove()
        empty_tables()


def empty_tables() -> None:
    """Delete every row (core statements: the immutable-event guard is ORM-level)."""
    engine = _db.engine
    tables = [table.name for table in reversed(_db.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f'DELETE FROM "{name}"'))
    from irritants.extensions import limiter
    from irritants.services.snapshot import invalidate

    limiter.reset()
    # A test whose request broke the storage leaves the limiter on its in-memory fallback,
    # which reset() does not empty: start the next test on the real storage, empty too.
    fallback = getattr(limiter, "_fallback_storage", None)
    if fallback is not None:
        fallback.reset()
    limiter._storage_dead = False
    invalidate()  # the next test may build another org under the same version number


@pytest.fixture
def client(app: Flask, db: Any) -> FlaskClient:
    """A test client on an emptied database."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask, db: Any) -> FlaskCliRunner:
    """A CLI runner on an emptied database."""
    return app.test_cli_runner()


@pytest.fixture
def org_data() -> dict[str, Any]:
    """The small shared organisation (tests/fixtures/org-small.json)."""
    return load_fixture("org-small.json")


@pytest.fixture
def org(db: Any, org_data: dict[str, Any]) -> dict[str, Any]:
    """The small shared organisation, imported."""
    from irritants.services.org_admin import import_org

    import_org(org_data)
    return org_data


@pytest.fixture
def password_of(org_data: dict[str, Any]) -> Callable[[str], str]:
    """The password of a user of the small org, by email."""
    passwords = {user["email"]: user["password"] for user in org_data["users"]}
    return passwords.__getitem__


@pytest.fixture
def redis_url() -> str:
    """A real Redis for this test (fail on CI, skip elsewhere)."""
    return need_service("TEST_REDIS_URL", "Redis")
