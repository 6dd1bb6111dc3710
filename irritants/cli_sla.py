"""flask sla sweep [--at ISO-8601]: escalate everything overdue at that time."""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime

import click
from flask import Flask
from flask.cli import AppGroup

sla_cli = AppGroup("sla", help="The SLA clock: escalate overdue irritants.")


def register_sla(app: Flask) -> None:
    """Register `flask sla`."""
    app.cli.add_command(sla_cli)


def parse_time(value: str) -> datetime:
    """An ISO 8601 time; without an offset it is UTC ("Z" accepted)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@sla_cli.command("sweep")
@click.option("--at", "at", metavar="ISO-8601", help="Sweep as of this time (default: now).")
def sla_sweep(at: str | None) -> None:
    """Escalate every irritant overdue at that time, once; print how many."""
    from irritants.services.escalation import sweep_overdue

    now = parse_time(at) if at else None
    # The notification emails go out after each chunk; the console mail backend (development
    # without MAIL_SERVER) prints them, so keep them off standard output: it holds the number.
    with contextlib.redirect_stdout(sys.stderr):
        escalated = sweep_overdue(now)
        if now is None:
            # Run from cron as the Redis-independent relay: mail that RQ lost goes out too.
            from irritants.services.outbox import deliver_pending

            deliver_pending(older_than_seconds=30)
    click.echo(escalated)
