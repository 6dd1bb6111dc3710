"""Security events as one structured log line each (reliability.md S18).

Call `security_event("login_failed", email=...)` from a view, the API or the CLI. Inside a
request, the client IP, the request id, the method and the path are added. Values have
CR and LF replaced, and the line is JSON, so user input can never forge a log line.
Never pass a password or a token.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from flask import g, has_request_context, request

log = logging.getLogger("irritants.security")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\r", " ").replace("\n", " ")[:500]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return _clean(str(value))


def security_event(event: str, *, actor_id: int | None = None, **fields: Any) -> None:
    """Log one security event with the actor, the client IP and the request id."""
    record: dict[str, Any] = {
        "event": event,
        "at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "actor": actor_id,
    }
    if has_request_context():
        record.update(
            ip=request.remote_addr,
            request_id=g.get("request_id"),
            method=request.method,
            path=request.path,
        )
    record.update(fields)
    line = json.dumps({key: _clean(value) for key, value in record.items()}, sort_keys=False)
    log.info("security %s", line)
