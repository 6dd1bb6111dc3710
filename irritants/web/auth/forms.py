"""Forms of the sign-in and account pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import AnyOf, EqualTo, InputRequired

from irritants.services.accounts import LOCALES, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from irritants.web.validators import AtMostCharacters, Required

# Long enough for any password the policy accepts, short enough to bound the work.
_TYPED_PASSWORD = AtMostCharacters(1024)


class LoginForm(FlaskForm):
    """Email and password."""

    email = StringField(
        _l("Email address"),
        validators=[InputRequired(_l("Enter your email address.")), AtMostCharacters(254)],
    )
    password = PasswordField(
        _l("Password"), validators=[InputRequired(_l("Enter your password.")), _TYPED_PASSWORD]
    )
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class ChangePasswordForm(FlaskForm):
    """The current password, then the new one twice."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(_l("Enter your current password.")), _TYPED_PASSWORD],
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[InputRequired(_l("Enter a new password.")), _TYPED_PASSWORD],
        description=_l(
            "%(min)d to %(max)d characters. A short sentence is easy to remember and hard "
            "to guess.",
            min=PASSWORD_MIN_LENGTH,
            max=PASSWORD_MAX_LENGTH,
        ),
    )
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[
            InputRequired(_l("Type the new password again.")),
            EqualTo("new_password", _l("The two new passwords are different.")),
        ],
    )
    submit = SubmitField(_l("Change my password"))


class LanguageForm(FlaskForm):
    """The language of the pages; the value comes from the button pressed."""

    lang = StringField(validators=[Required(), AnyOf(LOCALES)])
    next = HiddenField()
