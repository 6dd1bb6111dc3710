"""Folding append-only rollup tables: many signed delta rows become one row per key.

Triggers append a row per change to a rollup table (never update a shared row,
so writers never wait on each other nor deadlock); `fold` sums the rows appended
so far into one row per key and drops keys whose measures are all zero. It runs
in one short transaction beside the writers: only the rows this transaction
deleted are re-inserted, summed, so a row appended meanwhile is never lost.
"""

# The SQL is built from the table's own column objects, never from input.

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from irritants.extensions import db

CHUNK = 500


def fold(table: sa.Table, key: Sequence[str], measures: Sequence[str], lock: int,
         maxima: Sequence[str] = ()) -> int:
    """Fold the rows of `table` into one row per `key`, summing `measures` and keeping
    the highest of `maxima`; drops a key whose measures sum to zero. Commits and returns
    the number of rows folded. On PostgreSQL one process folds a table at a time
    (pg_try_advisory_xact_lock(`lock`)): the others return 0."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql" and not session.execute(
        sa.select(sa.func.pg_try_advisory_xact_lock(lock))
    ).scalar_one():
        session.rollback()
        return 0
    key_columns = [table.c[name] for name in key]
    measure_columns = [table.c[name] for name in measures]
    maximum_columns = [table.c[name] for name in maxima]
    top = session.execute(sa.select(sa.func.max(table.c.id))).scalar_one()
    if top is None:
        session.rollback()
        return 0
    all_zero = sa.and_(*(sa.func.sum(column) == 0 for column in measure_columns))
    worth = (sa.select(*key_columns).where(table.c.id <= top).group_by(*key_columns)
             .having(sa.or_(sa.func.count() > 1, all_zero)))
    keys = [tuple(row) for row in session.execute(worth)]
    folded = 0
    sums: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0] * len(measures))
    highest: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [None] * len(maxima))
    for start in range(0, len(keys), CHUNK):
        deleted = session.execute(
            sa.delete(table)
            .where(table.c.id <= top, sa.tuple_(*key_columns).in_(keys[start:start + CHUNK]))
            .returning(*key_columns, *measure_columns, *maximum_columns)
        ).all()
        folded += len(deleted)
        for row in deleted:
            row_key = tuple(row[:len(key)])
            total, maximum = sums[row_key], highest[row_key]
            for index, value in enumerate(row[len(key):len(key) + len(measures)]):
                total[index] += value
            for index, value in enumerate(row[len(key) + len(measures):]):
                if value is not None and (maximum[index] is None or value > maximum[index]):
                    maximum[index] = value
    rows = [{**dict(zip(key, row_key, strict=True)), **dict(zip(measures, values, strict=True)),
             **dict(zip(maxima, highest[row_key], strict=True))}
            for row_key, values in sorted(sums.items()) if any(values)]
    if rows:
        session.execute(sa.insert(table), rows)
    session.commit()
    return folded


def run_on_postgresql(connection: sa.Connection, statements: Sequence[str],
                      tables: Sequence[str] = ()) -> None:
    """Run a rollup's constant statements (its triggers, a rebuild) on PostgreSQL when
    `tables` all exist; nothing on SQLite, which has no rollup triggers."""
    if connection.dialect.name != "postgresql":
        return
    inspector = sa.inspect(connection)
    if not all(inspector.has_table(name) for name in tables):
        return
    for statement in statements:
        connection.exec_driver_sql(statement)
