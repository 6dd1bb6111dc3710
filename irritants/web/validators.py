"""Form validators whose messages write numbers as the reader's language does."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from wtforms.validators import Length, ValidationError

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
