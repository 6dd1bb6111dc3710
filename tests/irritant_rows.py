"""Irritant rows written straight to the database, for the gap and what-if tests, where
routing itself is not under test."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from irritants.extensions import db
from irritants.models import Category, Irritant, Unit


def unit_id(key: str) -> int:
    """The id of a unit of the small org."""
    return db.session.scalars(select(Unit.id).where(Unit.key == key)).one()


def irritant_row(origin: str, at: datetime, requirements: dict[str, Any],
                 current_requirements: dict[str, Any] | None = None) -> Irritant:
    """An irritant logged at `origin` at `at` with `requirements`, assigned to hq; added and
    flushed. `current_requirements` stand for needs an escalation added since."""
    irritant = Irritant(
        category_id=db.session.scalars(select(Category.id)).first(),
        severity="low",
        description="test",
        origin_unit_id=unit_id(origin),
        assignee_id=unit_id("hq"),
        initial_requirements=requirements,
        requirements=requirements if current_requirements is None else current_requirements,
        created_at=at,
        updated_at=at,
        due_at=at + timedelta(days=7),
    )
    db.session.add(irritant)
    db.session.flush()
    return irritant
