"""The queue's filters (a GET form: no CSRF, nothing changes)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from irritants.web.unit_select import UnitSelectField

STATE_CHOICES = [
    SelectChoice("", _l("Any")),
    SelectChoice("open", _l("Open")),
    SelectChoice("in_progress", _l("In progress")),
    SelectChoice("overdue", _l("Overdue")),
]


class QueueFilterForm(FlaskForm):
    """Which unit's queue (with its descendants), and the filters."""

    class Meta:
        csrf = False

    unit = UnitSelectField(_l("Team"), choices=[], unit_set="queue")
    status = SelectField(_l("State"), choices=STATE_CHOICES, default="")
    category = SelectField(_l("Category"), choices=[], default="")
    severity = SelectField(_l("Severity"), choices=[], default="")
    origin = UnitSelectField(_l("Where it happened"), choices=[], default="", unit_set="open")
