"""one_transaction: a public write commits once; any error rolls it back; an integrity
error (a concurrent change won) becomes Conflict with the write's own message."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from irritants.extensions import db as _db
from irritants.models import Unit
from irritants.services.errors import Conflict
from irritants.services.transactions import one_transaction

transaction = one_transaction(lambda: "Someone changed it at the same time.")


def name_of(key: str) -> str:
    _db.session.rollback()  # read what was committed, not what the session holds
    return _db.session.scalars(select(Unit.name).where(Unit.key == key)).one()


@transaction
def rename(key: str, name: str, *, fail: bool = False) -> Unit:
    unit = _db.session.scalars(select(Unit).where(Unit.key == key)).one()
    unit.name = name
    if fail:
        raise ValueError("half done")
    return unit


def test_a_write_is_committed_and_its_result_returned(org: dict[str, Any]) -> None:
    unit = rename("lille", "Lille centre")

    assert unit.key == "lille"
    assert name_of("lille") == "Lille centre"


def test_any_error_rolls_the_write_back_and_propagates(org: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="half done"):
        rename("lille", "Lille centre", fail=True)

    assert name_of("lille") == "Store Lille"


def test_an_integrity_error_rolls_back_and_becomes_conflict(org: dict[str, Any]) -> None:
    @transaction
    def rename_then_duplicate() -> None:
        _db.session.scalars(select(Unit).where(Unit.key == "lille")).one().name = "Lille centre"
        _db.session.add(Unit(key="roubaix", name="A second Roubaix"))

    with pytest.raises(Conflict, match="Someone changed it at the same time."):
        rename_then_duplicate()

    assert name_of("lille") == "Store Lille"
    assert _db.session.scalar(
        select(func.count()).select_from(Unit).where(Unit.key == "roubaix")) == 1
