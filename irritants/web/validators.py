"""Form validators saying the app's own messages, numbers written as the reader's language
writes them (WTForms' own messages come from its catalogue, worded otherwise)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms.validators import InputRequired, Length, ValidationError

from irritants.services.messages import number


class AtMostCharacters(Length):
    """Length(max=n) saying "At most 10 000 characters." in French, "At most 10,000
    characters." in English (WTForms' own message would write 10000). Keeps Length's
    maxlength attribute on the input."""

    def __init__(self, most: int) -> None:
        super().__init__(max=most)

    def __call__(self, form: Any, field: Any) -> None:
        if len(field.data or "") > self.max:
            raise ValidationError(gettext("At most %(max)s characters.",
                                          max=number(self.max)))


class Required(InputRequired):
    """InputRequired saying the app's own "This field is required." (« Ce champ est
    obligatoire. », as the services say it) unless given a message: WTForms' own reads « Ce
    champ est requis. » in French."""

    def __init__(self, message: Any = None) -> None:
        super().__init__(message if message is not None else _l("This field is required."))
