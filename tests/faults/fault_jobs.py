"""Jobs that the fault suites hand to a real rq worker (imported by the worker by name).

`sweep_then_hang` is the real SLA sweep job (irritants.jobs.run_sla_sweep) with small
chunks and a pause: on its first run it commits one chunk of escalations, writes the
work-horse's pid and hangs, so that a test can SIGKILL the worker mid-job. A rerun of the
same job (RQ Retry) finds the marker and sweeps to the end.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

CHUNK = 3


def sweep_then_hang(marker_dir: str) -> int:
    """Sweep in chunks of CHUNK; on the first run, hang after the first chunk's commit."""
    from irritants import jobs
    from irritants.services import escalation

    markers = Path(marker_dir)
    first_run = not (markers / "hung").exists()
    original = escalation.enqueue_messages
    escalation.SWEEP_CHUNK = CHUNK

    def enqueue_then_hang(messages: Any) -> None:
        original(messages)
        if first_run:
            (markers / "horse.pid").write_text(str(os.getpid()))
            (markers / "hung").write_text("1")
            time.sleep(3600)  # until SIGKILL

    escalation.enqueue_messages = enqueue_then_hang  # type: ignore[assignment]
    try:
        return jobs.run_sla_sweep()
    finally:
        escalation.enqueue_messages = original
