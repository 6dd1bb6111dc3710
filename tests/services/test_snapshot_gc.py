"""The org snapshot is kept out of Python's full garbage collections, and freed when a newer
org replaces it (services/snapshot.py, FREEZE_ORG_SNAPSHOT)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from irritants.models import User
from irritants.services import org_edit
from irritants.services.snapshot import cached_org


@pytest.fixture
def freezing(app: Any, org: dict[str, Any]) -> Iterator[None]:
    app.config["FREEZE_ORG_SNAPSHOT"] = True
    try:
        yield
    finally:
        app.config["FREEZE_ORG_SNAPSHOT"] = False
        gc.unfreeze()


def tracked(value: Any) -> bool:
    """Whether a full collection walks `value` (frozen objects are not listed)."""
    return any(found is value for found in gc.get_objects())


def new_org_version(db: Any, key: str) -> None:
    admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
    org_edit.create_unit(key, key.title(), "hq", actor=admin)
    db.session.commit()


def test_a_new_org_is_frozen_and_the_one_it_replaces_is_freed(db: Any, freezing: None) -> None:
    new_org_version(db, "west")
    built = cached_org()
    assert not tracked(built)
    assert not tracked(built.snapshot)
    replaced = weakref.ref(built)
    del built
    db.session.commit()  # the session forgets the org it remembered for its transaction

    new_org_version(db, "east")
    assert not tracked(cached_org())  # built for the new version: the previous one let go
    assert replaced() is None


def test_the_test_suite_does_not_freeze(db: Any, org: dict[str, Any]) -> None:
    new_org_version(db, "west")
    assert tracked(cached_org())
