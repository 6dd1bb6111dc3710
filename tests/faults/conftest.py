"""Private services for the fault suites: redis-server, gunicorn, rq worker, aiosmtpd, PostgreSQL.

Every process is started here on a spare loopback port and stopped by its own pid (and
those of its descendants, recorded with their start times), never by name. The shared
Redis on 6379 and the shared PostgreSQL are never touched: the processes under test use
the test database of tests/conftest.py (a SQLite file, or TEST_DATABASE_URL) and a
redis-server of their own. A binary that is missing fails the run under CI=true and
skips the test elsewhere (tests/conftest.py, need_service).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import func, select

from irritants.extensions import db as _db
from irritants.jobs import QUEUE_NAME
from irritants.models import Category, Irritant, IrritantEvent
from irritants.services.org_version import bump_org_version

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ON_CI = os.environ.get("CI") == "true"
QUEUE = QUEUE_NAME  # the app's RQ queue (irritants.jobs)
# Environment variables of the test run that must not leak into the processes under test.
_PRIVATE = ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL", "TEST_REDIS_URL", "SECRET_KEY",
            "IRRITANTS_ENV", "MAIL_SERVER", "MAIL_PORT", "MAIL_BACKEND", "SLA_SWEEP_SECONDS")


# --- small helpers ----------------------------------------------------------------------


def need_binary(name: str) -> str:
    """The path of an executable (the venv's first): fail on CI, skip elsewhere."""
    local = BIN / name
    found = str(local) if local.exists() else shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed"
    if ON_CI:
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


def spare_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.3)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> bool:
    """Poll until predicate() is truthy; False after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if predicate():
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- processes ----------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a process, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[19])


def children_of(pid: int) -> list[int]:
    """The live children of a process (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] == pid:
                found.append(int(entry.name))
    return sorted(found)


def process_tree(pid: int) -> dict[int, int]:
    """A process and all its descendants, as {pid: start time}."""
    tree: dict[int, int] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        stat = _stat(current)
        if stat is None or current in tree:
            continue
        tree[current] = stat[1]
        todo.extend(children_of(current))
    return tree


def signal_tree(tree: dict[int, int], sig: int) -> None:
    """Signal the processes of a recorded tree that are still the same processes."""
    for pid, started in tree.items():
        stat = _stat(pid)
        if stat is not None and stat[1] == started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


class Service:
    """One process we started (with its descendants), logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> list[int]:
        """SIGKILL the process and every descendant (a crash); the pids killed."""
        if self.process is None:
            return []
        tree = process_tree(self.process.pid)
        signal_tree(tree, signal.SIGKILL)
        self.process.wait(10)
        return sorted(tree)

    def stop(self, timeout: float = 8) -> None:
        """SIGTERM, then SIGKILL for whatever of the tree is left."""
        if self.process is None:
            return
        tree = process_tree(self.process.pid)
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        signal_tree(tree, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class RedisServer(Service):
    """A private redis-server on a spare loopback port, with or without AOF."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, appendonly: bool) -> None:
        self.port = spare_port()
        self.appendonly = appendonly
        data_dir = Path(tempfile.mkdtemp(prefix="redis-", dir=log_dir))
        args = [need_binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--dir", str(data_dir), "--daemonize", "no",
                "--appendonly", "yes" if appendonly else "no", "--appendfsync", "always"]
        super().__init__(f"redis-{self.port}", args, env, log_dir)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        super().start()
        if not wait_until(lambda: port_open(self.port), 15):
            raise RuntimeError(f"redis-server did not start:\n{self.log_tail()}")
        return self

    def client(self) -> Any:
        from redis import Redis

        return Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=5)


class Gunicorn(Service):
    """gunicorn wsgi:app with two sync workers on a spare loopback port."""

    def __init__(self, env: dict[str, str], log_dir: Path, workers: int = 2) -> None:
        self.port = spare_port()
        args = [need_binary("gunicorn"), "--workers", str(workers), "--bind",
                f"127.0.0.1:{self.port}", "--timeout", "30", "--graceful-timeout", "5",
                "--access-logfile", "-", "wsgi:app"]
        super().__init__(f"gunicorn-{self.port}", args, env, log_dir)
        self.workers = workers

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gunicorn:
        super().start()
        ready = wait_until(lambda: httpx.get(f"{self.url}/healthz", timeout=2).status_code
                           == 200 and len(self.worker_pids()) == self.workers, 60, 0.3)
        if not ready:
            raise RuntimeError(f"gunicorn did not start:\n{self.log_tail()}")
        return self

    def worker_pids(self) -> list[int]:
        return children_of(self.pid)

    def kill_one_worker(self) -> int:
        """SIGKILL one worker (the master starts another); its pid."""
        victim = self.worker_pids()[0]
        signal_tree(process_tree(victim), signal.SIGKILL)
        return victim


class RqWorker(Service):
    """`rq worker --with-scheduler` with the compressed timers of reliability.md R2."""

    def __init__(self, env: dict[str, str], log_dir: Path, redis_url: str, name: str,
                 burst: bool = False) -> None:
        args = [need_binary("rq"), "worker", "--with-scheduler", "--worker-ttl", "30",
                "--job-monitoring-interval", "5", "--maintenance-interval", "5",
                "--url", redis_url, "--name", name, "--path", str(ROOT)]
        if burst:
            args.append("--burst")
        super().__init__(f"rq-{name}", [*args, QUEUE], env, log_dir)


class SmtpSink:
    """An aiosmtpd server on loopback that keeps every message; stop() is an outage."""

    def __init__(self) -> None:
        self.port = spare_port()
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content)
        with self.lock:
            self.messages.append({"message_id": parsed["Message-ID"], "to": envelope.rcpt_tos,
                                  "subject": str(parsed["Subject"]), "at": utcnow()})
        return "250 Message accepted for delivery"

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.messages)


class Services:
    """The processes a test started; all stopped at teardown, newest first."""

    def __init__(self, app: Flask, tmp_path: Path) -> None:
        self.log_dir = tmp_path
        self.started: list[Any] = []
        self.env = {k: v for k, v in os.environ.items() if k not in _PRIVATE}
        self.env.update(
            IRRITANTS_ENV="development",
            DATABASE_URL=str(app.config["SQLALCHEMY_DATABASE_URI"]),
            SECRET_KEY="fault-suite-secret-key",
            ARGON2_TIME_COST="1", ARGON2_MEMORY_COST="1024", ARGON2_PARALLELISM="1",
            LOGIN_RATE_LIMIT="1000 per minute",
            MAIL_BACKEND="dummy",
            UPLOAD_DIR=str(tmp_path / "uploads"),
            SLA_SWEEP_SECONDS="5",
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
        )

    def environment(self, **extra: str | None) -> dict[str, str]:
        env = dict(self.env)
        for name, value in extra.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def _track(self, service: Any) -> Any:
        self.started.append(service)
        return service

    def redis(self, *, appendonly: bool = False) -> RedisServer:
        return self._track(RedisServer(self.env, self.log_dir, appendonly=appendonly).start())

    def gunicorn(self, **env: str | None) -> Gunicorn:
        return self._track(Gunicorn(self.environment(**env), self.log_dir).start())

    def rq_worker(self, redis_url: str, name: str, *, burst: bool = False,
                  **env: str | None) -> RqWorker:
        worker = RqWorker(self.environment(**{**env, "REDIS_URL": redis_url}), self.log_dir,
                          redis_url, name, burst=burst)
        return self._track(worker.start())

    def smtp(self) -> SmtpSink:
        return self._track(SmtpSink().start())

    def run(self, args: list[str], timeout: float = 120, cwd: Path = ROOT, **env: str | None
            ) -> subprocess.CompletedProcess[str]:
        """Run a command of the app (flask CLI, python -c) to completion."""
        return subprocess.run(args, cwd=cwd, env=self.environment(**env), capture_output=True,
                              text=True, timeout=timeout, check=False)

    def flask(self, *args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
        return self.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], **env)

    def logs(self) -> str:
        parts = [f"--- {service.name} ---\n{service.log_tail()}"
                 for service in self.started if isinstance(service, Service)]
        return "\n".join(parts)

    def stop_all(self) -> None:
        for service in reversed(self.started):
            with contextlib.suppress(Exception):
                service.stop()


@pytest.fixture
def services(app: Flask, db: Any, tmp_path: Path) -> Iterator[Services]:
    """Start private processes on the test database; all stopped before the tables are emptied."""
    stack = Services(app, tmp_path)
    try:
        yield stack
    finally:
        stack.stop_all()


# --- the application's data -------------------------------------------------------------


def set_sla_seconds(category: str, **seconds: float) -> None:
    """Shrink a category's SLA (seconds per severity) so escalations fall inside a run."""
    found = _db.session.scalar(select(Category).where(Category.key == category))
    assert found is not None, category
    found.sla_hours = {**(found.sla_hours or {}),
                       **{name: value / 3600 for name, value in seconds.items()}}
    # A category change is an org change: running servers cache categories per org version.
    bump_org_version()
    _db.session.commit()


def api_token(base_url: str, email: str, password: str) -> str:
    """A bearer token from POST /api/v1/tokens of a running server."""
    response = httpx.post(f"{base_url}/api/v1/tokens",
                          json={"email": email, "password": password}, timeout=30)
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def escalation_findings(sla_seconds: float, now_done: datetime) -> dict[str, Any]:
    """Check every SLA escalation against the irritants' clocks (all with the same SLA):
    levels 1..n with no duplicate and no gap, none before its due time, none overdue
    left at `now_done` (the start of the last sweep); the worst lateness in seconds."""
    _db.session.rollback()
    irritants = {row.id: row for row in _db.session.execute(
        select(Irritant.id, Irritant.created_at, Irritant.escalation_level, Irritant.due_at,
               Irritant.status)).all()}
    events: dict[int, list[Any]] = defaultdict(list)
    for event in _db.session.execute(
            select(IrritantEvent.irritant_id, IrritantEvent.escalation_level, IrritantEvent.at)
            .where(IrritantEvent.type == "sla_escalated")
            .order_by(IrritantEvent.irritant_id, IrritantEvent.escalation_level)).all():
        events[event.irritant_id].append(event)
    duplicates = _db.session.execute(
        select(IrritantEvent.irritant_id, IrritantEvent.escalation_level, func.count())
        .where(IrritantEvent.type == "sla_escalated")
        .group_by(IrritantEvent.irritant_id, IrritantEvent.escalation_level)
        .having(func.count() > 1)).all()
    sla = timedelta(seconds=sla_seconds)
    early, gaps, lateness = [], [], []
    for irritant_id, escalations in events.items():
        levels = [event.escalation_level for event in escalations]
        if levels != list(range(1, len(levels) + 1)) or \
                irritants[irritant_id].escalation_level != len(levels):
            gaps.append((irritant_id, levels, irritants[irritant_id].escalation_level))
        due = irritants[irritant_id].created_at + sla
        for event in escalations:
            if event.at < due - timedelta(seconds=1):
                early.append((irritant_id, event.escalation_level, event.at, due))
            lateness.append((event.at - due).total_seconds())
            due = event.at + sla
    left_overdue = [irritant_id for irritant_id, row in irritants.items()
                    if row.status != "resolved" and row.due_at < now_done]
    return {"escalations": sum(len(found) for found in events.values()),
            "duplicates": duplicates, "early": early, "level_gaps": gaps,
            "max_lateness": max(lateness, default=0.0), "left_overdue": left_overdue}


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of a list (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


def database_label() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or ""
    return "PostgreSQL" if url.startswith(("postgres", "postgresql")) else "SQLite"


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Callable[[str, dict[str, Any]], None]:
    """Print a test's figures (past pytest's capture); also appended, as JSON lines, to the
    file named by FAULT_FIGURES when set."""

    def show(title: str, figures: dict[str, Any]) -> None:
        line = {"test": title, "database": database_label(), **figures}
        with capsys.disabled():
            print(f"\n[figures] {title} on {line['database']}: "
                  + ", ".join(f"{key}={value}" for key, value in figures.items()), flush=True)
        target = os.environ.get("FAULT_FIGURES")
        if target:
            with open(target, "a", encoding="utf-8") as output:
                output.write(json.dumps(line, default=str) + "\n")

    return show


# --- a throw-away PostgreSQL cluster (R7) ------------------------------------------------


def _pg_bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


class PostgresCluster:
    """initdb + pg_ctl on a spare port, as user postgres (runuser) when we are root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = spare_port()
        # Under /tmp itself: user postgres cannot enter pytest's private tmp_path.
        self.datadir = Path(tempfile.mkdtemp(prefix="irritants-fault-pg-"))
        self.run_as: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            shutil.chown(self.datadir, "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.run_as, str(self.bindir / "pg_ctl"), "-D",
                               str(self.datadir), *args], capture_output=True, text=True,
                              timeout=60, check=False)

    def init(self) -> None:
        done = subprocess.run([*self.run_as, str(self.bindir / "initdb"), "-D",
                               str(self.datadir), "-A", "trust", "-U", "postgres"],
                              capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)

    def start(self) -> None:
        done = self._ctl("-l", str(self.datadir / "server.log"), "-o",
                         f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1",
                         "-w", "start")
        if done.returncode != 0:
            raise RuntimeError(done.stderr + done.stdout)

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.datadir, ignore_errors=True)


@pytest.fixture
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of our own (R7 restarts it); fail on CI, skip elsewhere."""
    bindir = _pg_bindir()
    if bindir is None:
        need_binary("initdb")
    assert bindir is not None
    cluster = PostgresCluster(bindir)
    try:
        cluster.init()
        cluster.start()
    except (OSError, RuntimeError, KeyError, subprocess.SubprocessError) as error:
        cluster.remove()
        message = f"a throw-away PostgreSQL cluster cannot be started here: {error}"
        if ON_CI:
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    try:
        yield cluster
    finally:
        cluster.remove()
