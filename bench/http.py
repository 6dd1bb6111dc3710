"""HTTP benchmark: gunicorn (2 workers) on PostgreSQL or SQLite at 100,000 and 1,000,000 irritants.

Prints, per size: irritants logged per second through the API with 1 and 4
clients and their p50/p95 latency; p50/p95 of the queue page, the irritant
page and the list API (and a few variants of them); the RSS of the gunicorn
workers. Figures only: no assertion, these machines are noisy.

    .venv/bin/python bench/http.py                       # PostgreSQL, 100k then 1M
    .venv/bin/python bench/http.py --sizes 100000 --sqlite
    .venv/bin/python bench/http.py --sizes 1000000 --keep   # keep the database afterwards
    .venv/bin/python bench/http.py --reuse URL --sizes 0    # measure a kept database again

Each size gets a fresh database: `flask db upgrade`, `flask org import` of a
generated retailer (--regions x --stores stores, about 1,000 units by default,
one agent per store, a lead per region and back-office), then a bulk fill (COPY
on PostgreSQL, executemany on SQLite) of a year of irritants logged in time
order. Each irritant is routed by the real routing core (once per distinct
origin, category and amount), so its assignee, rank and gaps are the ones the
app would have written; it gets its routing event and gap items, and, as its
age says, SLA escalations, taken / commented / happened-again / resolved events
with a root cause. Unresolved irritants are mostly recent; older ones were
escalated up the tree by the sweep and are due again soon, as in production.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, bench/ comes first on the path and this file would shadow the
# standard library's `http` (httpx imports it): put the project root there instead.
ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import bisect  # noqa: E402
import contextlib  # noqa: E402
import http.client  # noqa: E402
import io  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import psycopg  # noqa: E402

from irritants.routing import OrgSnapshot, Requirements, route  # noqa: E402
from irritants.routing import Unit as RoutingUnit  # noqa: E402

try:
    from irritants.services import tally
except ImportError:  # a checkout from before the tally (for "before" figures)
    tally = None  # type: ignore[assignment]
try:
    from irritants.services import gap_rollup, locality_rollup
except ImportError:  # a checkout from before the directors' rollups
    gap_rollup = locality_rollup = None  # type: ignore[assignment]

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-password-42"  # noqa: S105 - a throw-away database
# (key, competency, authority, tools, share of irritants)
CATEGORIES = [
    ("late-delivery", "delivery", "gesture", ["carrier-portal"], 30),
    ("refund-refused", "product", "refund", ["refund-terminal"], 25),
    ("billing-error", "billing", "refund", ["crm"], 15),
    ("unwelcoming", "service", None, [], 20),
    ("app-crash", "digital", None, ["app-admin"], 10),
]
AMOUNTS = (None, 0, 20, 45, 80, 120, 180, 250, 400, 900)
SEVERITIES = (("low", 30), ("medium", 45), ("high", 20), ("critical", 5))
DEFAULT_SLA_HOURS = {"critical": 4, "high": 24, "medium": 72, "low": 168}
CHANNELS = ("store", "phone", "email", "chat", "app", "web")
DESCRIPTIONS = (
    "Client mécontent : commande en retard de plusieurs jours.",
    "Remboursement refusé en caisse, le client a son ticket.",
    "Erreur de facturation sur la dernière commande, montant en double.",
    "Accueil jugé désagréable par la cliente, elle souhaite une réponse.",
    "L'application se ferme au paiement, le panier est perdu.",
)


# -- the organisation ------------------------------------------------------------------


def generated_org(regions: int, stores_per_region: int) -> dict[str, Any]:
    """A retailer of 4 + regions * (stores + 2) units, an agent per store, leads, a director."""
    units: list[dict[str, Any]] = [
        {"key": "hq", "name": "Siège", "parent": None,
         "competencies": ["billing", "delivery", "product", "service", "digital"],
         "authorities": {"gesture": None, "refund": None}, "tools": ["crm", "erp"]},
        {"key": "cs", "name": "Service client", "parent": "hq",
         "competencies": ["billing", "delivery", "product", "service"],
         "authorities": {"gesture": 1000, "refund": 2000}, "tools": ["crm", "carrier-portal"]},
        {"key": "digital", "name": "Digital", "parent": "hq", "competencies": ["digital"],
         "authorities": {"gesture": 100}, "tools": ["app-admin"]},
        {"key": "logistics", "name": "Logistique", "parent": "hq", "competencies": ["delivery"],
         "authorities": {"gesture": 200}, "tools": ["carrier-portal", "wms"]},
    ]
    users: list[dict[str, Any]] = [
        {"email": "director@bench.test", "name": "Director", "unit": "hq", "role": "director",
         "password": PASSWORD},
        {"email": "lead@bench.test", "name": "Lead", "unit": "region-0", "role": "lead",
         "password": PASSWORD},
        {"email": "agent@bench.test", "name": "Agent", "unit": "store-0-0", "role": "agent",
         "password": PASSWORD},
    ]
    for key in ("cs", "digital", "logistics"):
        users.append({"email": f"lead-{key}@bench.test", "name": f"Lead {key}", "unit": key,
                      "role": "lead", "password": PASSWORD})
    for r in range(regions):
        region = f"region-{r}"
        units.append({"key": region, "name": f"Région {r}", "parent": "cs",
                      "competencies": ["billing", "product", "service", "delivery"],
                      "authorities": {"gesture": 300, "refund": 500}, "tools": ["crm"]})
        units.append({"key": f"{region}-bo", "name": f"Back-office {r}", "parent": region,
                      "competencies": ["billing", "delivery"],
                      "authorities": {"gesture": 300, "refund": 500},
                      "tools": ["crm", "carrier-portal"]})
        if r:
            users.append({"email": f"lead-{region}@bench.test", "name": f"Lead {region}",
                          "unit": region, "role": "lead", "password": PASSWORD})
        users.append({"email": f"lead-{region}-bo@bench.test", "name": f"Lead {region} BO",
                      "unit": f"{region}-bo", "role": "lead", "password": PASSWORD})
        for s in range(stores_per_region):
            tools = ["pos", "refund-terminal"] if s % 3 == 0 else ["pos"]
            store = f"store-{r}-{s}"
            units.append({"key": store, "name": f"Magasin {r}-{s}", "parent": region,
                          "competencies": ["product", "service"],
                          "authorities": {"gesture": 50, "refund": 150}, "tools": tools})
    categories = [
        {"key": key, "label": {"fr": key, "en": key}, "competency": competency,
         "authority": authority, "tools": tools}
        for key, competency, authority, tools, _share in CATEGORIES
    ]
    return {"units": units, "categories": categories, "users": users}


# -- databases -----------------------------------------------------------------------


def flask(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                            env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"flask {' '.join(args)}: {result.stderr[-2000:]}")


@contextlib.contextmanager
def postgres_database(keep: bool) -> Iterator[str]:
    name = f"irritants_bench_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        if keep:
            print(f"  kept: {PG_ADMIN.rsplit('/', 1)[0]}/{name}")
        else:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Backend:
    """Rows in, through COPY (PostgreSQL) or executemany (SQLite)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.connection: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
        else:
            self.connection = psycopg.connect(url)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.connection.execute(sql).fetchall())

    def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.sqlite:
            marks = ", ".join("?" * len(columns))
            self.connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                [tuple(_sqlite_value(value) for value in row) for row in rows])
            return
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(_copy_value(value) for value in row))
            buffer.write("\n")
        with self.connection.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())

    def statements(self, statements: Sequence[str]) -> None:
        for statement in statements:
            self.connection.execute(statement)
        self.connection.commit()

    def finish(self, tables: Sequence[str]) -> None:
        self.connection.commit()
        if self.sqlite:
            self.connection.execute("ANALYZE")
            self.connection.commit()
            self.connection.close()
            return
        for table in tables:
            self.connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))")
        self.connection.commit()
        # As autovacuum would have: statistics, and the visibility map of index-only scans.
        self.connection.autocommit = True
        for table in tables:
            self.connection.execute(f"VACUUM ANALYZE {table}")
        self.connection.close()


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r"))
    return value


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# COPY text format and SQLite values, by type (a dict lookup beats a chain of isinstance).
_COPY: dict[type, Callable[[Any], str]] = {
    str: _copy_text, int: str, float: repr, bool: lambda value: "t" if value else "f",
    datetime: datetime.isoformat, dict: lambda value: _copy_text(_json_text(value)),
    list: lambda value: _copy_text(_json_text(value)),
}
_SQLITE: dict[type, Callable[[Any], Any]] = {
    datetime: lambda value: value.astimezone(UTC).replace(tzinfo=None).isoformat(
        " ", "microseconds"),
    dict: json.dumps, list: json.dumps, bool: int,
}


def _copy_value(value: Any) -> str:
    return "\\N" if value is None else _COPY.get(type(value), str)(value)


def _sqlite_value(value: Any) -> Any:
    convert = _SQLITE.get(type(value))
    return value if convert is None else convert(value)


# -- the fill ------------------------------------------------------------------------

IRRITANT_COLUMNS = (
    "id", "category_id", "severity", "description", "amount", "customer_ref", "channel",
    "origin_unit_id", "reporter_id", "assignee_id", "taken_by_id", "status",
    "initial_requirements", "requirements", "excluded", "rank", "unroutable", "gaps",
    "escalation_level", "occurrences", "created_at", "due_at", "updated_at", "resolved_at",
    "resolution", "root_cause", "root_cause_detail", "row_version",
)
EVENT_COLUMNS = (
    "id", "irritant_id", "type", "at", "actor_id", "assignee_id", "rank", "gaps", "unroutable",
    "escalation_level", "org_version", "data",
)
GAP_COLUMNS = (
    "id", "event_id", "irritant_id", "at", "unit_key", "kind", "item_key", "required", '"limit"',
)
CHUNK = 20_000
LOG = Path(tempfile.gettempdir()) / "irritants-bench-gunicorn.log"


class Filler:
    """Generates a year of irritants as the app would have written them."""

    def __init__(self, backend: Backend, seed: int) -> None:
        self.db = backend
        self.rng = random.Random(seed)
        units = backend.query(
            "SELECT id, key, name, parent_id, competencies, authorities, tools FROM unit")
        self.key_of = {row[0]: row[1] for row in units}
        self.id_of = {row[1]: row[0] for row in units}
        self.parent = {row[1]: self.key_of.get(row[3]) for row in units}
        self.org = OrgSnapshot.build([
            RoutingUnit(key=row[1], name=row[2], parent=self.key_of.get(row[3]),
                        competencies=frozenset(_json(row[4])),
                        authorities=dict(_json(row[5])), tools=frozenset(_json(row[6])))
            for row in units], version=1)
        self.org_version = backend.query("SELECT version FROM org_state")[0][0]
        categories = backend.query(
            "SELECT id, key, competency, authority, tools, sla_hours, root_causes FROM category")
        shares = {key: share for key, *_rest, share in CATEGORIES}
        self.categories = [
            (row[0], row[2], row[3], sorted(_json(row[4])), _json(row[5]) or {},
             [cause["key"] for cause in _json(row[6]) or [{"key": "other"}]])
            for row in sorted(categories, key=lambda row: row[1])
        ]
        self.category_weights = list(itertools.accumulate(
            shares.get(row[1], 10) for row in sorted(categories, key=lambda row: row[1])))
        self.add_agents(now=datetime.now(UTC))
        users = backend.query('SELECT id, unit_id, role FROM "user"')
        self.agent_of: dict[int, int] = {}
        self.lead_of: dict[int, int] = {}
        for user_id, unit_id, role in sorted(users):
            (self.agent_of if role == "agent" else self.lead_of).setdefault(unit_id, user_id)
        self.director = next(user_id for user_id, _unit, role in users if role == "director")
        stores = sorted(key for key in self.id_of if key.startswith("store-"))
        # Some stores see far more irritants than others.
        self.stores = stores
        self.store_weights = list(itertools.accumulate(
            1 / (1 + rank) ** 0.6 for rank in range(len(stores))))
        self.rng.shuffle(self.stores)
        self.routes: dict[tuple[str, int, Any], tuple[Any, ...]] = {}
        self.next_event = 1 + (backend.query("SELECT coalesce(max(id), 0) FROM irritant_event")
                               [0][0])
        self.next_gap = 1 + backend.query("SELECT coalesce(max(id), 0) FROM gap_item")[0][0]
        self.counts = {"irritant": 0, "irritant_event": 0, "gap_item": 0}

    def add_agents(self, now: datetime) -> None:
        """An agent per store that has none (without a password: they never sign in here)."""
        staffed = {row[0] for row in self.db.query(
            "SELECT unit_id FROM \"user\" WHERE role = 'agent'")}
        self.db.write('"user"', ("email", "name", "role", "unit_id", "active", "session_version",
                                 "created_at"), [
            (f"agent-{key}@bench.test", f"Agent {key}", "agent", unit_id, True, 1, now)
            for key, unit_id in sorted(self.id_of.items())
            if key.startswith("store-") and unit_id not in staffed])
        self.db.connection.commit()

    def routing(self, origin: str, index: int, amount: Any) -> tuple[Any, ...]:
        key = (origin, index, amount)
        found = self.routes.get(key)
        if found is None:
            _id, competency, authority, tools, _sla, _causes = self.categories[index]
            needs = Requirements.for_category(competency, authority, amount, tools)
            assignment = route(self.org, origin, needs, open_load=lambda keys: {})
            gaps = [gap.to_dict() for gap in assignment.gaps]
            items = []
            for gap in assignment.gaps:
                items += [(gap.unit, "competency", c, None, None)
                          for c in gap.missing_competencies]
                items += [(gap.unit, "authority", a, d.get("required"), d.get("limit"))
                          for a, d in gap.missing_authorities.items()]
                items += [(gap.unit, "tool", t, None, None) for t in gap.missing_tools]
            # JSON as text once per distinct routing, not once per row.
            rank = None if assignment.rank is None else list(assignment.rank)
            found = (assignment.assignee, None if rank is None else _json_text(rank),
                     assignment.unroutable, _json_text(gaps), items,
                     _json_text(needs.to_dict()))
            self.routes[key] = found
        return found

    def fill(self, count: int, now: datetime) -> None:
        rng = self.rng
        start = now - timedelta(days=365)
        seconds = sorted(rng.random() * (365 * 86400 - 120) for _ in range(count))
        first_id = 1 + self.db.query("SELECT coalesce(max(id), 0) FROM irritant")[0][0]
        dialect = "sqlite" if self.db.sqlite else "postgresql"
        # A bulk load: the list totals' tally is counted once at the end, not row by row.
        tables = ["irritant", "irritant_event", "gap_item"]
        if tally is not None:
            self.db.statements(tally.DISABLE[dialect])
            tables.append("irritant_tally")
        indexes = [] if self.db.sqlite else self.db.query(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND "
            "tablename IN ('irritant', 'irritant_event', 'gap_item') AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint)")
        if indexes:
            # Indexes built once at the end, foreign keys not checked row by row (the rows
            # are consistent by construction), commits not waited for: a bulk load.
            self.db.statements([f'DROP INDEX "{name}"' for name, _definition in indexes])
            self.db.statements(["SET session_replication_role = replica",
                                "SET synchronous_commit = off"])
        for offset in range(0, count, CHUNK):
            irritants: list[tuple[Any, ...]] = []
            events: list[tuple[Any, ...]] = []
            gap_items: list[tuple[Any, ...]] = []
            for number in range(offset, min(count, offset + CHUNK)):
                created = start + timedelta(seconds=seconds[number])
                self.one(first_id + number, created, now, irritants, events, gap_items)
            self.db.write("irritant", IRRITANT_COLUMNS, irritants)
            self.db.write("irritant_event", EVENT_COLUMNS, events)
            self.db.write("gap_item", GAP_COLUMNS, gap_items)
            self.counts["irritant"] += len(irritants)
            self.counts["irritant_event"] += len(events)
            self.counts["gap_item"] += len(gap_items)
        if indexes:
            self.db.statements(["SET session_replication_role = origin",
                                "SET maintenance_work_mem = '256MB'",
                                *[definition for _name, definition in indexes]])
        if tally is not None:
            self.db.statements([*tally.REBUILD, *tally.ENABLE[dialect]])
        if locality_rollup is not None and not self.db.sqlite:
            # Triggers do not fire in replica mode: the rollup is counted once here.
            self.db.statements([*locality_rollup.REBUILD, *gap_rollup.REBUILD])
            tables += ["locality_rollup", "gap_rollup"]
        self.db.finish(tables)

    def event(self, events: list[tuple[Any, ...]], irritant_id: int, kind: str, at: datetime,
              actor: int | None, data: dict[str, Any], assignee: int | None = None,
              level: int | None = None, routing: tuple[Any, ...] | None = None) -> int:
        event_id = self.next_event
        self.next_event += 1
        rank = gaps = unroutable = version = None
        if routing is not None:
            rank, unroutable, gaps, version = routing[1], routing[2], routing[3], \
                self.org_version
        events.append((event_id, irritant_id, kind, at, actor, assignee, rank, gaps, unroutable,
                       level, version, data))
        return event_id

    def one(self, irritant_id: int, created: datetime, now: datetime,
            irritants: list[tuple[Any, ...]], events: list[tuple[Any, ...]],
            gap_items: list[tuple[Any, ...]]) -> None:
        rng = self.rng
        index = bisect.bisect(self.category_weights, rng.random() * self.category_weights[-1])
        category_id, _competency, authority, _tools, sla, causes = self.categories[index]
        amount = rng.choice(AMOUNTS) if authority else None
        origin = self.stores[bisect.bisect(self.store_weights,
                                           rng.random() * self.store_weights[-1])]
        severity = rng.choices(SEVERITIES_KEYS, SEVERITY_WEIGHTS)[0]
        hours = float(sla.get(severity, DEFAULT_SLA_HOURS[severity]))
        routing = self.routing(origin, index, amount)
        assignee, rank, unroutable, gaps, items, needs = routing
        reporter = self.agent_of.get(self.id_of[origin], self.director)
        routed = self.event(events, irritant_id, "routed", created, reporter,
                            {"kind": "logged", "reason": None, "needs": None},
                            self.id_of[assignee], routing=routing)
        for unit, kind, key, required, limit in items:
            gap_items.append((self.next_gap, routed, irritant_id, created, unit, kind, key,
                              required, limit))
            self.next_gap += 1
        age = (now - created).total_seconds() / 3600
        if age < 72:
            status = rng.choices(("open", "in_progress", "resolved"), (45, 20, 35))[0]
        elif age < 24 * 14:
            status = rng.choices(("open", "in_progress", "resolved"), (6, 4, 90))[0]
        else:
            status = rng.choices(("open", "in_progress", "resolved"), (3, 2, 995))[0]
        occurrences, level, last = 1, 0, created
        due = created + timedelta(hours=hours)
        if status == "resolved":
            resolved_at = min(created + timedelta(hours=hours * rng.uniform(0.05, 1.3)),
                              now - timedelta(seconds=30))
        else:
            resolved_at = None
            # The sweep escalated it to the parent each time it was overdue.
            while due < now and self.parent.get(assignee) is not None:
                previous, assignee = assignee, self.parent[assignee]
                level += 1
                self.event(events, irritant_id, "sla_escalated", due, None,
                           {"from": previous, "hours": hours}, self.id_of[assignee], level)
                last = due
                due = due + timedelta(hours=hours)
            if due < now:  # at the top: escalated again at the root, due soon
                level += 1
                last = now - timedelta(hours=hours * rng.uniform(0.05, 0.9))
                self.event(events, irritant_id, "sla_escalated", last, None,
                           {"from": assignee, "hours": hours}, self.id_of[assignee], level)
                due = last + timedelta(hours=hours)
        assignee_id = self.id_of[assignee]
        taken_by = None
        end = resolved_at or now
        if rng.random() < 0.05:
            occurrences = rng.randint(2, 4)
            for _ in range(occurrences - 1):
                at = created + (end - created) * rng.random()
                self.event(events, irritant_id, "occurred_again", at, reporter,
                           {"customer_ref": f"C{rng.randrange(10**7):07d}"})
                last = max(last, at)
        if status != "open":
            taken_by = self.lead_of.get(assignee_id) or self.agent_of.get(assignee_id)
            at = last + (end - last) * rng.uniform(0.05, 0.3)
            self.event(events, irritant_id, "taken", at, taken_by, {})
            last = at
            if rng.random() < 0.15:
                at = last + (end - last) * rng.uniform(0.1, 0.5)
                self.event(events, irritant_id, "commented", at, taken_by,
                           {"text": "Client rappelé, en attente du retour du transporteur."})
                last = at
        resolution = root_cause = detail = None
        if status == "resolved":
            assert resolved_at is not None
            resolution = "Geste commercial accordé et client rappelé."
            root_cause = rng.choice(causes)
            detail = "Cause à préciser avec le fournisseur." if root_cause == "other" else None
            self.event(events, irritant_id, "resolved", resolved_at, taken_by,
                       {"resolution": resolution, "root_cause": root_cause,
                        "root_cause_detail": detail})
            last = resolved_at
        irritants.append((
            irritant_id, category_id, severity, DESCRIPTIONS[index % len(DESCRIPTIONS)],
            amount, f"C{rng.randrange(10**7):07d}" if rng.random() < 0.6 else None,
            rng.choice(CHANNELS), self.id_of[origin], reporter, assignee_id, taken_by, status,
            needs, needs, "[]", None if level else rank, unroutable, gaps, level, occurrences,
            created, due, last, resolved_at, resolution, root_cause, detail, 1 + level,
        ))


SEVERITIES_KEYS = [key for key, _weight in SEVERITIES]
SEVERITY_WEIGHTS = [weight for _key, weight in SEVERITIES]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# -- measuring -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log: Path, threads: int = 1) -> Iterator[tuple[str, int]]:
    """2 workers; sync ones by default, gthread ones with `threads` > 1."""
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", str(threads),
             "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=env, start_new_session=True, stdout=output, stderr=output)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not answer")
        yield base, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered) * 1000, p95 * 1000


def api_token(base: str, email: str) -> str:
    answer = httpx.post(f"{base}/api/v1/tokens", json={"email": email, "password": PASSWORD},
                        timeout=30)
    answer.raise_for_status()
    return str(answer.json()["token"])


def logging_rate(base: str, token: str, clients: int, per_client: int, stores: list[str],
                 idempotent: bool = False) -> tuple[float, float, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []

    host, port = base.removeprefix("http://").split(":")

    def client_loop(n: int) -> None:
        # The standard library's client: it costs the shared CPUs less than httpx per call.
        rng = random.Random(n)
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            for i in range(per_client):
                headers = {"Authorization": f"Bearer {token}",
                           "Content-Type": "application/json"}
                if idempotent:
                    headers["Idempotency-Key"] = secrets.token_hex(16)
                body = json.dumps({
                    "category": rng.choice(CATEGORIES)[0],
                    "severity": rng.choice(SEVERITIES_KEYS),
                    "amount": rng.choice([0, 40, 400]), "description": f"Bench irritant {n}-{i}",
                    "origin_unit": rng.choice(stores)})
                started = time.perf_counter()
                connection.request("POST", "/api/v1/irritants", body=body, headers=headers)
                answer = connection.getresponse()
                text = answer.read()
                elapsed = time.perf_counter() - started
                if answer.will_close:
                    connection.close()  # gunicorn's sync workers close after each answer
                if answer.status != 201:
                    failures.append(f"{answer.status} {text[:200]!r}")
                    return
                with lock:
                    latencies.append(elapsed)
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = time.perf_counter() - started
    if failures:
        raise RuntimeError(failures[0])
    p50, p95 = percentiles(latencies)
    return len(latencies) / total, p50, p95


def signed_in_client(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    page = client.get("/auth/login")
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page.text)
    data = {"email": email, "password": PASSWORD}
    if match:
        data["csrf_token"] = match.group(1)
    answer = client.post("/auth/login", data=data)
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"sign-in of {email} failed: {answer.status_code}")
    return client


def timed_gets(client: httpx.Client, paths: list[str],
               headers: dict[str, str] | None = None) -> tuple[float, float]:
    for path in paths[:3]:  # warm both workers' caches (the org snapshot, templates)
        client.get(path, headers=headers)
    latencies = []
    for path in paths:
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        latencies.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
    return percentiles(latencies)


def worker_rss_mb(master_pid: int) -> list[float]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    pids = children.read_text().split() if children.exists() else []
    sizes = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


def sample_ids(url: str, requests: int, where: str = "") -> list[int]:
    backend = Backend(url)
    top = backend.query("SELECT max(id) FROM irritant")[0][0] or 1
    rng = random.Random(5)
    if not where:
        ids = [rng.randint(1, top) for _ in range(requests)]
    else:
        rows = backend.query(f"SELECT id FROM irritant WHERE {where} "  # noqa: S608
                             f"ORDER BY random() LIMIT {int(requests)}")
        ids = [rng.choice(rows)[0] for _ in range(requests)]
    backend.connection.close()
    return ids


def line(label: str, figures: tuple[float, float]) -> None:
    print(f"  {label:<52} p50 {figures[0]:6.1f} ms  p95 {figures[1]:6.1f} ms", flush=True)


def measure(base: str, master_pid: int, url: str, requests: int, only: str | None,
            stores: list[str]) -> None:
    def wanted(name: str) -> bool:
        return (only is None or name in only.split(","))
    agent_token = api_token(base, "agent@bench.test")
    director_token = api_token(base, "director@bench.test")
    lead_token = api_token(base, "lead@bench.test")
    if wanted("log"):
        for clients in (1, 4):
            per_client = max(20, requests // clients) if clients == 1 else max(20, requests // 2)
            rate, p50, p95 = logging_rate(base, agent_token, clients, per_client, stores)
            print(f"  {f'log via API, {clients} client(s)':<52} p50 {p50:6.1f} ms  p95 "
                  f"{p95:6.1f} ms  {rate:6.1f} irritants/s", flush=True)
        rate, p50, p95 = logging_rate(base, agent_token, 4, max(20, requests // 4), stores,
                                      idempotent=True)
        print(f"  {'log via API, 4 clients, with Idempotency-Key':<52} p50 {p50:6.1f} ms  p95 "
              f"{p95:6.1f} ms  {rate:6.1f} irritants/s", flush=True)
    lead = signed_in_client(base, "lead@bench.test")
    director = signed_in_client(base, "director@bench.test")
    agent = signed_in_client(base, "agent@bench.test")
    if wanted("pages"):
        line("queue page (lead, region and its stores)", timed_gets(lead, ["/queue"] * requests))
        line("queue page (lead, overdue, one category)", timed_gets(
            lead, ["/queue?status=overdue&category=late-delivery"] * requests))
        line("queue page (lead, page 3)", timed_gets(lead, ["/queue?page=3"] * requests))
        line("queue page (director, the whole org)", timed_gets(
            director, ["/queue"] * requests))
        line("queue page (agent, own store)", timed_gets(agent, ["/queue"] * requests))
        line("irritant page (director, any irritant)", timed_gets(
            director, [f"/irritants/{i}" for i in sample_ids(url, requests)]))
        unit_ids = ",".join(str(i) for i in sample_unit_ids(url, "region-0"))
        line("irritant page (lead, in their region)", timed_gets(lead, [
            f"/irritants/{i}" for i in sample_ids(
                url, requests, f"assignee_id IN ({unit_ids})")]))
    if wanted("api"):
        with httpx.Client(base_url=base, timeout=30) as client:
            for label, token, path in (
                ("list API (director, page 1)", director_token, "/api/v1/irritants?per_page=50"),
                ("list API (director, open, one category)", director_token,
                 "/api/v1/irritants?status=open&category=late-delivery&per_page=50"),
                ("list API (director, page 200)", director_token,
                 "/api/v1/irritants?page=200&per_page=50"),
                ("list API (lead, their region, page 1)", lead_token,
                 "/api/v1/irritants?per_page=50"),
                ("list API (agent, their store, page 1)", agent_token,
                 "/api/v1/irritants?per_page=50"),
                ("read API (director, one irritant)", director_token, None),
            ):
                paths = ([path] * requests if path else
                         [f"/api/v1/irritants/{i}" for i in sample_ids(url, requests)])
                line(label, timed_gets(client, paths, {"Authorization": f"Bearer {token}"}))
    print("  gunicorn worker RSS: " + ", ".join(f"{mb:.0f} MB" for mb in worker_rss_mb(
        master_pid)), flush=True)


def sample_unit_ids(url: str, key: str) -> list[int]:
    backend = Backend(url)
    rows = backend.query("SELECT id, key, parent_id FROM unit")
    backend.connection.close()
    children: dict[int | None, list[int]] = {}
    for unit_id, _key, parent in rows:
        children.setdefault(parent, []).append(unit_id)
    top = next(unit_id for unit_id, unit_key, _parent in rows if unit_key == key)
    found, todo = [], [top]
    while todo:
        unit_id = todo.pop()
        found.append(unit_id)
        todo += children.get(unit_id, [])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000",
                        help="irritants per run, comma-separated (a fresh database each)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--requests", type=int, default=200, help="requests per figure")
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--stores", type=int, default=50, help="stores per region")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--only", help="log,pages,api (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--reuse", help="measure this already filled database URL instead")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per gunicorn worker (> 1: gthread workers)")
    parser.add_argument("--redis", help="REDIS_URL for the app (default: none, in-process jobs)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(IRRITANTS_ENV="development", SECRET_KEY=secrets.token_hex(32),
               LOGIN_RATE_LIMIT="100000 per minute", MAIL_BACKEND="locmem")
    if args.redis:
        env["REDIS_URL"] = args.redis
    print(f"(gunicorn's log: {LOG})")
    org = generated_org(args.regions, args.stores)
    stores = [unit["key"] for unit in org["units"] if unit["key"].startswith("store-")]
    if args.reuse:
        env["DATABASE_URL"] = args.reuse
        print(f"{args.reuse}, {sample_ids(args.reuse, 1) and _count(args.reuse):,} irritants")
        with gunicorn(env, LOG, args.threads) as (base, pid):
            measure(base, pid, args.reuse, args.requests, args.only, stores)
        return
    for size in (int(s) for s in args.sizes.split(",")):
        with contextlib.ExitStack() as stack:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            if args.sqlite:
                url = f"sqlite:///{folder}/bench.db"
            else:
                url = stack.enter_context(postgres_database(args.keep))
            env["DATABASE_URL"] = url
            started = time.perf_counter()
            flask(env, "db", "upgrade")
            (folder / "org.json").write_text(json.dumps(org))
            flask(env, "org", "import", str(folder / "org.json"))
            prepared = time.perf_counter()
            filler = Filler(Backend(url), args.seed)
            filler.fill(size, datetime.now(UTC))
            counts = ", ".join(f"{n:,} {table}" for table, n in filler.counts.items())
            print(f"{'SQLite' if args.sqlite else 'PostgreSQL'}, {size:,} irritants, "
                  f"{len(org['units']):,} units ({counts}; schema and org "
                  f"{prepared - started:.0f} s, fill {time.perf_counter() - prepared:.0f} s)",
                  flush=True)
            with gunicorn(env, LOG, args.threads) as (base, pid):
                measure(base, pid, url, args.requests, args.only, stores)


def _count(url: str) -> int:
    backend = Backend(url)
    count = int(backend.query("SELECT count(*) FROM irritant")[0][0])
    backend.connection.close()
    return count


if __name__ == "__main__":
    main()
