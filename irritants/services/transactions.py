"""Lost races become Conflict: the optimistic lock (Irritant.row_version) fails a flush."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import IntegrityError
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


P = ParamSpec("P")
R = TypeVar("R")


def one_transaction(
    conflict_message: Callable[[], str],
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run each call of a public write as one transaction: commit on success, roll back on
    any error; an IntegrityError (a concurrent change) becomes Conflict(conflict_message())."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                result = function(*args, **kwargs)
                db.session.commit()
            except IntegrityError as error:
                db.session.rollback()
                raise Conflict(conflict_message()) from error
            except BaseException:
                db.session.rollback()
                raise
            return result

        return wrapper

    return decorate


def commit_or_conflict() -> None:
    """Commit; Conflict (after a rollback) when another change won the race."""
    with conflict_on_stale():
        db.session.commit()


def commit_keeping_loaded() -> None:
    """Commit without expiring the session's objects.

    For a transaction that has just written the objects it returns (nothing else
    changes them in the database: no trigger writes their columns), so that the
    caller reads them without one reload query per object.
    """
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire
