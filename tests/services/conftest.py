"""Fixtures of the lifecycle service tests: users of the small org, the mail outbox."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from irritants.extensions import db as _db
from irritants.models import (
    Attachment,
    GapItem,
    Irritant,
    IrritantEvent,
    Notification,
    OutboxMessage,
    User,
)


@pytest.fixture
def user(org: dict[str, Any]) -> Callable[[str], User]:
    """A user of the small org by the first part of their email ("lead.north")."""

    def find(name: str) -> User:
        email = name if "@" in name else f"{name}@example.com"
        found = _db.session.scalar(select(User).where(User.email == email))
        assert found is not None, email
        return found

    return find


@pytest.fixture
def sent_mail(app: Any) -> Iterator[list[Any]]:
    """The locmem mail outbox (Flask-Mailman), emptied before and after the test."""
    state = app.extensions["mailman"]
    state.outbox = []
    yield state.outbox
    state.outbox = []


@pytest.fixture
def rq_app(app: Any, db: Any, redis_url: str) -> Iterator[Any]:
    """The app pointed at the test Redis (its own database, emptied before and after);
    yields the Redis connection."""
    from redis import Redis

    connection = Redis.from_url(redis_url)
    if connection.connection_pool.connection_kwargs.get("db", 0) == 0:
        # Database 0 may hold someone's data: these tests empty theirs. Never silently on CI.
        message = "TEST_REDIS_URL must name a Redis database other than 0"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    connection.flushdb()
    app.config["REDIS_URL"] = redis_url
    try:
        yield connection
    finally:
        app.config["REDIS_URL"] = None
        connection.flushdb()


LIFECYCLE_TABLES = (Irritant, IrritantEvent, GapItem, OutboxMessage, Notification, Attachment)


@pytest.fixture
def row_counts(db: Any) -> Callable[[], dict[str, int]]:
    """Rows per lifecycle table, to check that a refused call wrote nothing."""

    def counts() -> dict[str, int]:
        _db.session.rollback()
        return {
            model.__tablename__: _db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in LIFECYCLE_TABLES
        }

    return counts
