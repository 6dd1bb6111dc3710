"""Marking notifications read: the CSRF token is the whole form (ids come as a list)."""

from __future__ import annotations

from flask_wtf import FlaskForm


class MarkReadForm(FlaskForm):
    """Mark one notification read (`id`), or all of them (no `id`), then go `next`."""
