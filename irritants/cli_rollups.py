"""flask rollups rebuild | fold: the directors' rollups and the list totals' tally.

The database triggers keep them exact as the app writes; `rebuild` recounts them
from the rows after a change made with the triggers off (a bulk load, a restore of
some tables), `fold` does now what the SLA sweep does every minute.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

rollups_cli = AppGroup("rollups", help="The directors' rollups and the list totals' tally.")


def register_rollups(app: Flask) -> None:
    """Register `flask rollups`."""
    app.cli.add_command(rollups_cli)


@rollups_cli.command("rebuild")
def rollups_rebuild() -> None:
    """Count the tally and the rollups again from the irritants and gap items."""
    from irritants.extensions import db
    from irritants.services import gap_rollup, locality_rollup, tally

    with db.engine.begin() as connection:
        tally.rebuild(connection)
        locality_rollup.rebuild(connection)
        gap_rollup.rebuild(connection)
    if db.engine.dialect.name == "postgresql":
        click.echo("Rebuilt the irritant tally, the locality rollup and the gap rollup.")
    else:
        click.echo("Rebuilt the irritant tally (SQLite keeps no directors' rollups: its "
                   "pages count the rows).")


@rollups_cli.command("fold")
def rollups_fold() -> None:
    """Fold the rows the triggers appended (the SLA sweep does it every minute)."""
    from irritants.services import gap_rollup, locality_rollup, tally

    folded = tally.compact() + locality_rollup.fold() + gap_rollup.fold()
    click.echo(f"Folded {folded} rows.")
