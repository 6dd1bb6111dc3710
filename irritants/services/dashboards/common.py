"""What the director views share: periods, pages, scopes (which subtree an actor reads)
and the expressions written once for PostgreSQL and once for SQLite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func

from irritants.extensions import db
from irritants.models import User, utcnow
from irritants.services import access
from irritants.services.errors import InvalidInput, NotAllowed, NotFound
from irritants.services.messages import _, number, quoted
from irritants.services.snapshot import CachedOrg, cached_org, plain_amount

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366
MAX_PER_PAGE = 500
BUCKETS = ("day", "week", "month")


# -- values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[since, until), aware UTC."""

    since: datetime
    until: datetime

    @property
    def length(self) -> timedelta:
        return self.until - self.since

    @property
    def previous(self) -> Period:
        """The period of the same length just before."""
        return Period(self.since - self.length, self.since)


@dataclass(frozen=True)
class Table:
    """One page of a table: rows (dicts or models), the page asked, the number of rows."""

    rows: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


# -- periods, pages, scopes -----------------------------------------------------------------


def period_of(since: datetime | date | str | None = None,
              until: datetime | date | str | None = None, *,
              now: datetime | None = None, days: int = DEFAULT_DAYS) -> Period:
    """The period [since, until); defaults: the last `days` days up to now. InvalidInput."""
    errors: dict[str, list[str]] = {}
    end = _moment(until, "until", errors)
    start = _moment(since, "since", errors)
    if errors:
        raise InvalidInput(errors)
    end = end or (now or utcnow())
    start = start or end - timedelta(days=days)
    if end <= start:
        raise InvalidInput({"until": [_("The end must be after the start.")]})
    if end - start > timedelta(days=MAX_DAYS):
        raise InvalidInput({"since": [_("A period may last at most %(days)s days.",
                                        days=number(MAX_DAYS))]})
    return Period(start, end)


def _moment(value: Any, name: str, errors: dict[str, list[str]]) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            errors[name] = [_("Not a valid date.")]
            return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, datetime):
        errors[name] = [_("Not a valid date.")]
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _midnight_before(moment: datetime) -> datetime:
    """The UTC midnight at or before `moment`."""
    return datetime.combine(moment.date(), datetime.min.time(), tzinfo=UTC)


def _next_midnight(moment: datetime) -> datetime:
    midnight = _midnight_before(moment)
    return midnight if midnight == moment else midnight + timedelta(days=1)


def _page(page: Any, per_page: Any) -> tuple[int, int]:
    errors: dict[str, list[str]] = {}
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        errors["page"] = [_("Must be a whole number of at least 1.")]
    if (isinstance(per_page, bool) or not isinstance(per_page, int)
            or not 1 <= per_page <= MAX_PER_PAGE):
        errors["per_page"] = [_("Must be between 1 and %(max)d.", max=MAX_PER_PAGE)]
    if errors:
        raise InvalidInput(errors)
    return page, per_page


def _require_director(actor: User) -> None:
    if actor.role not in access.SEES_ALL:
        raise NotAllowed("only directors and admins read the dashboards")
    _tune()


def _require_gap_reader(actor: User) -> None:
    if not access.may_view_gaps(actor):
        raise NotAllowed("only leads, directors and admins read the gaps")
    _tune()


def _tune() -> None:
    """On PostgreSQL, for this transaction only (SET LOCAL): aggregate a quarter in memory
    instead of spilling sorts to disk, and skip JIT compilation, which costs more than it
    saves on queries of a few hundred milliseconds."""
    if _dialect() == "postgresql":
        db.session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
        db.session.execute(sa.text("SET LOCAL jit = off"))


def readable_subtree(actor: User, subtree: str | None) -> str:
    """The subtree a page shows: the one asked (within the actor's), else the actor's.

    Directors and admins default to the root; a lead to their own unit, and
    NotFound for a unit outside their subtree. InvalidInput for an unknown key.
    """
    org = cached_org()
    snapshot = org.snapshot
    if subtree not in (None, "") and subtree not in snapshot:
        raise InvalidInput({"subtree": [_("Unknown unit %(key)s.", key=quoted(subtree))]})
    if actor.role in access.SEES_ALL:
        return subtree or snapshot.root
    own = access.unit_key_of(actor)
    if own is None:
        raise NotFound("the actor has no unit")
    if not subtree:
        return own
    if not snapshot.is_in_subtree(subtree, own):
        raise NotFound(f"unit {subtree} is outside the actor's subtree")
    return subtree


def _unit_ids(org: CachedOrg, subtree: str) -> list[int] | None:
    """Database ids of the subtree's units; None for the whole org (no filter to send)."""
    if subtree == org.snapshot.root:
        return None
    return [org.id_of[key] for key in org.snapshot.subtree(subtree)]


def _unit_keys(org: CachedOrg, subtree: str) -> list[str] | None:
    if subtree == org.snapshot.root:
        return None
    return org.snapshot.subtree(subtree)


def _id_of(org: CachedOrg, key: str | None) -> int:
    """A unit's id; -1 (matches nothing) for an unknown key."""
    return org.id_of.get(key, -1) if key else -1


# -- dialect helpers ------------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _bucket(column: Any, bucket: str) -> Any:
    """The start of the day, ISO week (Monday) or month of a UTC time (see _day)."""
    if _dialect() == "postgresql":
        # Literals, not parameters (bucket is one of BUCKETS): GROUP BY must see the
        # same expression as SELECT.
        unit = sa.literal_column(f"'{bucket}'")
        return func.date_trunc(unit, func.timezone(sa.literal_column("'UTC'"), column))
    if bucket == "week":
        return func.date(column, "weekday 0", "-6 days")
    if bucket == "month":
        return func.strftime("%Y-%m-01", column)
    return func.date(column)


def _day(value: Any) -> date:
    """A bucket's start as a date (PostgreSQL gives a timestamp, SQLite 'YYYY-MM-DD')."""
    return value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def _epoch(column: Any) -> Any:
    """Seconds since 1970 of a UTC time (a float: date_part, not extract's numeric)."""
    if _dialect() == "postgresql":
        return func.date_part("epoch", column)
    return (func.julianday(column) - 2440587.5) * 86400.0


def _json_length(column: Any) -> Any:
    if _dialect() == "postgresql":
        return func.jsonb_array_length(column)
    return func.json_array_length(column)


def _distance(column: Any) -> Any:
    """The first element of a rank (its distance), as an integer."""
    if _dialect() == "postgresql":
        return sa.cast(column.op("->>")(0), sa.Integer)
    return sa.cast(func.json_extract(column, "$[0]"), sa.Integer)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _number(value: Decimal | float | int | None) -> int | float | None:
    return None if value is None else plain_amount(Decimal(str(value)))
