"""What the organisation learns from its routings: the gap ledger and the what-if replay.

The gaps are aggregated in the database (GROUP BY over gap_item), never row by
row in Python, so a report over a million irritants stays a couple of queries.
The what-if streams the irritants of a period in keyset chunks, parses each
distinct (origin, requirements) once and hands the routing to the pure core.
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from numbers import Real
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select, tuple_

from irritants import jobs
from irritants.extensions import db
from irritants.models import GapItem, Irritant, User, WhatIfRun
from irritants.routing import Change, OrgSnapshot, ReplayCase, Requirements, competent, replay
from irritants.services import access
from irritants.services.errors import InvalidInput, NotAllowed, NotFound
from irritants.services.messages import _, quoted
from irritants.services.snapshot import cached_org, load_snapshot, plain_amount

CHANGE_FIELDS = ("unit", "grant_tools", "grant_competencies", "set_authorities")
MAX_KEY = 100
CHUNK = 50_000
"""Irritants read per query by the what-if (keyset pagination on (created_at, id))."""
STAYED_SAMPLE = 50
"""How many irritants that would have stayed at their origin a what-if result names."""
KINDS_TO_MAPS = {"competency": "competencies", "tool": "tools", "authority": "authorities"}


# -- the gap ledger ------------------------------------------------------------


def gaps_report(
    *, actor: User, since: datetime | str | None = None, until: datetime | str | None = None
) -> dict[str, Any]:
    """api.md's GET /gaps aggregation over [since, until); NotAllowed for an agent, InvalidInput."""
    scope = _gap_scope(actor)
    start, end = _period(since, until)
    conditions = _gap_conditions(start, end, scope)
    _report_memory()
    return _aggregate(_routings_by_unit(conditions), _items_by_unit(conditions))


def _report_memory() -> None:
    """Let PostgreSQL hash a quarter of gap items in memory instead of spilling to disk."""
    if db.session.get_bind().dialect.name == "postgresql":
        # SET LOCAL: for this transaction only, it ends with the request.
        db.session.execute(sa.text("SET LOCAL work_mem = '64MB'"))


def _gap_scope(actor: User) -> frozenset[str] | None:
    """The unit keys whose gaps the actor may read; None for all of them."""
    if not access.may_view_gaps(actor):
        raise NotAllowed("only leads, directors and admins read the gaps")
    if actor.role != "lead":
        return None
    key = access.unit_key_of(actor)
    if key is not None and key == _snapshot().root:
        return None  # the whole org: no filter to send
    return access.subtree_of(key) if key is not None else frozenset()


def _gap_conditions(
    start: datetime | None, end: datetime | None, scope: frozenset[str] | None
) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if start is not None:
        conditions.append(GapItem.at >= start)
    if end is not None:
        conditions.append(GapItem.at < end)
    if scope is not None:
        conditions.append(GapItem.unit_key.in_(sorted(scope)))
    return conditions


def _routings_by_unit(conditions: list[sa.ColumnElement[bool]]) -> dict[str, int]:
    """Per unit, the number of routing events in which it recorded a gap."""
    # GROUP BY (unit, event) then count: a hash aggregate, cheaper than COUNT(DISTINCT).
    pairs = (
        select(GapItem.unit_key, GapItem.event_id)
        .where(*conditions)
        .group_by(GapItem.unit_key, GapItem.event_id)
        .subquery()
    )
    query = select(pairs.c.unit_key, func.count()).group_by(pairs.c.unit_key)
    return dict(db.session.connection().execute(query).tuples().all())


def _items_by_unit(conditions: list[sa.ColumnElement[bool]]) -> Sequence[sa.Row[Any]]:
    """Per (unit, kind, item): the entries that lacked it and the highest amount asked."""
    query = (
        select(
            GapItem.unit_key,
            GapItem.kind,
            GapItem.item_key,
            func.count().label("count"),
            func.max(GapItem.required).label("max_required"),
        )
        .where(*conditions)
        .group_by(GapItem.unit_key, GapItem.kind, GapItem.item_key)
    )
    # Core rows, not ORM ones: tens of thousands of groups for a director.
    return db.session.connection().execute(query).all()


def _aggregate(routings: dict[str, int], items: Sequence[sa.Row[Any]]) -> dict[str, Any]:
    """Shape the grouped rows as api.md's by_unit and by_item (one pass over the groups)."""
    by_unit: dict[str, dict[str, Any]] = {
        unit: {"unit": unit, "routings": count, "competencies": {}, "tools": {}, "authorities": {}}
        for unit, count in routings.items()
    }
    by_item: dict[tuple[str, str], dict[str, Any]] = {}
    # One sort of the groups (in Python: the database's collation may not be code points),
    # so that every map below is filled in key order.
    for unit, kind, key, count, max_required in sorted(tuple(row) for row in items):
        entry = by_unit[unit]
        if kind == "authority":
            entry["authorities"][key] = {"count": count, "max_required": _number(max_required)}
        else:
            entry[KINDS_TO_MAPS[kind]][key] = count
        item = by_item.setdefault((kind, key), {"kind": kind, "key": key, "count": 0, "units": {}})
        item["count"] += count
        item["units"][unit] = count
    return {
        "by_unit": sorted(by_unit.values(), key=lambda entry: (-entry["routings"], entry["unit"])),
        "by_item": sorted(
            by_item.values(), key=lambda item: (-item["count"], item["key"], item["kind"])
        ),
    }


def _number(value: Decimal | float | int | None) -> int | float | None:
    """A JSON number: an int when integral."""
    if value is None:
        return None
    if isinstance(value, Decimal | float):
        return int(value) if value == int(value) else float(value)
    return value


# -- what-if -----------------------------------------------------------------


@dataclass
class _Cases:
    """The irritants of a period as replay cases; a distinct (origin, requirements) parsed once."""

    org: OrgSnapshot
    start: datetime | None
    end: datetime | None
    on_chunk: Callable[[int], None] | None = None
    groups: list[tuple[str, Requirements]] = field(default_factory=list)
    ids: array[int] = field(default_factory=lambda: array("q"))
    group_of: array[int] = field(default_factory=lambda: array("q"))
    skipped: int = 0

    def __iter__(self) -> Iterator[ReplayCase]:
        unit_keys = cached_org().key_of
        known: dict[tuple[int, str], int] = {}
        parsed: dict[str, Requirements] = {}  # few distinct texts: a category and an amount
        for chunk in self._chunks():
            for irritant_id, origin_id, requirements_text in chunk:
                index = known.get((origin_id, requirements_text))
                if index is None:
                    index = self._group(unit_keys.get(origin_id), requirements_text, parsed)
                    known[(origin_id, requirements_text)] = index
                if index < 0:
                    self.skipped += 1
                    continue
                self.ids.append(irritant_id)
                self.group_of.append(index)
                origin, requirements = self.groups[index]
                yield ReplayCase(irritant_id, origin, requirements)

    def _group(self, origin: str | None, text: str, parsed: dict[str, Requirements]) -> int:
        """The index of a new distinct (origin, requirements); -1 when the origin left the org."""
        if origin is None or origin not in self.org:
            return -1
        requirements = parsed.get(text)
        if requirements is None:
            requirements = parsed[text] = Requirements.from_dict(json.loads(text))
        self.groups.append((origin, requirements))
        return len(self.groups) - 1

    def _chunks(self) -> Iterator[Sequence[sa.Row[Any]]]:
        # Keyset pages on (created_at, id), each read whole: the job may commit its
        # progress between two pages without closing a server-side cursor.
        columns = (
            Irritant.id,
            Irritant.origin_unit_id,
            sa.cast(Irritant.initial_requirements, sa.Text),
        )
        after: tuple[datetime, int] | None = None
        while True:
            query = select(*columns).where(*_logged_in(self.start, self.end))
            if after is not None:
                query = query.where(tuple_(Irritant.created_at, Irritant.id) > after)
            query = query.order_by(Irritant.created_at, Irritant.id).limit(CHUNK)
            # Core rows, not ORM ones: a hundred thousand of them are read per replay.
            rows = db.session.connection().execute(query).all()
            if not rows:
                return
            yield rows
            if self.on_chunk is not None:
                self.on_chunk(len(self.ids) + self.skipped)
            if len(rows) < CHUNK:
                return
            last_id = rows[-1][0]
            # One time per page, not one per row: converting times is not free.
            last_at = db.session.scalar(select(Irritant.created_at).where(Irritant.id == last_id))
            assert last_at is not None
            after = (last_at, last_id)


def _logged_in(start: datetime | None, end: datetime | None) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if start is not None:
        conditions.append(Irritant.created_at >= start)
    if end is not None:
        conditions.append(Irritant.created_at < end)
    return conditions


def run_whatif(
    *,
    actor: User,
    changes: Any,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    sample: int = STAYED_SAMPLE,
) -> dict[str, Any]:
    """Replay the irritants of [since, until) on today's org and on the changed one.

    Returns the six figures of api.md, plus "distinct" (distinct origin and
    requirements routed), "units" (who would gain or lose work) and
    "stayed_at_origin" (up to `sample` irritant ids that would have stayed at
    their origin). NotAllowed unless a director; InvalidInput on a bad change or time.
    """
    _require_whatif_runner(actor)
    org = _snapshot()
    parsed = parse_changes(changes, org)
    start, end = _period(since, until)
    return _replay_period(org, parsed, start, end, sample=sample)


def _replay_period(
    org: OrgSnapshot,
    changes: list[Change],
    start: datetime | None,
    end: datetime | None,
    *,
    sample: int = STAYED_SAMPLE,
    on_chunk: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    cases = _Cases(org, start, end, on_chunk=on_chunk)
    # Closed units never receive work (routing leaves them out): on either side of the replay.
    report = replay(org, changes, cases, excluded=cached_org().closed)
    gained: dict[str, int] = {}
    lost: dict[str, int] = {}
    for _irritant, before, after in report.moves:
        lost[before] = lost.get(before, 0) + 1
        gained[after] = gained.get(after, 0) + 1
    units: list[dict[str, Any]] = [
        {"unit": unit, "gained": gained.get(unit, 0), "lost": lost.get(unit, 0)}
        for unit in sorted(gained.keys() | lost.keys())
    ]
    units.sort(key=lambda row: (-abs(row["gained"] - row["lost"]), row["unit"]))
    return {
        **report.figures(),
        "distinct": len(cases.groups),
        "units": units,
        "stayed_at_origin": _stayed_at_origin(org, changes, cases, report.moves, sample),
    }


def _stayed_at_origin(
    org: OrgSnapshot,
    changes: list[Change],
    cases: _Cases,
    moves: Sequence[tuple[int, str, str]],
    sample: int,
) -> list[int]:
    """Irritants that changed assignee to their own origin, in logging order."""
    found: list[int] = []
    changed: OrgSnapshot | None = None
    position = 0
    # Moves come in the order of the cases: walk both once.
    for irritant_id, _before, after in moves:
        if len(found) >= sample:
            break
        while cases.ids[position] != irritant_id:
            position += 1
        origin, requirements = cases.groups[cases.group_of[position]]
        if after != origin:
            continue
        if origin == org.root:
            # The root is also where unroutable irritants land: only a competent root counts.
            changed = changed or org.with_changes(changes)
            if not competent(changed.unit(origin), requirements):
                continue
        found.append(irritant_id)
    return found


def parse_changes(changes: Any, org: OrgSnapshot) -> list[Change]:
    """api.md's changes as core Changes; InvalidInput with dotted field paths."""
    if not isinstance(changes, list):
        raise InvalidInput({"changes": [_("Must be a list of changes.")]})
    errors: dict[str, list[str]] = {}
    parsed: list[Change] = []
    for index, change in enumerate(changes):
        path = f"changes.{index}"
        if not isinstance(change, Mapping):
            errors[path] = [_("Must be an object.")]
            continue
        before = len(errors)
        for name in sorted(set(change) - set(CHANGE_FIELDS)):
            errors[f"{path}.{name}"] = [_("Unknown field.")]
        unit = change.get("unit")
        if unit is None or unit == "":
            errors[f"{path}.unit"] = [_("This field is required.")]
        elif not isinstance(unit, str):
            errors[f"{path}.unit"] = [_("Must be a string.")]
        elif unit not in org:
            errors[f"{path}.unit"] = [_("Unknown unit %(key)s.", key=quoted(unit))]
        tools = _key_list(change.get("grant_tools"), f"{path}.grant_tools", errors)
        competencies = _key_list(
            change.get("grant_competencies"), f"{path}.grant_competencies", errors
        )
        limits = _limits(change.get("set_authorities"), f"{path}.set_authorities", errors)
        if len(errors) == before:
            parsed.append(Change(str(unit), tools, competencies, limits))
    if errors:
        raise InvalidInput(errors)
    return parsed


def change_json(change: Change) -> dict[str, Any]:
    """A change in api.md's JSON shape, lists sorted, limits as plain numbers."""
    return {
        "unit": change.unit,
        "grant_tools": sorted(change.grant_tools),
        "grant_competencies": sorted(change.grant_competencies),
        "set_authorities": {
            key: plain_amount(limit) for key, limit in change.set_authorities.items()
        },
    }


def _key_list(value: Any, path: str, errors: dict[str, list[str]]) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(
        isinstance(key, str) and 0 < len(key) <= MAX_KEY for key in value
    ):
        errors[path] = [_("Must be a list of non-empty strings of at most 100 characters.")]
        return frozenset()
    return frozenset(value)


def _limits(
    value: Any, path: str, errors: dict[str, list[str]]
) -> dict[str, int | float | Decimal | None]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors[path] = [_("Must be an object of authority: limit.")]
        return {}
    limits: dict[str, int | float | Decimal | None] = {}
    for key, limit in value.items():
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY:
            errors[path] = [_("Must be an object of authority: limit.")]
        elif limit is None:
            limits[key] = None  # unlimited
        elif (
            isinstance(limit, bool)
            or not isinstance(limit, Real | Decimal)
            or not math.isfinite(limit)
        ):
            errors[f"{path}.{key}"] = [_("Must be a number.")]
        elif limit < 0:
            errors[f"{path}.{key}"] = [_("Must be zero or more.")]
        else:
            limits[key] = limit if isinstance(limit, int | float | Decimal) else float(limit)
    return limits


def _require_whatif_runner(actor: User) -> None:
    if not access.may_run_whatif(actor):
        raise NotAllowed("only directors run a what-if")


# -- what-if in the background -----------------------------------------------


def start_whatif_run(
    *,
    actor: User,
    changes: Any,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
) -> WhatIfRun:
    """Record a what-if run and hand it to a background job; NotAllowed, InvalidInput."""
    _require_whatif_runner(actor)
    org = _snapshot()
    parsed = parse_changes(changes, org)
    start, end = _period(since, until)
    total = db.session.scalar(
        select(func.count()).select_from(Irritant).where(*_logged_in(start, end))
    )
    run = WhatIfRun(
        created_by_id=actor.id,
        params={
            "changes": [change_json(change) for change in parsed],
            "since": _iso(start),
            "until": _iso(end),
        },
        status="pending",
        total=total or 0,
    )
    db.session.add(run)
    db.session.commit()
    jobs.enqueue(jobs.run_whatif_job, run.id, job_id=f"whatif-{run.id}")
    return run


def execute_whatif_run(run_id: int) -> None:
    """Replay a recorded run, storing its progress and result; a finished run is left alone."""
    run = db.session.get(WhatIfRun, run_id)
    if run is None or run.status in ("done", "failed"):
        return
    running: WhatIfRun = run
    run.status, run.progress, run.error = "running", 0, None
    db.session.commit()
    params = run.params
    try:
        org = _snapshot()
        changes = parse_changes(params["changes"], org)
        start, end = _period(params.get("since"), params.get("until"))

        def save_progress(cases_done: int) -> None:
            # Between two keyset pages: nothing is streaming, a commit is safe.
            running.progress = cases_done
            db.session.commit()

        result = _replay_period(org, changes, start, end, on_chunk=save_progress)
    except Exception as error:
        db.session.rollback()
        run = db.session.get(WhatIfRun, run_id)
        if run is not None:
            run.status, run.error = "failed", str(error)[:2000]
            db.session.commit()
        raise
    run.result = result
    run.progress = run.total = result["replayed"]
    run.status = "done"
    db.session.commit()


def whatif_run_status(run_id: int, *, actor: User) -> WhatIfRun:
    """A what-if run of the actor's; NotAllowed unless a director, NotFound for someone else's."""
    _require_whatif_runner(actor)
    # An id the INTEGER column cannot hold names no run (and must not reach the driver).
    run = db.session.get(WhatIfRun, run_id) if 0 < run_id < 2**31 else None
    if run is None or run.created_by_id != actor.id:
        raise NotFound(f"no what-if run {run_id}")
    return run


# -- shared --------------------------------------------------------------------


def _snapshot() -> OrgSnapshot:
    return load_snapshot()


def _period(
    since: datetime | str | None, until: datetime | str | None
) -> tuple[datetime | None, datetime | None]:
    """Aware UTC bounds (a time without an offset is UTC); InvalidInput naming the field."""
    errors: dict[str, list[str]] = {}
    start = _time(since, "since", errors)
    end = _time(until, "until", errors)
    if start is not None and end is not None and end < start:
        errors["until"] = [_("The end must be after the start.")]
    if errors:
        raise InvalidInput(errors)
    return start, end


def _time(value: datetime | str | None, name: str, errors: dict[str, list[str]]) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            errors[name] = [_("Not a valid ISO 8601 time.")]
            return None
    if not isinstance(value, datetime):
        errors[name] = [_("Not a valid ISO 8601 time.")]
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


__all__ = [
    "change_json",
    "execute_whatif_run",
    "gaps_report",
    "parse_changes",
    "run_whatif",
    "start_whatif_run",
    "whatif_run_status",
]
