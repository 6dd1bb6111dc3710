"""Lost races become Conflict: the optimistic lock (Irritant.row_version) fails a flush."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm.exc import StaleDataError

from irritants.extensions import db
from irritants.services.errors import Conflict
from irritants.services.messages import _


@contextmanager
def conflict_on_stale() -> Iterator[None]:
    """Around flushes and the commit: a StaleDataError rolls back and raises Conflict."""
    try:
        yield
    except StaleDataError as error:
        db.session.rollback()
        raise Conflict(_("Someone changed this irritant at the same time; try again.")) from error


def commit_or_conflict() -> None:
    """Commit; Conflict (after a rollback) when another change won the race."""
    with conflict_on_stale():
        db.session.commit()
