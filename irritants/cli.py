"""Command line: flask org import/export, flask demo load/accounts (flask sla sweep joins them).

Commands parse their arguments, call one service and print its result; a
refusal goes to standard error with a non-zero exit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from irritants.services.errors import InvalidInput

org_cli = AppGroup("org", help="Import and export the organisation (routing.md's format).")
demo_cli = AppGroup("demo", help="The demo organisation and its history.")


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(org_cli)
    app.cli.add_command(demo_cli)
    from irritants.cli_rollups import register_rollups
    from irritants.cli_sla import register_sla

    register_sla(app)
    register_rollups(app)


# -- org ----------------------------------------------------------------------------


@org_cli.command("import")
@click.argument("file", type=click.File("rb"))
def org_import(file: IO[bytes]) -> None:
    """Merge FILE.json into the organisation; refused whole when it is broken."""
    from irritants.services.org_admin import import_org

    data = read_json(file)
    try:
        report = import_org(data)
    except InvalidInput as refused:
        raise click.ClickException(refusal_message(file.name, refused)) from refused
    click.echo(report.summary())


@org_cli.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write to this file instead of standard output.")
def org_export(output: Path | None) -> None:
    """Write the organisation in the import format (without passwords)."""
    from irritants.services.org_admin import export_org

    text = json.dumps(export_org(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Organisation written to {output}.", err=True)


def read_json(file: IO[bytes]) -> Any:
    """The JSON document of an open file; a ClickException naming the problem otherwise."""
    try:
        return json.loads(file.read(), object_pairs_hook=_refuse_duplicate_keys)
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{file.name} is not UTF-8 text: {error}") from error
    except json.JSONDecodeError as error:
        raise click.ClickException(
            f"{file.name} is not valid JSON: {error.msg} at line {error.lineno}, "
            f"column {error.colno}"
        ) from error
    except _DuplicateKeyError as error:
        raise click.ClickException(f"{file.name}: {error}") from error


class _DuplicateKeyError(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads silently keeps the last of two equal keys: a file that says
    # {"refund": 100, "refund": 500} is ambiguous, so it is refused.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(f"key {key!r} appears twice in the same JSON object")
        result[key] = value
    return result


def refusal_message(name: str, refused: InvalidInput) -> str:
    """Every problem of a refused file, one per line."""
    problems = [
        f"  {path or '(file)'}: {message}"
        for path, messages in refused.field_errors.items()
        for message in messages
    ]
    return "\n".join([
        f"{name} refused, nothing was written ({len(problems)} problem"
        f"{'s' if len(problems) > 1 else ''}):",
        *problems,
    ])


# -- demo ---------------------------------------------------------------------------


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True,
              help="Do nothing when the database already has an organisation.")
@click.option("--seed", type=int, default=7, show_default=True,
              help="Seed of the generated history (the same seed gives the same history).")
def demo_load(if_empty: bool, seed: int) -> None:
    """Load the demo organisation and, into an empty history, 90 days of demo irritants."""
    from irritants.seed.demo import load_demo, organisation_is_empty

    if if_empty and not organisation_is_empty():
        click.echo("The database already has an organisation: demo not loaded.")
        return
    try:
        report = load_demo(seed=seed)
    except InvalidInput as refused:
        raise click.ClickException(refusal_message("demo organisation", refused)) from refused
    click.echo(report.summary())


@demo_cli.command("accounts")
@click.option("--all", "show_all", is_flag=True, help="Every demo account, not one per role.")
def demo_accounts(show_all: bool) -> None:
    """Print where to sign in and the demo accounts with their passwords."""
    from irritants.seed.demo import demo_accounts as accounts

    rows = accounts(one_per_role=not show_all)
    click.echo(f"Irritants: {base_url()}  (demo accounts, sign in with one of these)")
    headers = ("role", "email", "password", "unit")
    table = [headers, *[(a["role"], a["email"], a["password"], a["unit"]) for a in rows]]
    widths = [max(len(row[column]) for row in table) for column in range(len(headers))]
    for number, row in enumerate(table):
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                   .rstrip())
        if number == 0:
            click.echo("  ".join("-" * width for width in widths))


def base_url() -> str:
    """Where the app is served: PORT (make run) or SERVER_BASE_URL."""
    port = os.environ.get("PORT")
    if port:
        return f"http://127.0.0.1:{port}"
    return str(current_app.config.get("SERVER_BASE_URL") or "http://127.0.0.1:5000")
