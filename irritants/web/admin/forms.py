"""Forms of the admin pages; the services validate against the org, the forms the shapes.

Their unit fields offer every open unit (UnitSelectField, unit_set="open"; the view fills
them) but leave the choice to the services (validate_choice=False), whose messages say why a
unit is refused: unknown, closed, a cycle, the root moved.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DecimalField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from irritants.models import ROLES, SEVERITIES
from irritants.web.navigation import role_label
from irritants.web.unit_select import UnitSelectField
from irritants.web.validators import AtMostCharacters, Required

KEY_HELP = _l("Lowercase letters, digits, '-' and '_'. It cannot be changed later.")


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes; unknown values reach the service, which names them."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("validate_choice", False)
        super().__init__(*args, **kwargs)


class LocalDecimalField(DecimalField):
    """A decimal that also accepts the decimal comma and spaces French users type.

    Shown as a text box (give it inputmode="decimal" for the numeric keyboard): a browser
    drops the "," typed into <input type="number">, so "49,90" would arrive as 4990.
    """

    widget = TextInput()

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist:
            valuelist = [_normalised_number(value) for value in valuelist]
        super().process_formdata(valuelist)


def _normalised_number(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    for space in ("\u202f", "\xa0", " "):
        value = value.replace(space, "")
    return value.replace(",", ".")


class SearchForm(FlaskForm):
    """A search box (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search by key or name"), validators=[Optional(), AtMostCharacters(200)])


class UserSearchForm(SearchForm):
    """The users' search box: a user has no key, they are found by email or name."""

    q = StringField(_l("Search by email or name"), validators=[Optional(), AtMostCharacters(200)])


class NewUnitForm(FlaskForm):
    """Key, name and parent of a new unit."""

    key = StringField(_l("Key"), validators=[Required(), AtMostCharacters(100)],
                      description=KEY_HELP)
    name = StringField(_l("Name"), validators=[Required(), AtMostCharacters(200)])
    parent = UnitSelectField(_l("Parent unit"), validators=[Required()], choices=[],
                             unit_set="open", validate_choice=False)
    submit = SubmitField(_l("Create the unit"))


class UnitForm(FlaskForm):
    """A unit's name and parent (a new parent moves the whole subtree)."""

    name = StringField(_l("Name"), validators=[Required(), AtMostCharacters(200)])
    parent = UnitSelectField(
        _l("Parent unit"), validators=[Optional()], choices=[], unit_set="open",
        validate_choice=False,
        description=_l("Changing it moves the unit with all its sub-units."))
    submit = SubmitField(_l("Save"))


class CapabilitiesForm(FlaskForm):
    """Competencies, tools and authorities chosen from the org's vocabularies."""

    competencies = CheckboxesField(_l("Competencies"))
    tools = CheckboxesField(_l("Tools"))
    authorities = CheckboxesField(
        _l("Authorities"),
        description=_l("Tick the authorities the unit holds; an empty limit means unlimited."))
    # Its own id: the unit form's submit button shares the page.
    submit = SubmitField(_l("Save the capabilities"), id="save-capabilities")


def parse_limit(text: str | None) -> Decimal | None:
    """A limit typed in a form: empty means unlimited; a decimal comma is accepted."""
    text = _normalised_number((text or "").strip())
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


class ActionForm(FlaskForm):
    """A button that posts (close, reopen, deactivate...) with its CSRF token."""

    submit = SubmitField()


class VocabularyForm(FlaskForm):
    """A new competency, authority or tool."""

    kind = SelectField(_l("Kind"), choices=[
        SelectChoice("competency", _l("Competency")), SelectChoice("authority", _l("Authority")),
        SelectChoice("tool", _l("Tool"))])
    key = StringField(_l("Key"), validators=[Required(), AtMostCharacters(100)],
                      description=KEY_HELP)
    label_fr = StringField(_l("French label"), validators=[Required(), AtMostCharacters(200)])
    label_en = StringField(_l("English label"), validators=[Required(), AtMostCharacters(200)])
    submit = SubmitField(_l("Add to the vocabulary"))


class RelabelForm(FlaskForm):
    """New labels of a vocabulary item."""

    label_fr = StringField(_l("French label"), validators=[Required(), AtMostCharacters(200)])
    label_en = StringField(_l("English label"), validators=[Required(), AtMostCharacters(200)])
    submit = SubmitField(_l("Save the labels"))


SEVERITY_LABELS = {
    "low": _l("SLA hours, low"),
    "medium": _l("SLA hours, medium"),
    "high": _l("SLA hours, high"),
    "critical": _l("SLA hours, critical"),
}
_HOURS = [Optional()]  # the service checks 0 < hours <= ten years


class CategoryForm(FlaskForm):
    """Labels, requirements, SLA hours and root causes of a category."""

    key = StringField(_l("Key"), validators=[Optional(), AtMostCharacters(100)],
                      description=KEY_HELP)
    label_fr = StringField(_l("French label"), validators=[Required(), AtMostCharacters(200)])
    label_en = StringField(_l("English label"), validators=[Required(), AtMostCharacters(200)])
    competency = SelectField(_l("Competency"), validate_choice=False)
    authority = SelectField(_l("Authority"), validate_choice=False,
                            description=_l("The amount of an irritant is asked of this "
                                           "authority."))
    tools = CheckboxesField(_l("Tools"))
    sla_low = LocalDecimalField(SEVERITY_LABELS["low"], validators=_HOURS, places=None)
    sla_medium = LocalDecimalField(SEVERITY_LABELS["medium"], validators=_HOURS, places=None)
    sla_high = LocalDecimalField(SEVERITY_LABELS["high"], validators=_HOURS, places=None)
    sla_critical = LocalDecimalField(SEVERITY_LABELS["critical"], validators=_HOURS, places=None)
    root_causes = TextAreaField(
        _l("Root causes"), validators=[Required(), AtMostCharacters(20_000)],
        description=_l("One per line: key | French label | English label."),
        render_kw={"rows": 8})
    active = BooleanField(_l("Active (offered when logging an irritant)"))
    submit = SubmitField(_l("Save the category"))

    def sla_hours(self) -> dict[str, Any]:
        """severity -> hours, the empty ones left out (routing.md's defaults apply)."""
        return {severity: getattr(self, f"sla_{severity}").data for severity in SEVERITIES
                if getattr(self, f"sla_{severity}").data is not None}

    def parsed_root_causes(self) -> list[dict[str, str]] | None:
        """The root-cause lines as dicts; None (and an error on the field) when malformed."""
        causes = []
        for number, line in enumerate((self.root_causes.data or "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split("|")]
            if len(parts) not in (2, 3):
                self.root_causes.errors = [*self.root_causes.errors, _l(
                    "Line %(number)d: write key | French label | English label.",
                    number=number)]
                return None
            causes.append({"key": parts[0], "fr": parts[1],
                           "en": parts[2] if len(parts) == 3 else parts[1]})
        return causes


def root_causes_text(causes: list[dict[str, str]]) -> str:
    """The root causes as the form's lines."""
    return "\n".join(f"{c['key']} | {c.get('fr', '')} | {c.get('en', '')}" for c in causes)


def role_choices() -> list[SelectChoice]:
    """Every role with its label."""
    return [SelectChoice(role, role_label(role)) for role in ROLES]


def vocabulary_choices(items: list[Any], language: str) -> list[SelectChoice]:
    """Vocabulary items as choices labelled in the visitor's language."""
    return [SelectChoice(item.key, item.label(language)) for item in items]


class InviteForm(FlaskForm):
    """Who to invite, with which role and unit."""

    email = StringField(_l("Email address"), validators=[Required(), AtMostCharacters(254)])
    name = StringField(_l("Name"), validators=[Required(), AtMostCharacters(200)])
    role = SelectField(_l("Role"), validate_choice=False)
    unit = UnitSelectField(_l("Unit"), validators=[Required()], choices=[], unit_set="open",
                           validate_choice=False)
    locale = SelectField(_l("Language"), choices=[
        SelectChoice("fr", "Français"), SelectChoice("en", "English")])
    submit = SubmitField(_l("Invite"))


class UserForm(FlaskForm):
    """A user's role and unit."""

    role = SelectField(_l("Role"), validate_choice=False)
    unit = UnitSelectField(_l("Unit"), validators=[Required()], choices=[], unit_set="open",
                           validate_choice=False)
    submit = SubmitField(_l("Save"))


class ImportForm(FlaskForm):
    """An organisation file in routing.md's import format."""

    file = FileField(_l("Organisation file (JSON)"),
                     validators=[FileRequired(_l("Choose a JSON file."))])
    submit = SubmitField(_l("Import"))
