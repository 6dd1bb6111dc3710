"""Background jobs: RQ on Redis when REDIS_URL is set, in-process otherwise.

This module alone decides where a job runs; callers commit first, then call
enqueue(). Job functions take ids, reload what they need and are idempotent.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from flask import Flask, current_app, has_app_context
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

log = logging.getLogger(__name__)
# RQ's default queue, so that the documented `rq worker --with-scheduler` serves our jobs.
QUEUE_NAME = "default"


@cache
def _redis_for(url: str) -> Redis:
    # Fail fast: a web request must never wait seconds on a stopped Redis.
    return Redis.from_url(
        url,
        socket_connect_timeout=0.5,
        socket_timeout=2,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
    )


def redis_url() -> str | None:
    """The configured Redis URL, or None when jobs run in-process."""
    return current_app.config.get("REDIS_URL") or None


def redis_connection() -> Redis | None:
    """A fail-fast Redis client, or None without REDIS_URL."""
    url = redis_url()
    return _redis_for(url) if url else None


def redis_status() -> str:
    """'absent' without REDIS_URL, else 'ok' or 'down'."""
    connection = redis_connection()
    if connection is None:
        return "absent"
    try:
        connection.ping()
    except RedisError:
        return "down"
    return "ok"


def get_queue() -> Any:
    """The RQ queue (only with REDIS_URL)."""
    from rq import Queue

    return Queue(QUEUE_NAME, connection=redis_connection(), default_timeout=600)


def enqueue(func: Callable[..., Any], *args: Any, job_id: str | None = None) -> bool:
    """Run func(*args) in the background; True when it was handed over or ran.

    Without Redis the job runs in this process: on the in-process scheduler's
    thread in a serving process, else now. With Redis down, it returns False
    and logs: the caller's data is already committed, and the outbox relay or
    the sweep catches up later. A job_id makes the job unique while it exists.
    """
    connection = redis_connection()
    if connection is None:
        runner = _runner
        if runner is not None and runner.serves_this_process():
            runner.submit(func, *args)
            return True
        return _run_inline(func, *args)
    try:
        get_queue().enqueue(func, *args, job_id=job_id, unique=job_id is not None,
                            result_ttl=300, failure_ttl=7 * 86400)
    except RedisError as error:
        log.warning("enqueue %s failed, will be retried: %s", func.__name__, error)
        return False
    except Exception as error:  # DuplicateJobError and the like: already queued
        log.info("enqueue %s skipped: %s", func.__name__, error)
    return True


def _run_inline(func: Callable[..., Any], *args: Any) -> bool:
    try:
        func(*args)
    except Exception:  # a failed side effect must not fail the request that caused it
        log.exception("in-process job %s failed", func.__name__)
        from irritants.extensions import db

        db.session.rollback()
        return False
    return True


_worker_app: Flask | None = None


def app_context() -> Any:
    """An app context for a job: the caller's, or one made once per worker process."""
    global _worker_app
    if has_app_context():
        from contextlib import nullcontext

        return nullcontext()
    if _worker_app is None:
        from irritants import create_app

        _worker_app = create_app()
    return _worker_app.app_context()


def run_whatif_job(run_id: int) -> None:
    """Replay a recorded what-if run, saving its progress (a finished run is left alone)."""
    from irritants.services.insights import execute_whatif_run

    with app_context():
        execute_whatif_run(run_id)


# -- jobs of the irritant lifecycle ---------------------------------------------------


def deliver_outbox_message(message_id: int) -> bool:
    """Perform one outbox message (idempotent: a second run sends nothing)."""
    from irritants.services.outbox import deliver

    with app_context():
        return deliver(message_id)


def deliver_outbox_messages(message_ids: list[int]) -> int:
    """Perform several outbox messages in one batch (idempotent per message); how many
    were sent now. The job of a change's messages (outbox.enqueue_messages); the
    in-process runner also gathers its delivery jobs into this one."""
    from irritants.services.outbox import deliver_many

    with app_context():
        return deliver_many(message_ids)


def run_sla_sweep(at: str | None = None) -> int:
    """Escalate everything overdue (at ISO time `at`, else now), then relay the outbox."""
    from irritants.services.escalation import sweep_overdue
    from irritants.services.outbox import deliver_pending

    with app_context():
        now = datetime.fromisoformat(at) if at else None
        escalated = sweep_overdue(now)
        # Messages whose job Redis lost: anything still pending after 30 seconds.
        deliver_pending(older_than_seconds=30)
        _fold_rollups()
        return escalated


def _fold_rollups() -> None:
    """Fold the list totals' tally (services/tally.py) and the directors' rollups
    (services/locality_rollup.py, services/gap_rollup.py); a failure only delays it a
    minute."""
    from irritants.extensions import db
    from irritants.services import gap_rollup, locality_rollup, tally

    for name, fold in (("irritant tally", tally.compact),
                       ("locality rollup", locality_rollup.fold),
                       ("gap rollup", gap_rollup.fold)):
        try:
            fold()
        except Exception:
            db.session.rollback()
            log.exception("could not fold the %s", name)


def sla_sweep_tick() -> int:
    """The every-minute RQ job: book the next tick first (so a failed sweep keeps the
    chain alive), then sweep."""
    with app_context():
        schedule_next_sweep()
        return run_sla_sweep()


# -- the every-minute schedule -----------------------------------------------------------
#
# RQ 2.12 offers three ways: `Repeat(times, interval)` (a finite number of runs, so
# not "forever"), `rq cron` (a separate CronScheduler process, not what api.md runs),
# and `enqueue_at`/`enqueue_in`, run by `rq worker --with-scheduler`. We use the last:
# each tick books the next one, at the next multiple of SLA_SWEEP_SECONDS, under a job id
# made from that slot (`irritants-sla-sweep-<slot>`) with `unique=True`. Any number of
# processes may book (every tick, and each web process once per period), yet each slot
# holds one job. If Redis loses the chain (restart without persistence), the next web
# request books it again. The database stays the truth: a lost tick delays escalations
# by one period; the CAS and the unique index mean a duplicated one escalates nothing twice.

_last_booked = 0.0


def sweep_period() -> int:
    """Seconds between two sweeps."""
    return max(1, int(current_app.config.get("SLA_SWEEP_SECONDS") or 60))


def schedule_next_sweep(now: datetime | None = None) -> str | None:
    """Book the next sweep tick on RQ (idempotent per slot); its job id, None without Redis."""
    from rq.exceptions import DuplicateJobError

    if redis_connection() is None:
        return None
    period = sweep_period()
    slot = int((now or datetime.now(UTC)).timestamp() // period) + 1
    job_id = f"irritants-sla-sweep-{slot}"
    queue_ = get_queue()
    job = queue_.create_job(sla_sweep_tick, job_id=job_id, result_ttl=5 * period,
                            ttl=3 * period + 60, failure_ttl=86400, timeout=max(600, period))
    try:
        queue_.schedule_job(job, datetime.fromtimestamp(slot * period, UTC), unique=True)
    except DuplicateJobError:
        pass
    except RedisError as error:
        log.warning("could not book the next SLA sweep: %s", error)
        return None
    return job_id


Job = tuple[Callable[..., Any], tuple[Any, ...]]


class InProcessRunner:
    """Without Redis: one daemon thread per serving process runs the jobs handed to it
    and, every SLA_SWEEP_SECONDS, the sweep and the outbox relay.

    The thread shares its process's CPU with the requests, so it works in batches: it
    lets jobs gather for BATCH_WINDOW seconds after the first one arrives, then performs
    every outbox delivery job taken (of one message or of several) in one
    deliver_outbox_messages() (one claim and one read of recipients, irritants and
    events for all), the other jobs one by one.
    """

    BATCH_WINDOW = 0.2
    BATCH_MAX = 200

    def __init__(self, app: Flask, period: int) -> None:
        self.app = app
        self.period = period
        self.pid = os.getpid()
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="irritants-scheduler",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Finish the current job, then end the thread (tests; a daemon dies with its process)."""
        self.stopping.set()
        self.jobs.put(None)
        self.thread.join(timeout)

    def serves_this_process(self) -> bool:
        return self.pid == os.getpid() and self.thread.is_alive()

    def submit(self, func: Callable[..., Any], *args: Any) -> None:
        self.jobs.put((func, args))

    def _loop(self) -> None:
        next_sweep = time.monotonic() + 1
        while not self.stopping.is_set():
            try:
                job = self.jobs.get(timeout=max(0.0, next_sweep - time.monotonic()))
            except queue.Empty:
                job = None
            if job is not None:
                self._run_batch(self._gather(job))
            if self.stopping.is_set():
                break
            if time.monotonic() >= next_sweep:
                with self.app.app_context():
                    _run_inline(run_sla_sweep)
                next_sweep = time.monotonic() + self.period

    def _gather(self, first: Job) -> list[Job]:
        """The first job and those that arrive within BATCH_WINDOW (at most BATCH_MAX)."""
        batch = [first]
        deadline = time.monotonic() + self.BATCH_WINDOW
        while len(batch) < self.BATCH_MAX and not self.stopping.is_set():
            try:
                job = self.jobs.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is None:  # stop(): finish what was taken
                self.stopping.set()
                break
            batch.append(job)
        return batch

    def _run_batch(self, batch: list[Job]) -> None:
        deliveries: list[int] = []
        others: list[Job] = []
        for func, args in batch:
            delivered = _delivered(func, args)
            if delivered is None:
                others.append((func, args))
            else:
                deliveries.extend(delivered)
        with self.app.app_context():
            if deliveries:
                _run_inline(deliver_outbox_messages, deliveries)
            for func, args in others:
                _run_inline(func, *args)


def _delivered(func: Callable[..., Any], args: tuple[Any, ...]) -> list[int] | None:
    """The outbox message ids a delivery job delivers; None for any other job."""
    if func is deliver_outbox_message:
        return [args[0]]
    if func is deliver_outbox_messages:
        return list(args[0])
    return None


_runner: InProcessRunner | None = None
_runner_lock = threading.Lock()


def ensure_background_work(app: Flask) -> None:
    """Called on each request: book the RQ tick (once per period), or start the thread."""
    global _runner, _last_booked
    if app.config.get("REDIS_URL"):
        if time.monotonic() - _last_booked >= sweep_period():
            _last_booked = time.monotonic()
            try:
                schedule_next_sweep()
            except Exception:  # a request never fails because of the schedule
                log.exception("could not book the next SLA sweep")
        return
    if not app.config.get("RUN_INPROCESS_SCHEDULER"):
        return
    runner = _runner
    if runner is not None and runner.serves_this_process():
        return
    with _runner_lock:
        if _runner is None or not _runner.serves_this_process():
            _runner = InProcessRunner(app, sweep_period())
            _runner.start()
            log.info("in-process scheduler started (every %ss)", _runner.period)


def init_app(app: Flask) -> None:
    """Start background work lazily, on the first request of a serving process."""

    @app.before_request
    def _background_work() -> None:
        ensure_background_work(app)
