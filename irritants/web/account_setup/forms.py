"""The set-password form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SubmitField
from wtforms.validators import EqualTo, InputRequired

from irritants.services.accounts import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from irritants.web.validators import AtMostCharacters


class SetPasswordForm(FlaskForm):
    """The new password, twice."""

    password = PasswordField(
        _l("New password"),
        validators=[InputRequired(_l("Enter a new password.")), AtMostCharacters(1024)],
        description=_l(
            "%(min)d to %(max)d characters. A short sentence is easy to remember and hard "
            "to guess.", min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH),
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[InputRequired(_l("Type the new password again.")),
                    EqualTo("password", _l("The two passwords are different."))],
    )
    submit = SubmitField(_l("Save my password"))
