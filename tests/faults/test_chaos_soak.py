"""R6, Jepsen-style chaos soak (reliability.md section 5).

N client threads log irritants through the API of a real gunicorn (2 workers), each with
a unique customer_ref, for T seconds, while a nemesis kills and restarts, in turn, the
private Redis (AOF on), the rq worker (main, work-horse and scheduler together) and one
gunicorn worker. The SLA of one category is shrunk to seconds so that escalations fall
inside the run, and a DB sweeper (`flask sla sweep`, as cron would run it) ticks every few
seconds beside the RQ every-5-seconds tick.

Every request is recorded as ok (201 and an id), fail (a definite 4xx) or info
(indeterminate: timeout, reset, 5xx). After quiescing, the history is checked:
acknowledged ⊆ rows ⊆ attempted (lost = 0, unexpected = 0, rows − acked ≤ indeterminate),
no duplicate or early SLA escalation, nothing overdue left after one last sweep, and the
outbox drained. T, N and the pace come from CHAOS_SECONDS, CHAOS_CLIENTS, CHAOS_PAUSE.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from irritants.extensions import db
from irritants.models import Irritant, OutboxMessage
from tests.faults.conftest import (
    Services,
    api_token,
    escalation_findings,
    percentile,
    set_sla_seconds,
    utcnow,
    wait_until,
)

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("CHAOS_SECONDS", "60"))
CLIENTS = int(os.environ.get("CHAOS_CLIENTS", "6"))
PAUSE = float(os.environ.get("CHAOS_PAUSE", "0.15"))  # think time of a client, seconds
FAULT_EVERY = float(os.environ.get("CHAOS_FAULT_EVERY", "10"))
SLA_SECONDS = 20  # "critical" irritants of the category below
SWEEP_SECONDS = 5  # the DB sweeper's period (and the RQ tick's, SLA_SWEEP_SECONDS)
CATEGORY = "rude-service"
IDENTITIES = ["agent.lille@example.com", "agent.marseille@example.com",
              "lead.north@example.com", "director@example.com"]
DRAIN = """
from datetime import timedelta
from irritants.jobs import app_context
from irritants.models import utcnow
from irritants.services.outbox import LEASE, deliver_pending, pending_count
with app_context():
    # As if the leases of killed deliveries had run out: they are sent again now.
    sent = deliver_pending(now=utcnow() + LEASE + timedelta(seconds=1))
    print(sent, pending_count())
"""


@dataclass
class Operation:
    ref: str
    started_at: Any  # aware UTC datetime
    started: float  # monotonic
    seconds: float = 0.0
    outcome: str = ""  # ok | fail | info
    status: str = ""  # HTTP status or exception class
    irritant_id: int | None = None


class History:
    """Every invocation and its completion, shared by the client threads."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []
        self.lock = threading.Lock()

    def add(self, operation: Operation) -> None:
        with self.lock:
            self.operations.append(operation)


def client(base_url: str, token: str, run: str, number: int, stop: threading.Event,
           history: History) -> None:
    """Log irritants until stopped; one unique customer_ref per attempt, never retried."""
    with httpx.Client(base_url=base_url, timeout=5,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        count = 0
        while not stop.is_set():
            count += 1
            ref = f"chaos-{run}-{number}-{count}"
            operation = Operation(ref=ref, started_at=utcnow(), started=time.monotonic())
            body = {"category": CATEGORY, "severity": "critical" if count % 4 == 0 else "low",
                    "description": f"Chaos soak {ref}", "customer_ref": ref}
            try:
                response = http.post("/api/v1/irritants", json=body)
            except httpx.TimeoutException as error:
                operation.outcome, operation.status = "info", type(error).__name__
            except httpx.TransportError as error:
                operation.outcome, operation.status = "info", type(error).__name__
            else:
                operation.status = str(response.status_code)
                if response.status_code == 201:
                    operation.outcome = "ok"
                    operation.irritant_id = int(response.json()["id"])
                elif 400 <= response.status_code < 500:
                    operation.outcome = "fail"
                else:  # a 5xx may come after the commit: indeterminate
                    operation.outcome = "info"
            operation.seconds = time.monotonic() - operation.started
            history.add(operation)
            stop.wait(PAUSE)


class Nemesis:
    """Every FAULT_EVERY seconds, in turn: kill -9 Redis (down 4 s), kill -9 the rq worker
    tree (down 3 s), kill -9 one gunicorn worker (its master starts another)."""

    def __init__(self, services: Services, redis: Any, gunicorn: Any) -> None:
        self.services = services
        self.redis = redis
        self.gunicorn = gunicorn
        self.workers = 0
        self.worker = self.new_worker()
        self.faults: list[dict[str, Any]] = []
        self.redis_down: list[tuple[Any, Any]] = []
        self.errors: list[str] = []
        self.worker_exits = 0  # rq workers found dead before the nemesis killed them

    def new_worker(self) -> Any:
        self.workers += 1
        return self.services.rq_worker(self.redis.url, f"chaos-{secrets.token_hex(3)}-"
                                       f"{self.workers}")

    def run(self, stop: threading.Event) -> None:
        turn = 0
        while not stop.wait(FAULT_EVERY):
            kind = ("redis", "rq worker", "gunicorn worker")[turn % 3]
            turn += 1
            at = utcnow()
            try:
                if kind == "redis":
                    self.redis.kill()
                    time.sleep(4)
                    self.redis.start()
                    back = wait_until(lambda: self.redis.client().ping(), 15)
                    self.redis_down.append((at, utcnow()))
                elif kind == "rq worker":
                    self.worker_exits += not self.worker.alive()
                    self.worker.kill()
                    time.sleep(3)
                    self.worker = self.new_worker()
                    back = wait_until(self.worker_registered, 30)
                else:
                    self.gunicorn.kill_one_worker()
                    back = wait_until(lambda: len(self.gunicorn.worker_pids()) == 2
                                      and httpx.get(f"{self.gunicorn.url}/healthz",
                                                    timeout=2).status_code == 200, 30)
                if not back:
                    self.errors.append(f"{kind} did not come back")
            except Exception as error:  # noqa: BLE001 - reported by the test
                self.errors.append(f"{kind}: {error!r}")
            self.faults.append({"kind": kind, "at": at, "back": utcnow()})

    def worker_registered(self) -> bool:
        from rq import Worker

        names = {worker.name for worker in Worker.all(connection=self.redis.client())}
        return self.worker.name.removeprefix("rq-") in names

    def heal(self) -> None:
        """Everything up again (quiesce)."""
        if not self.redis.alive():
            self.redis.start()
        if not self.worker.alive():
            self.worker_exits += 1
            self.worker = self.new_worker()


class Sweeper:
    """The DB sweeper, independent of Redis: `flask sla sweep` every SWEEP_SECONDS."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.runs = 0
        self.failures: list[str] = []

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            done = self.services.flask("sla", "sweep")
            self.runs += 1
            if done.returncode != 0:
                self.failures.append(done.stderr[-2000:])
            stop.wait(max(0.0, SWEEP_SECONDS - (time.monotonic() - started)))


def test_acknowledged_irritants_survive_redis_worker_and_web_crashes_and_sla_holds(
    services: Services, org: dict[str, Any], report: Any
) -> None:
    set_sla_seconds(CATEGORY, critical=SLA_SECONDS)
    redis = services.redis(appendonly=True)
    gunicorn = services.gunicorn(REDIS_URL=redis.url)
    passwords = {user["email"]: user["password"] for user in org["users"]}
    tokens = [api_token(gunicorn.url, email, passwords[email]) for email in IDENTITIES]
    nemesis = Nemesis(services, redis, gunicorn)
    sweeper = Sweeper(services)
    run = secrets.token_hex(3)
    history = History()
    stop_clients, stop_faults = threading.Event(), threading.Event()
    threads = [threading.Thread(target=client, args=(gunicorn.url, tokens[n % len(tokens)],
                                                     run, n, stop_clients, history))
               for n in range(CLIENTS)]
    threads.append(threading.Thread(target=sweeper.run, args=(stop_faults,)))
    nemesis_thread = threading.Thread(target=nemesis.run, args=(stop_faults,))
    for thread in [*threads, nemesis_thread]:
        thread.start()

    time.sleep(SECONDS)
    stop_clients.set()
    stop_faults.set()
    for thread in [*threads, nemesis_thread]:
        thread.join(60)

    # Quiesce: everything up, one last sweep, the worker stopped, the outbox relayed.
    nemesis.heal()
    swept_at = utcnow()
    last_sweep = services.flask("sla", "sweep")
    assert last_sweep.returncode == 0, last_sweep.stderr
    nemesis.worker.stop(timeout=15)
    db.session.rollback()
    sent_by_jobs = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.done_at.is_not(None)))
    drain = services.run([sys.executable, "-c", DRAIN], REDIS_URL=redis.url)
    assert drain.returncode == 0, drain.stderr

    operations = history.operations
    attempted = {operation.ref for operation in operations}
    acked = {operation.ref for operation in operations if operation.outcome == "ok"}
    indeterminate = [operation for operation in operations if operation.outcome == "info"]
    db.session.rollback()
    rows = Counter(db.session.scalars(select(Irritant.customer_ref).where(
        Irritant.customer_ref.like(f"chaos-{run}-%"))).all())
    lost = acked - set(rows)
    unexpected = set(rows) - attempted
    doubled = {ref: count for ref, count in rows.items() if count > 1}
    present_unacked = set(rows) - acked
    findings = escalation_findings(SLA_SECONDS, swept_at)
    pending = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.done_at.is_(None)))
    latencies = [operation.seconds for operation in operations if operation.outcome == "ok"]

    def in_redis_outage(operation: Operation) -> bool:
        return any(start <= operation.started_at <= end for start, end in nemesis.redis_down)

    outage = [op.seconds for op in operations if op.outcome == "ok" and in_redis_outage(op)]
    normal = [op.seconds for op in operations if op.outcome == "ok" and not in_redis_outage(op)]
    recoveries: dict[str, float] = {}
    for fault in nemesis.faults:  # from the kill to the service answering again
        took = (fault["back"] - fault["at"]).total_seconds()
        recoveries[fault["kind"]] = round(max(took, recoveries.get(fault["kind"], 0.0)), 1)
    report("R6 chaos soak", {
        "seconds": SECONDS, "clients": CLIENTS, "requests": len(operations),
        "acked": len(acked), "failed": sum(op.outcome == "fail" for op in operations),
        "indeterminate": len(indeterminate),
        "by_class": dict(Counter(op.status for op in operations if op.outcome != "ok")),
        "lost": len(lost), "unexpected": len(unexpected), "rows": sum(rows.values()),
        "rows_minus_acked": len(present_unacked), "duplicate_rows": len(doubled),
        "faults": dict(Counter(fault["kind"] for fault in nemesis.faults)),
        "p50_ms": round(percentile(latencies, 0.5) * 1000),
        "p95_ms": round(percentile(latencies, 0.95) * 1000),
        "p99_ms": round(percentile(latencies, 0.99) * 1000),
        "p95_ms_redis_down": round(percentile(outage, 0.95) * 1000),
        "p95_ms_redis_up": round(percentile(normal, 0.95) * 1000),
        "escalations": findings["escalations"],
        "duplicate_escalations": len(findings["duplicates"]),
        "early_escalations": len(findings["early"]),
        "max_escalation_lateness_s": round(findings["max_lateness"], 1),
        "left_overdue": len(findings["left_overdue"]),
        "max_recovery_s": recoveries,
        "sweeper_runs": sweeper.runs, "outbox_pending": pending,
        "emails_sent_by_rq_jobs": sent_by_jobs,
        "rq_workers_started": nemesis.workers,
        "rq_worker_exited_by_itself": nemesis.worker_exits,
    })

    context = services.logs()
    assert nemesis.errors == [], nemesis.errors
    assert sweeper.failures == [], sweeper.failures[:2]
    assert len(acked) > 0, context
    assert sent_by_jobs > 0, context  # RQ took part (not only the sweeper and the drain)
    if SECONDS >= 3 * (FAULT_EVERY + 4):  # long enough for every kind of fault
        assert {fault["kind"] for fault in nemesis.faults} == {"redis", "rq worker",
                                                                "gunicorn worker"}
    assert lost == set(), sorted(lost)[:10]
    assert unexpected == set(), sorted(unexpected)[:10]
    assert doubled == {}, doubled
    assert len(present_unacked) <= len(indeterminate)
    assert findings["duplicates"] == []
    assert findings["early"] == [], findings["early"][:5]
    assert findings["level_gaps"] == [], findings["level_gaps"][:5]
    assert findings["left_overdue"] == [], findings["left_overdue"][:10]
    assert pending == 0, drain.stdout
    # The only 5xx a client may see is a reset from a killed gunicorn worker, not a 500.
    assert [op.status for op in operations if op.status.startswith("5")] == []
