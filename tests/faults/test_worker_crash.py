"""R2: the rq worker is SIGKILLed (main process AND work-horse) in the middle of an SLA sweep.

The job is the real sweep (tests/faults/fault_jobs.py): it commits a first chunk of
escalations, then hangs until the kill. A second worker with the compressed timers of
reliability.md (--worker-ttl 30 --job-monitoring-interval 5 --maintenance-interval 5)
notices the abandoned job once its heartbeat expires: with `Retry(max=1)` it runs the job
again (at least once); without, it files it in the FailedJobRegistry (AbandonedJobError)
and the work it did not do waits for the DB sweep (`flask sla sweep`). Either way every
overdue irritant ends with exactly one SLA escalation at level 1, and no job stays stuck
in the StartedJobRegistry.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rq import Queue, Retry
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import func, select, update

from irritants.extensions import db
from irritants.models import Irritant, IrritantEvent, User
from irritants.services.intake import log_irritant
from tests.faults.conftest import QUEUE, Services, utcnow, wait_until
from tests.faults.fault_jobs import CHUNK

pytestmark = pytest.mark.slow

OVERDUE = 8
DETECTION_LIMIT = 240  # seconds; measured ~75 s (60 s heartbeat grace + the idle loop)


def overdue_irritants(count: int) -> list[int]:
    """Irritants whose due time passed a minute ago."""
    agent = db.session.scalar(select(User).where(User.email == "agent.lille@example.com"))
    ids = [log_irritant(agent, category="rude-service", severity="critical",
                        description=f"Crash test {n}").id for n in range(count)]
    db.session.execute(update(Irritant).where(Irritant.id.in_(ids))
                       .values(due_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    return ids


def sla_levels(ids: list[int]) -> dict[int, list[int]]:
    """The levels of the SLA escalation events of each irritant."""
    db.session.rollback()
    levels: dict[int, list[int]] = {irritant_id: [] for irritant_id in ids}
    for irritant_id, level in db.session.execute(
            select(IrritantEvent.irritant_id, IrritantEvent.escalation_level)
            .where(IrritantEvent.type == "sla_escalated", IrritantEvent.irritant_id.in_(ids))
            .order_by(IrritantEvent.id)).all():
        levels[irritant_id].append(level)
    return levels


def still_overdue(ids: list[int]) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Irritant).where(
        Irritant.id.in_(ids), Irritant.due_at < utcnow(), Irritant.status != "resolved")) or 0


@pytest.mark.parametrize("retry", [False, True], ids=["without-retry", "with-retry"])
def test_a_worker_killed_mid_sweep_leaves_exactly_one_escalation_per_irritant_and_level(
    services: Services, org: dict[str, Any], report: Any, tmp_path: Path, retry: bool
) -> None:
    ids = overdue_irritants(OVERDUE)
    redis = services.redis()
    connection = redis.client()
    first = services.rq_worker(redis.url, "r2-first")
    markers = tmp_path / "markers"
    markers.mkdir()
    queue = Queue(QUEUE, connection=connection)
    job = queue.enqueue("tests.faults.fault_jobs.sweep_then_hang", str(markers),
                        job_timeout=600, result_ttl=600, failure_ttl=600,
                        retry=Retry(max=1) if retry else None)

    assert wait_until(lambda: (markers / "hung").exists(), 60), services.logs()
    horse = int((markers / "horse.pid").read_text())
    assert sum(map(len, sla_levels(ids).values())) == CHUNK  # one chunk committed, then hung
    killed = first.kill()
    killed_at = time.monotonic()
    assert {first.pid, horse} <= set(killed)
    assert job.id in StartedJobRegistry(QUEUE, connection=connection).get_job_ids()

    services.rq_worker(redis.url, "r2-second")
    if retry:
        done = wait_until(lambda: Job.fetch(job.id, connection=connection).get_status()
                          == "finished", DETECTION_LIMIT, 1)
    else:
        done = wait_until(lambda: job.id in FailedJobRegistry(
            QUEUE, connection=connection).get_job_ids(), DETECTION_LIMIT, 1)
    detection = time.monotonic() - killed_at
    assert done, services.logs()
    fetched = Job.fetch(job.id, connection=connection)
    lost_by_rq = still_overdue(ids)
    if retry:
        assert lost_by_rq == 0  # the rerun swept the rest
    else:
        assert "AbandonedJobError" in (fetched.latest_result().exc_string or "")
        assert lost_by_rq == OVERDUE - CHUNK  # RQ alone would never escalate these

    sweep = services.flask("sla", "sweep")
    assert sweep.returncode == 0, sweep.stderr
    assert int(sweep.stdout.strip()) == lost_by_rq

    assert sla_levels(ids) == {irritant_id: [1] for irritant_id in ids}
    assert still_overdue(ids) == 0
    # Nothing stuck: the delivery jobs the sweep queued finish too.
    assert wait_until(lambda: StartedJobRegistry(QUEUE, connection=connection).get_job_ids()
                      == [] and queue.count == 0, 60, 0.5), services.logs()
    report(f"R2 worker crash ({'with' if retry else 'without'} Retry)", {
        "overdue": OVERDUE, "escalated_before_kill": CHUNK, "killed_pids": len(killed),
        "detection_s": round(detection, 1), "left_for_db_sweep": lost_by_rq,
        "escalations_per_irritant": 1, "job_status": fetched.get_status(),
    })
