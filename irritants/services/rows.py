"""Insert rows with Core statements, then hand them back as ordinary ORM objects.

Logging an irritant writes an event, its gap items, notifications and outbox
rows: through the unit of work that is one flush each, the largest cost of
the request. These helpers insert them with single Core statements in the
caller's transaction (same columns, same Python-side defaults, same
constraints) and, where the caller needs the object, hand it back detached:
every column loaded, nothing left to flush.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached

from irritants.extensions import db

M = TypeVar("M")


def insert_rows(model: type[Any], rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT the rows (attribute names as keys) in one statement; nothing returned."""
    if not rows:
        return
    if has_insert_hooks(model):
        _through_the_session(model, rows)
        return
    db.session.execute(_statements(model.__table__)[0], [_columns(model, row) for row in rows])


def insert_objects(model: type[M], rows: Sequence[Mapping[str, Any]]) -> list[M]:
    """INSERT the rows, then return them as detached objects (loaded, with their ids), in
    order: read their attributes, do not add them to a session (they are written)."""
    if not rows:
        return []
    if has_insert_hooks(model):
        return _through_the_session(model, rows)
    table = model.__table__  # type: ignore[attr-defined]
    values = [_with_defaults(table, _columns(model, row)) for row in rows]
    statement = _statements(table)[1]
    ids = db.session.execute(statement, values).scalars().all() if len(values) > 1 else [
        db.session.execute(statement, values[0]).scalar_one()]
    mapper = sa.inspect(model)
    attribute_of = {attribute.columns[0].key: attribute.key for attribute in mapper.column_attrs}
    objects = []
    for written, new_id in zip(values, ids, strict=True):
        instance = model(**{attribute_of[key]: value for key, value in written.items()},
                         id=new_id)
        # Detached, not added: a rollback of the caller's transaction must not leave a
        # row that never was in the session's identity map.
        make_transient_to_detached(instance)
        objects.append(instance)
    return objects


@functools.cache
def _statements(table: sa.Table) -> tuple[sa.Insert, sa.Insert]:
    """The table's INSERT, and INSERT ... RETURNING id, built once (their cache keys too)."""
    return sa.insert(table), sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)


def has_insert_hooks(model: type[Any]) -> bool:
    """Whether ORM insert events listen on the model (the demo loader dates rows that way):
    then the rows go through the unit of work, as those listeners expect."""
    dispatch = sa.inspect(model).dispatch
    return bool(len(dispatch.before_insert) or len(dispatch.after_insert))


def _through_the_session(model: type[M], rows: Sequence[Mapping[str, Any]]) -> list[M]:
    objects = [model(**row) for row in rows]
    db.session.add_all(objects)
    db.session.flush()
    return objects


def _columns(model: type[Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """Attribute names -> column names (they differ for a few columns, e.g. User.active)."""
    mapper = sa.inspect(model)
    return {mapper.attrs[name].columns[0].key: value for name, value in row.items()}


def _with_defaults(table: sa.Table, values: dict[str, Any]) -> dict[str, Any]:
    """The Python-side defaults of the missing columns, computed once for the row, so that
    the object handed back holds exactly what was written."""
    for column in table.columns:
        if column.key in values or column.primary_key or column.default is None:
            continue
        default = column.default
        if default.is_scalar:
            values[column.key] = default.arg
        elif default.is_callable:
            values[column.key] = default.arg(None)
    return values
