"""The org version: one counter, bumped by every org change so snapshots never go stale."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from irritants.extensions import db
from irritants.models import OrgState

_ROW_ID = 1


def current_org_version() -> int:
    """The current org version (0 before the first org change)."""
    # A column select, not the entity: always read from the database, never the identity map.
    version = db.session.scalar(select(OrgState.version).where(OrgState.id == _ROW_ID))
    return version or 0


def bump_org_version() -> int:
    """Add one to the org version in the current transaction (no commit); return the new one."""
    _ensure_row()
    # version = version + 1 in the database: two concurrent bumps both count.
    db.session.execute(
        update(OrgState).where(OrgState.id == _ROW_ID).values(version=OrgState.version + 1),
        execution_options={"synchronize_session": False},
    )
    from irritants.services.snapshot import forget_in_session

    forget_in_session()  # the rest of this transaction sees the new org
    return current_org_version()


def _ensure_row() -> None:
    """Create the single OrgState row if absent, without failing when another process races."""
    dialect = db.session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        db.session.execute(
            insert(OrgState).values(id=_ROW_ID, version=0).on_conflict_do_nothing()
        )
    elif db.session.get(OrgState, _ROW_ID) is None:
        db.session.add(OrgState(id=_ROW_ID, version=0))
        db.session.flush()
