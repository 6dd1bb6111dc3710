"""Background jobs: RQ on Redis when REDIS_URL is set, in-process otherwise.

This module alone decides where a job runs; callers commit first, then call
enqueue(). Job functions take ids, reload what they need and are idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from typing import Any

from flask import Flask, current_app, has_app_context
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

log = logging.getLogger(__name__)
QUEUE_NAME = "irritants"


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

    Without Redis the job runs now, in this process. With Redis down, it
    returns False and logs: the caller's data is already committed, and the
    outbox relay or the sweep catches up later.
    """
    connection = redis_connection()
    if connection is None:
        return _run_inline(func, *args)
    try:
        get_queue().enqueue(func, *args, job_id=job_id, result_ttl=300, failure_ttl=7 * 86400)
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
