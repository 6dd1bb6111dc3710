"""Forms of the intake pages: log an irritant, add an occurrence."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from irritants.web.admin.forms import LocalDecimalField
from irritants.web.unit_select import UnitSelectField
from irritants.web.validators import AtMostCharacters

SEVERITY_CHOICES = [
    SelectChoice("low", _l("Low")),
    SelectChoice("medium", _l("Medium")),
    SelectChoice("high", _l("High")),
    SelectChoice("critical", _l("Critical")),
]
SEVERITY_NAMES = {choice.value: choice.label for choice in SEVERITY_CHOICES}
CHANNEL_CHOICES = [
    SelectChoice("", _l("Not specified")),
    SelectChoice("store", _l("In store")),
    SelectChoice("phone", _l("Phone")),
    SelectChoice("email", _l("Email")),
    SelectChoice("chat", _l("Chat")),
    SelectChoice("app", _l("Mobile app")),
    SelectChoice("web", _l("Website")),
    SelectChoice("social", _l("Social media")),
    SelectChoice("other", _l("Other")),
]
CHANNEL_LABELS = {choice.value: choice.label for choice in CHANNEL_CHOICES}
DESCRIPTION_MAX = 10_000


class IntakeForm(FlaskForm):
    """Log an irritant: the essentials first, the rest behind "More details"."""

    category = SelectField(
        _l("Category"), validators=[InputRequired(_l("Choose a category."))], choices=[]
    )
    severity = RadioField(
        _l("Severity"),
        choices=SEVERITY_CHOICES,
        default="medium",
        validators=[InputRequired(_l("Choose a severity."))],
    )
    description = TextAreaField(
        _l("What happened?"),
        validators=[
            DataRequired(_l("Describe what happened.")),
            AtMostCharacters(DESCRIPTION_MAX),
        ],
    )
    amount = LocalDecimalField(
        _l("Amount (€)"),
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0, message=_l("The amount cannot be negative.")),
        ],
    )
    customer_ref = StringField(
        _l("Customer reference"),
        validators=[Optional(), AtMostCharacters(100)],
    )
    channel = SelectField(_l("Channel"), choices=CHANNEL_CHOICES, default="")
    origin_unit = UnitSelectField(_l("Where it happened"), choices=[], unit_set="open")
    photo = FileField(_l("Photo"))


class OccurrenceForm(FlaskForm):
    """It happened again: one more occurrence of an open irritant."""

    customer_ref = StringField(
        _l("Customer reference"),
        validators=[Optional(), AtMostCharacters(100)],
    )
