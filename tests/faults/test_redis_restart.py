"""R3: Redis restarts while SLA jobs are scheduled, (a) without persistence, (b) with AOF.

The every-5-seconds RQ sweep tick (irritants.jobs.sla_sweep_tick, booked with enqueue_at
as a web process books it) runs on an `rq worker --with-scheduler`; beside it, the DB
sweeper (`flask sla sweep`, as cron runs it) ticks every 5 seconds and never touches
Redis. Redis is SIGKILLed and restarted while a tick is booked:

(a) without persistence the booked tick is lost and, with no web request to book it
    again, RQ stops sweeping;
(b) with AOF the booked tick survives, but the worker's scheduler process died with the
    connection and the tick runs late (once maintenance restarts the scheduler).

Either way every irritant that falls due, before or after the restart, is escalated
exactly once per level, never before its due time, and nothing is left overdue.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from irritants.extensions import db
from irritants.models import User
from irritants.services.intake import log_irritant
from tests.faults.conftest import (
    QUEUE,
    Services,
    escalation_findings,
    set_sla_seconds,
    utcnow,
    wait_until,
)

pytestmark = pytest.mark.slow

SLA_SECONDS = 20
PERIOD = 5  # the RQ tick's (SLA_SWEEP_SECONDS) and the DB sweeper's
RUN_SECONDS = 50
BATCH = 5
BOOK = """
from irritants.jobs import app_context, schedule_next_sweep
with app_context():
    print(schedule_next_sweep())
"""


def log_batch(count: int) -> list[int]:
    agent = db.session.scalar(select(User).where(User.email == "agent.lille@example.com"))
    return [log_irritant(agent, category="rude-service", severity="critical",
                         description=f"Redis restart test {n}").id for n in range(count)]


class TickWatch:
    """Polls the ScheduledJobRegistry: when each booked tick appears and leaves it."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.seen: dict[str, dict[str, Any]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                registry = ScheduledJobRegistry(QUEUE, connection=self.redis.client())
                ids = set(registry.get_job_ids())
                for job_id in ids - set(self.seen):
                    due = registry.get_scheduled_time(job_id)
                    self.seen[job_id] = {"due": due.replace(tzinfo=UTC), "left": None}
            except Exception:  # noqa: BLE001, S112 - Redis is down for a while: keep polling
                continue
            for job_id, state in self.seen.items():
                if state["left"] is None and job_id not in ids:
                    state["left"] = utcnow()

    def booked(self) -> set[str]:
        return {job_id for job_id, state in self.seen.items() if state["left"] is None}

    def ran_after(self, moment: datetime) -> list[str]:
        return [job_id for job_id, state in self.seen.items()
                if state["left"] is not None and state["left"] > moment]


@pytest.mark.parametrize("appendonly", [False, True], ids=["no-persistence", "aof"])
def test_after_a_redis_restart_the_db_sweeper_escalates_every_overdue_irritant_once(
    services: Services, org: dict[str, Any], report: Any, appendonly: bool
) -> None:
    set_sla_seconds("rude-service", critical=SLA_SECONDS)
    redis = services.redis(appendonly=appendonly)
    worker = services.rq_worker(redis.url, "r3")
    watch = TickWatch(redis)
    watcher = threading.Thread(target=watch.run)
    watcher.start()
    stop_sweeper = threading.Event()
    sweeps: list[int] = []

    def sweeper() -> None:
        while not stop_sweeper.wait(PERIOD):
            done = services.flask("sla", "sweep")
            sweeps.append(done.returncode)

    sweeper_thread = threading.Thread(target=sweeper)
    try:
        started = utcnow()
        first_batch = log_batch(BATCH)
        booked = services.run([sys.executable, "-c", BOOK], REDIS_URL=redis.url)
        assert booked.returncode == 0, booked.stderr
        sweeper_thread.start()
        # The chain runs: a tick fires and books the next one.
        assert wait_until(lambda: watch.ran_after(started), 3 * PERIOD), services.logs()
        assert wait_until(lambda: len(watch.booked()) == 1, PERIOD)
        before = watch.booked()
        time.sleep(2)  # the worker is idle, waiting on Redis for its next job

        killed_at = utcnow()
        redis.kill()
        time.sleep(3)
        redis.start()
        back_at = utcnow()
        after = set(ScheduledJobRegistry(QUEUE, connection=redis.client()).get_job_ids())
        second_batch = log_batch(BATCH)

        remaining = RUN_SECONDS - (utcnow() - started).total_seconds()
        time.sleep(max(0.0, remaining))
    finally:
        stop_sweeper.set()
        if sweeper_thread.is_alive():
            sweeper_thread.join(60)
        watch.stop.set()
        watcher.join(10)

    swept_at = utcnow()
    last = services.flask("sla", "sweep")
    assert last.returncode == 0, last.stderr
    findings = escalation_findings(SLA_SECONDS, swept_at)
    survivor = watch.seen[next(iter(before))]
    lateness = ((survivor["left"] - survivor["due"]).total_seconds()
                if survivor["left"] is not None and before <= after else None)
    # Ticks that fired after the restart (a booked tick lost with Redis also "left").
    ticks_after = [job_id for job_id in watch.ran_after(back_at) if job_id not in before - after]
    report(f"R3 Redis restart ({'AOF' if appendonly else 'no persistence'})", {
        "booked_before_kill": len(before), "lost_by_restart": len(before - after),
        "survivor_late_s": None if lateness is None else round(lateness, 1),
        "rq_ticks_after_restart": len(ticks_after),
        "irritants": len(first_batch) + len(second_batch),
        "escalations": findings["escalations"],
        "max_lateness_past_due_s": round(findings["max_lateness"], 1),
        "db_sweeps": len(sweeps), "down_s": round((back_at - killed_at).total_seconds(), 1),
        "rq_worker_alive_after": worker.alive(),
    })

    if appendonly:
        assert before <= after  # AOF kept the booked tick
    else:
        assert after == set()  # the booked tick died with Redis
        assert ticks_after == []  # and nothing books it again without a web request
    assert set(sweeps) == {0}
    assert findings["duplicates"] == []
    assert findings["early"] == [], findings["early"][:5]
    assert findings["level_gaps"] == [], findings["level_gaps"][:5]
    assert findings["left_overdue"] == [], findings["left_overdue"]
    # Both batches fell due during the run: every irritant was escalated at least once.
    assert findings["escalations"] >= 2 * BATCH


def test_with_redis_killed_signing_in_and_creating_tokens_still_work_and_are_still_throttled(
    services: Services, org: dict[str, Any]
) -> None:
    """The rate limits of sign-in and token creation live in Redis (RATELIMIT_STORAGE_URI):
    Redis down must neither fail these requests (R1, ASVS V16.5.2) nor lift the throttle."""
    redis = services.redis()
    gunicorn = services.gunicorn(REDIS_URL=redis.url, LOGIN_RATE_LIMIT="5 per minute")
    passwords = {user["email"]: user["password"] for user in org["users"]}
    agent = {"email": "agent.lille@example.com", "password": passwords["agent.lille@example.com"]}
    with httpx.Client(base_url=gunicorn.url, timeout=20) as http:
        assert http.post("/api/v1/tokens", json=agent).status_code == 201

        redis.kill()
        started = time.monotonic()
        token = http.post("/api/v1/tokens", json=agent)
        form = http.get("/auth/login")
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.text) or \
            re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf, form.text[:2000]
        page = http.post("/auth/login", data={**agent, "csrf_token": csrf.group(1)})
        seconds = time.monotonic() - started
        # Each gunicorn worker throttles in its own memory: 2 workers x 5 attempts at most.
        wrong = [http.post("/api/v1/tokens", json={**agent, "password": "wrong"}).status_code
                 for _ in range(12)]

    assert token.status_code == 201, token.text
    assert page.status_code == 302, page.text[:500]
    assert seconds < 3
    assert 429 in wrong, wrong
