"""Forms of the directors' pages: GET filters (no CSRF) and the grant and what-if forms."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, NumberRange, Optional

from irritants.web.admin.forms import CheckboxesField, LocalDecimalField
from irritants.web.unit_select import UnitSelectField
from irritants.web.validators import AtMostCharacters

GROUP_CHOICES = [
    SelectChoice("root_cause", _l("Root cause")),
    SelectChoice("category", _l("Category")),
    SelectChoice("origin", _l("Where it happened")),
    SelectChoice("assignee", _l("Assigned team")),
]
BUCKET_CHOICES = [
    SelectChoice("day", _l("Day")),
    SelectChoice("week", _l("Week")),
    SelectChoice("month", _l("Month")),
]
KIND_CHOICES = [
    SelectChoice("", _l("Everything")),
    SelectChoice("tool", _l("Tools")),
    SelectChoice("authority", _l("Authorities")),
    SelectChoice("competency", _l("Competencies")),
]
STATUS_CHOICES = [
    SelectChoice("", _l("Any")),
    SelectChoice("unresolved", _l("Not resolved")),
    SelectChoice("open", _l("Open")),
    SelectChoice("in_progress", _l("In progress")),
    SelectChoice("resolved", _l("Resolved")),
]


class FilterForm(FlaskForm):
    """The period, the subtree and the drill-down filters of a page (GET, no CSRF).

    The teams offered are those the user may read (a lead's subtree, else every open team).
    The subtree is checked by the services (an unknown key, one outside a lead's subtree);
    the gap ledger's team, which the services would only find no line for, by the field.
    """

    class Meta:
        csrf = False

    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To (included)"), validators=[Optional()])
    subtree = UnitSelectField(_l("Team and its sub-units"), choices=[], unit_set="queue",
                              validate_choice=False)
    group_by = SelectField(_l("Group by"), choices=GROUP_CHOICES, default="root_cause")
    bucket = SelectField(_l("Time step"), choices=BUCKET_CHOICES, default="week")
    kind = SelectField(_l("What was lacking"), choices=KIND_CHOICES, default="")
    unit = UnitSelectField(_l("Team"), choices=[], default="", unit_set="queue",
                           invalid_choice_message=_l("Choose one of the teams offered."))
    status = SelectField(_l("State"), choices=STATUS_CHOICES, default="")
    category = HiddenField()
    root_cause = HiddenField()
    origin = HiddenField()
    assignee = HiddenField()
    overdue = HiddenField()
    unroutable = HiddenField()


class MapForm(FlaskForm):
    """The map's search box (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Find a unit by name or key"),
                    validators=[Optional(), AtMostCharacters(100)])


class GrantForm(FlaskForm):
    """Give a unit tools, competencies or a higher authority limit, saying why.

    Its team is any open one; the service refuses a key it does not know, or a closed unit.
    """

    unit = UnitSelectField(_l("Team"), validators=[DataRequired(_l("Choose a team."))],
                           choices=[], unit_set="open", validate_choice=False)
    tools = CheckboxesField(_l("Tools to give"), choices=[])
    competencies = CheckboxesField(_l("Competencies to give"), choices=[])
    authority = SelectField(_l("Authority to raise"), choices=[], default="")
    limit = LocalDecimalField(_l("New limit (euros)"), places=2,
                              validators=[Optional(), NumberRange(min=0)])
    unlimited = BooleanField(_l("Unlimited"))
    reason = TextAreaField(_l("Why"), validators=[DataRequired(_l("Say why: this field is "
                                                                  "required.")),
                                                  AtMostCharacters(2000)],
                           description=_l("Kept with the change: who granted what, when and why."))
    submit = SubmitField(_l("Grant"))


class ChangeForm(FlaskForm):
    """One change of a what-if (a sub-form: the outer form carries the CSRF token).

    Its team is any open one (none: the row is ignored); the service names an unknown key.
    """

    class Meta:
        csrf = False

    unit = UnitSelectField(_l("Team"), choices=[], unit_set="open", validate_choice=False)
    tools = CheckboxesField(_l("Give tools"), choices=[])
    competencies = CheckboxesField(_l("Give competencies"), choices=[])
    authority = SelectField(_l("Set an authority limit"), choices=[], default="")
    limit = LocalDecimalField(_l("Limit (euros)"), places=2,
                              validators=[Optional(), NumberRange(min=0)])
    unlimited = BooleanField(_l("Unlimited"))

    def is_empty(self) -> bool:
        """Nothing chosen in this row."""
        return not (self.unit.data or self.tools.data or self.competencies.data
                    or self.authority.data)


class WhatIfForm(FlaskForm):
    """Changes to try and the period to replay."""

    since = DateField(_l("Irritants logged from"), validators=[Optional()])
    until = DateField(_l("To (included)"), validators=[Optional()])
    changes = FieldList(FormField(ChangeForm), min_entries=1, max_entries=10)
    add = SubmitField(_l("Add another change"))
    run = SubmitField(_l("Replay"))


def set_vocabulary_choices(form: Any, vocabulary: dict[str, list[tuple[str, str]]]) -> None:
    """Fill a grant or change form's choices from the org's vocabularies."""
    form.tools.choices = [SelectChoice(key, label) for key, label in vocabulary["tool"]]
    form.competencies.choices = [SelectChoice(key, label)
                                 for key, label in vocabulary["competency"]]
    form.authority.choices = [SelectChoice("", _l("None")),
                              *(SelectChoice(key, label) for key, label in vocabulary["authority"])]
