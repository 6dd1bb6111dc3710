"""Forms of the irritant page: take, comment, resolve, escalate, reassign, photo."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from irritants.web.admin.forms import LocalDecimalField
from irritants.web.unit_select import UnitSelectField
from irritants.web.validators import AtMostCharacters

TEXT_MAX = 10_000
OTHER_ROOT_CAUSE = "other"


def _length() -> AtMostCharacters:
    return AtMostCharacters(TEXT_MAX)


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes: easier on a touch screen than a multiple select."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TakeForm(FlaskForm):
    """Take an irritant: the CSRF token is the whole form."""


class CommentForm(FlaskForm):
    """Add a comment to the timeline."""

    text = TextAreaField(
        _l("Comment"), validators=[DataRequired(_l("Write a comment.")), _length()]
    )


class ResolveForm(FlaskForm):
    """Resolve with a resolution and a root cause from the category's list."""

    resolution = TextAreaField(
        _l("Resolution"),
        validators=[DataRequired(_l("Say how it was resolved.")), _length()],
    )
    root_cause = SelectField(
        _l("Root cause"), choices=[], validators=[DataRequired(_l("Choose a root cause."))]
    )
    root_cause_detail = TextAreaField(
        _l("Root cause, in your words (when \"Other\")"), validators=[_length()]
    )

    def validate_root_cause_detail(self, field: TextAreaField) -> None:
        """"Other" needs a few words: the list alone says nothing."""
        if self.root_cause.data == OTHER_ROOT_CAUSE and not (field.data or "").strip():
            raise ValidationError(_l("Say what the root cause was."))


class EscalateForm(FlaskForm):
    """Escalate, saying what the team lacks; the irritant is routed again."""

    reason = TextAreaField(
        _l("Why can't your team resolve it?"),
        validators=[DataRequired(_l("Give a reason.")), _length()],
    )
    tools = MultiCheckboxField(_l("Tools the team lacks"), choices=[])
    competencies = MultiCheckboxField(_l("Skills the team lacks"), choices=[])
    authority = SelectField(_l("Authority the team lacks"), choices=[])
    authority_amount = LocalDecimalField(
        _l("Amount needed (€)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, message=_l("The amount cannot be negative."))],
    )

    def validate_authority_amount(self, field: DecimalField) -> None:
        """An amount means nothing without the authority it is for."""
        if field.data is not None and not self.authority.data:
            raise ValidationError(_l("Choose the authority this amount is for."))

    def needs(self) -> dict[str, object]:
        """What the team lacks, in the service's words (empty parts left out)."""
        needs: dict[str, object] = {}
        if self.tools.data:
            needs["tools"] = list(self.tools.data)
        if self.competencies.data:
            needs["competencies"] = list(self.competencies.data)
        if self.authority.data:
            amount = self.authority_amount.data
            needs["authorities"] = {self.authority.data: amount if amount is not None else 0}
        return needs


class ReassignForm(FlaskForm):
    """Assign by hand to any unit, with a reason."""

    unit = UnitSelectField(_l("Team"), choices=[], unit_set="open",
                           validators=[DataRequired(_l("Choose a team."))])
    # Its own id: the escalation's reason shares the page (and its label would point there).
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(_l("Give a reason.")), _length()],
        id="reassign-reason",
    )


class PhotoForm(FlaskForm):
    """Add a photo (checked by content by the service)."""

    photo = FileField(_l("Photo"), validators=[FileRequired(_l("Choose a photo."))])
