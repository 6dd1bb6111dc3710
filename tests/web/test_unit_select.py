"""Unit selects rendered from cached choices give exactly WTForms' own select and checks."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from irritants.services import org_edit
from irritants.web.unit_select import UnitChoices, UnitSelectField, unit_select_choices


class PlainForm(FlaskForm):
    class Meta:
        csrf = False

    unit = SelectField("Team", choices=[])


class FastForm(FlaskForm):
    class Meta:
        csrf = False

    unit = UnitSelectField("Team", choices=[])


def both(app: Flask, value: Any, choices: list[SelectChoice]) -> tuple[Any, Any]:
    formdata = None if value is None else MultiDict({"unit": value})
    plain, fast = PlainForm(formdata=formdata), FastForm(formdata=formdata)
    plain.unit.choices = list(choices)
    fast.unit.choices = UnitChoices(list(choices))
    return plain, fast


CHOICES = [SelectChoice("", "Anywhere"), SelectChoice("lille", "\u00a0\u00a0Store <Lille> & co"),
           SelectChoice("north", 'Region "North"'), SelectChoice("x", "")]


@pytest.mark.parametrize("value", [None, "", "lille", "north", "x", "nowhere", "LILLE"])
def test_a_unit_select_renders_and_validates_as_a_plain_select(app, value):
    with app.test_request_context("/"):
        plain, fast = both(app, value, CHOICES)
        assert str(fast.unit(class_="field__input", **{"aria-invalid": "true"})) == str(
            plain.unit(class_="field__input", **{"aria-invalid": "true"}))
        assert fast.validate() == plain.validate()
        assert fast.unit.errors == plain.unit.errors


def test_the_org_s_unit_choices_are_built_once_per_org_version(app, db, org):
    with app.test_request_context("/"):
        first = unit_select_choices(blank="Anywhere")
        assert unit_select_choices(blank="Anywhere") is first
        assert unit_select_choices(blank="Anywhere", within="north") is not first
        assert [choice.value for choice in first][:3] == ["", "hq", "cs"]
        db.session.rollback()
    org_edit.rename_unit("lille", "Store Lille-Centre", actor=None)
    with app.test_request_context("/"):
        again = unit_select_choices(blank="Anywhere")
        assert again is not first
        assert "Store Lille-Centre" in [choice.label.strip("\u00a0") for choice in again]
