"""The Alembic migrations build the schema from nothing and match the models."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import irritants.models  # noqa: F401 - registers every table on db.metadata
from irritants.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def flask_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `flask --app wsgi ...` in a subprocess on the given database."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update(DATABASE_URL=database_url, IRRITANTS_ENV="development")
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A new empty database on the backend under test."""
    test_url = os.environ.get("TEST_DATABASE_URL")
    if not test_url:
        yield f"sqlite:///{tmp_path}/migrated.db"
        return
    admin = sa.create_engine(
        test_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    name = f"irritants_migration_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield test_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_db_upgrade_builds_a_schema_identical_to_the_models(empty_database_url: str) -> None:
    result = flask_cli(empty_database_url, "db", "upgrade")
    assert result.returncode == 0, result.stderr

    engine = sa.create_engine(empty_database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            differences = compare_metadata(context, db.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_db_upgrade_twice_changes_nothing(empty_database_url: str) -> None:
    assert flask_cli(empty_database_url, "db", "upgrade").returncode == 0
    second = flask_cli(empty_database_url, "db", "upgrade")
    assert second.returncode == 0
    assert "Running upgrade" not in second.stderr
