"""Database models (SQLAlchemy 2 style). Times are stored and returned in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from irritants.extensions import db

ROLES = ("agent", "lead", "director", "admin")
SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("open", "in_progress", "resolved")
UNRESOLVED = ("open", "in_progress")
CHANNELS = ("store", "phone", "email", "chat", "app", "web", "social", "other")
VOCABULARY_KINDS = ("competency", "authority", "tool")


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class OrgState(db.Model):
    """One row: the org version, bumped by every org change so snapshots never go stale."""

    __tablename__ = "org_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)


class Unit(db.Model):
    """A node of the organisation tree."""

    __tablename__ = "unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    competencies: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # key -> limit (a number >= 0) or None for unlimited
    authorities: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    tools: Mapped[list[str]] = mapped_column(JSONType, default=list)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Unit {self.key}>"


class VocabularyLabel(db.Model):
    """French and English names of a competency, authority or tool key."""

    __tablename__ = "vocabulary_label"
    __table_args__ = (sa.UniqueConstraint("kind", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    key: Mapped[str] = mapped_column(sa.String(100))
    label_fr: Mapped[str] = mapped_column(sa.String(200))
    label_en: Mapped[str] = mapped_column(sa.String(200))


class Category(db.Model):
    """A kind of irritant and what it takes to resolve one."""

    __tablename__ = "category"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    label_fr: Mapped[str] = mapped_column(sa.String(200))
    label_en: Mapped[str] = mapped_column(sa.String(200))
    competency: Mapped[str] = mapped_column(sa.String(100))
    authority: Mapped[str | None] = mapped_column(sa.String(100))
    tools: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # severity -> hours; absent severities use routing.md's defaults
    sla_hours: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # [{"key": ..., "fr": ..., "en": ...}]
    root_causes: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(default=True)

    def label(self, locale: str) -> str:
        """The label in the given language, French as the fallback."""
        return self.label_en if locale == "en" and self.label_en else self.label_fr


class User(UserMixin, db.Model):
    """A person who signs in, with one role and one unit."""

    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str | None] = mapped_column(sa.String(300))
    role: Mapped[str] = mapped_column(sa.String(20))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    is_active_account: Mapped[bool] = mapped_column("active", default=True)
    # Part of the session id: bumped on sign-out, password change and deactivation,
    # so that a copied session cookie stops working.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    unit: Mapped[Unit] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.is_active_account

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class ApiToken(db.Model):
    """A bearer token, stored as its SHA-256 digest only."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class PasswordToken(db.Model):
    """A single-use link to choose a password (an invite or a reset), stored as SHA-256 only."""

    __tablename__ = "password_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    purpose: Mapped[str] = mapped_column(sa.String(10))  # invite | reset
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when a newer link replaces it or the account is deactivated.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])


ROOT_CAUSE_COLUMNS = ("origin_unit_id", "assignee_id", "category_id", "status", "root_cause",
                      "due_at", "unroutable", "occurrences")
"""The columns services/dashboards/root_cause_figures.py `root_causes` reads, carried by
ix_irritant_created."""


class Irritant(db.Model):
    """A point of friction a customer hit, and where it stands."""

    __tablename__ = "irritant"
    __table_args__ = (
        sa.Index("ix_irritant_queue", "assignee_id", "status", "due_at"),
        sa.Index("ix_irritant_status_created", "status", "created_at"),
        sa.Index("ix_irritant_category_created", "category_id", "created_at"),
        sa.Index("ix_irritant_origin_created", "origin_unit_id", "created_at"),
        sa.Index("ix_irritant_reporter_created", "reporter_id", "created_at"),
        # (created_at, id): the order of every list, so that a deep page is an index-only
        # scan of ids (services/queues.py). On PostgreSQL it also carries the columns the
        # directors' root causes group and count, so a quarter is an index-only scan.
        sa.Index("ix_irritant_created", "created_at", "id",
                 postgresql_include=list(ROOT_CAUSE_COLUMNS)),
        # The few unroutable irritants, whose routing distance is their origin's depth.
        sa.Index("ix_irritant_unroutable_created", "created_at",
                 sqlite_where=sa.text("unroutable"), postgresql_where=sa.text("unroutable")),
        sa.Index("ix_irritant_open_due", "status", "due_at"),
        # The queue of the whole organisation, in its order (overdue first, then due time).
        sa.Index(
            "ix_irritant_unresolved_due", "due_at", "id",
            sqlite_where=sa.text("status IN ('open', 'in_progress')"),
            postgresql_where=sa.text("status IN ('open', 'in_progress')"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("category.id"))
    severity: Mapped[str] = mapped_column(sa.String(10))
    description: Mapped[str] = mapped_column(sa.Text)
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    customer_ref: Mapped[str | None] = mapped_column(sa.String(100))
    channel: Mapped[str | None] = mapped_column(sa.String(20))
    origin_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    assignee_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    taken_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    status: Mapped[str] = mapped_column(sa.String(12), default="open")
    # Requirements at logging (replayed by the what-if) and as they stand now.
    initial_requirements: Mapped[dict[str, Any]] = mapped_column(JSONType)
    requirements: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Unit keys escalated away from by hand.
    excluded: Mapped[list[str]] = mapped_column(JSONType, default=list)
    rank: Mapped[list[Any] | None] = mapped_column(JSONType)
    unroutable: Mapped[bool] = mapped_column(default=False)
    gaps: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    escalation_level: Mapped[int] = mapped_column(default=0)
    occurrences: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    root_cause: Mapped[str | None] = mapped_column(sa.String(100))
    root_cause_detail: Mapped[str | None] = mapped_column(sa.Text)
    # Optimistic lock: a change that lost a race fails instead of overwriting.
    row_version: Mapped[int] = mapped_column(default=1)

    category: Mapped[Category] = relationship()
    origin_unit: Mapped[Unit] = relationship(foreign_keys=[origin_unit_id])
    assignee: Mapped[Unit] = relationship(foreign_keys=[assignee_id])
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    taken_by: Mapped[User | None] = relationship(foreign_keys=[taken_by_id])

    __mapper_args__ = {"version_id_col": row_version}

    def is_overdue(self, now: datetime) -> bool:
        """Not resolved and its due time has passed."""
        return self.status != "resolved" and self.due_at < now


class IrritantTally(db.Model):
    """Signed counts of irritants per key, appended by database triggers on `irritant`
    and folded once a minute: exact list totals at any size (services/tally.py)."""

    __tablename__ = "irritant_tally"
    __table_args__ = (
        sa.Index("ix_irritant_tally_key", "origin_unit_id", "assignee_id", "category_id",
                 "status", "severity"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    origin_unit_id: Mapped[int] = mapped_column()
    assignee_id: Mapped[int] = mapped_column()
    category_id: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(12))
    severity: Mapped[str] = mapped_column(sa.String(10))
    n: Mapped[int] = mapped_column()


class LocalityRollup(db.Model):
    """Locality counts per (UTC day of logging, unit) of the irritants originating in the
    unit's subtree, or, while `pending`, at the unit itself: signed deltas appended by
    PostgreSQL triggers on `irritant` and `unit`, expanded and folded once a minute
    (services/locality_rollup.py). Empty on SQLite, which counts the irritants."""

    __tablename__ = "locality_rollup"
    __table_args__ = (
        sa.Index("ix_locality_rollup_unit_day", "unit_id", "day"),
        sa.Index("ix_locality_rollup_pending", "day", postgresql_where=sa.text("pending"),
                 sqlite_where=sa.text("pending")),
    )
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                    primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date)
    unit_id: Mapped[int] = mapped_column()
    pending: Mapped[bool] = mapped_column(default=False)
    logged: Mapped[int] = mapped_column()
    resolved: Mapped[int] = mapped_column()
    at_origin: Mapped[int] = mapped_column()
    escalated: Mapped[int] = mapped_column()
    routings: Mapped[int] = mapped_column()
    distance: Mapped[int] = mapped_column()


@event.listens_for(db.metadata, "after_create")
def _install_tally_triggers(target: Any, connection: Any, **kwargs: Any) -> None:
    from irritants.services import gap_rollup, locality_rollup, tally

    tally.install_triggers(connection)
    locality_rollup.install_triggers(connection)
    gap_rollup.install_triggers(connection)


@event.listens_for(db.metadata, "before_drop")
def _drop_rollup_functions(target: Any, connection: Any, **kwargs: Any) -> None:
    from irritants.services import locality_rollup

    locality_rollup.drop_triggers(connection)


EVENT_TYPES = (
    "routed",  # logged and routed, or routed again by a manual escalation
    "sla_escalated",
    "reassigned",
    "taken",
    "commented",
    "resolved",
    "occurred_again",
    "photo_added",
)


class IrritantEvent(db.Model):
    """One immutable step of an irritant's history."""

    __tablename__ = "irritant_event"
    __table_args__ = (
        sa.Index("ix_event_irritant", "irritant_id", "id"),
        sa.Index("ix_event_type_at", "type", "at"),
        # One SLA escalation per (irritant, level): a sweep run twice cannot duplicate one.
        sa.Index(
            "uq_event_sla_level",
            "irritant_id",
            "escalation_level",
            unique=True,
            sqlite_where=sa.text("type = 'sla_escalated'"),
            postgresql_where=sa.text("type = 'sla_escalated'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    irritant_id: Mapped[int] = mapped_column(sa.ForeignKey("irritant.id"))
    type: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    rank: Mapped[list[Any] | None] = mapped_column(JSONType)
    gaps: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    unroutable: Mapped[bool | None] = mapped_column()
    escalation_level: Mapped[int | None] = mapped_column()
    org_version: Mapped[int | None] = mapped_column()
    # reason, text, needs, resolution, root cause... by type
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    actor: Mapped[User | None] = relationship()
    assignee: Mapped[Unit | None] = relationship()


GAP_LEDGER_COLUMNS = ("unit_key", "kind", "item_key", "required", "limit", "event_id")
"""The columns of gap_item the ledgers read, carried by ix_gap_item_at."""


class GapItem(db.Model):
    """One missing item recorded by one unit in one routing event (for aggregation)."""

    __tablename__ = "gap_item"
    __table_args__ = (
        # On PostgreSQL it carries what the ledgers group and count: a period's gap items
        # are an index-only scan.
        sa.Index("ix_gap_item_at", "at", postgresql_include=list(GAP_LEDGER_COLUMNS)),
        sa.Index("ix_gap_item_unit_at", "unit_key", "at"),
        # One line's items over a time range, amounts included (index-only on PostgreSQL):
        # the gap ledger's page lines, a grant's before and after.
        sa.Index("ix_gap_item_line_at", "unit_key", "kind", "item_key", "at",
                 postgresql_include=["required", "limit"]),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("irritant_event.id"), index=True)
    irritant_id: Mapped[int] = mapped_column(sa.ForeignKey("irritant.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    unit_key: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(20))  # competency | authority | tool
    item_key: Mapped[str] = mapped_column(sa.String(100))
    required: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    limit: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))


class GapRollup(db.Model):
    """Gap items counted per (UTC month, unit, kind, item), with the highest amount asked
    and limit held: appended by a PostgreSQL statement trigger on `gap_item`, folded once
    a minute (services/gap_rollup.py). Empty on SQLite, which counts the gap items."""

    __tablename__ = "gap_rollup"
    __table_args__ = (
        sa.Index("ix_gap_rollup_month_kind", "month", "kind"),
        sa.Index("ix_gap_rollup_pending", "month", postgresql_where=sa.text("NOT folded")),
    )
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                    primary_key=True)
    month: Mapped[date] = mapped_column(sa.Date)
    unit_key: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(20))
    item_key: Mapped[str] = mapped_column(sa.String(100))
    n: Mapped[int] = mapped_column()
    max_required: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    max_limit: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    # Folded rows are counted in gap_line too; the rows appended since the last fold are not.
    folded: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class GapLine(db.Model):
    """A (unit, kind, item) line's folded gap_rollup rows as running totals by month:
    `cum[i]` (from 1) counts its gap items from month `start` to month start + i - 1
    (months numbered year * 12 + month - 1, UTC). The count of any run of whole months is
    then two subscripts of one row, with no grouping: the ledger ranks every line of a
    period from one row each. Rewritten for the lines a fold touched
    (services/gap_rollup.py); empty on SQLite, which counts the gap items."""

    __tablename__ = "gap_line"
    unit_key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    item_key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    start: Mapped[int] = mapped_column()
    cum: Mapped[list[int]] = mapped_column(
        postgresql.ARRAY(sa.Integer()).with_variant(sa.JSON(), "sqlite"))


class GapItemRollup(db.Model):
    """Gap items counted per (UTC day, kind, item), every unit together: how often each item
    was lacked in a period, read without touching the units' lines (the items lacked most
    beside the previous period). Appended by the same trigger as `gap_rollup`, folded with
    it (services/gap_rollup.py). Empty on SQLite, which counts the gap items."""

    __tablename__ = "gap_item_rollup"
    __table_args__ = (sa.Index("ix_gap_item_rollup_day", "day"),)
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                    primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(sa.String(20))
    item_key: Mapped[str] = mapped_column(sa.String(100))
    n: Mapped[int] = mapped_column()

class Attachment(db.Model):
    """A photo of an irritant, stored outside static/ under a generated name."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    irritant_id: Mapped[int] = mapped_column(sa.ForeignKey("irritant.id"), index=True)
    stored_name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    original_filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column()
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Notification(db.Model):
    """An in-app notification for one user."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.Index("ix_notification_user", "user_id", "read_at", "id"),
        sa.UniqueConstraint("user_id", "dedupe_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    irritant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("irritant.id"))
    kind: Mapped[str] = mapped_column(sa.String(30))
    dedupe_key: Mapped[str] = mapped_column(sa.String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxMessage(db.Model):
    """A side effect to perform after commit (mail, notification), at least once."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_pending", "done_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    # Same side effect, same key: written once, performed once.
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A delivery's lease (no one else sends it before then), or after a failure the
    # earliest retry time (see services/outbox.py).
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)


class IdempotencyRecord(db.Model):
    """The first answer to a POST sent with an Idempotency-Key, kept 24 hours."""

    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    key: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_code: Mapped[int] = mapped_column()
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)


class AuditEvent(db.Model):
    """An immutable record of an org, category, user or grant change."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_at", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    type: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str | None] = mapped_column(sa.String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    actor: Mapped[User | None] = relationship()


class WhatIfRun(db.Model):
    """A what-if replay, run in the background with its progress."""

    __tablename__ = "whatif_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(sa.Text)


@event.listens_for(IrritantEvent, "before_update")
@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper: Any, connection: Any, target: Any) -> None:
    raise RuntimeError(f"{type(target).__name__} rows are immutable")


@event.listens_for(IrritantEvent, "before_delete")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper: Any, connection: Any, target: Any) -> None:
    raise RuntimeError(f"{type(target).__name__} rows are immutable")
