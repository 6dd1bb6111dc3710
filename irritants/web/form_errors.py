"""Showing a service's InvalidInput beside the fields of a page's form."""

from __future__ import annotations

from typing import Any

from flask import flash


def show_field_errors(form: Any, field_errors: dict[str, list[str]]) -> None:
    """Put each message beside its field; messages for fields the form lacks are flashed."""
    for name, messages in field_errors.items():
        field = getattr(form, name.split(".")[0], None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *messages]
        else:
            for message in messages:
                flash(message, "error")
