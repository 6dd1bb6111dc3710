"""Log an irritant, add an occurrence, list similar open ones and the reporter's own."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from irritants.models import Irritant, utcnow
from irritants.services import intake, queues
from irritants.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from irritants.web.decorators import SIGNED_IN, role_required
from irritants.web.intake import bp
from irritants.web.intake.forms import IntakeForm, OccurrenceForm
from irritants.web.irritant.support import (
    abort_for,
    as_choices,
    language,
    show_field_errors,
    unit_key,
    unit_name,
)
from irritants.web.unit_select import unit_key_of

log = logging.getLogger(__name__)
SIMILAR_SUMMARY_LENGTH = 160
MINE_PER_PAGE = 25


def _fill_choices(form: IntakeForm, origin: str | None) -> None:
    """Categories most used at the origin first (the units are filled before)."""
    form.category.choices = as_choices(
        intake.categories_by_use(origin, language()), blank=_("Choose…")
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(*SIGNED_IN)
def new():
    """The one-page intake form; a logged irritant opens on its own page."""
    form = IntakeForm()
    form.origin_unit.fill_units()
    own = unit_key(current_user.unit_id)
    origin = form.origin_unit.data if request.method == "POST" else own
    _fill_choices(form, origin or own)
    if request.method == "GET":
        form.origin_unit.data = own
    if form.validate_on_submit():
        try:
            irritant = intake.log_irritant(
                current_user,
                category=form.category.data,
                severity=form.severity.data,
                description=form.description.data,
                amount=form.amount.data,
                origin_unit=form.origin_unit.data or None,
                customer_ref=form.customer_ref.data or None,
                channel=form.channel.data or None,
            )
        except InvalidInput as error:
            show_field_errors(form, error.field_errors)
        else:
            _attach_photo(irritant, form.photo.data)
            return redirect(url_for("irritant.show", irritant_id=irritant.id, sent=1), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("intake/new.html", form=form), status


@bp.errorhandler(RequestEntityTooLarge)
def form_too_large(error: RequestEntityTooLarge) -> Any:
    """A photo over MAX_CONTENT_LENGTH: nothing could be read, so nothing was sent; say so
    beside the photo field."""
    if request.endpoint != "intake.new" or not current_user.is_authenticated:
        return error
    form = IntakeForm(formdata=None)
    form.origin_unit.fill_units()
    own = unit_key(current_user.unit_id)
    _fill_choices(form, own)
    form.origin_unit.data = own
    limit = int(current_app.config["PHOTO_MAX_BYTES"]) // 1_000_000
    form.photo.errors = [_("The photo must be at most %(size)d MB.", size=limit)]
    form.form_errors.append(
        _("Nothing was sent: the photo is too large. Choose a smaller photo, or none.")
    )
    return render_template("intake/new.html", form=form), 413


def _attach_photo(irritant: Irritant, photo: FileStorage | None) -> None:
    """After the irritant is safe: a refused photo is reported, the irritant stays."""
    if not isinstance(photo, FileStorage) or not photo.filename:
        return
    limit = int(current_app.config["PHOTO_MAX_BYTES"])
    try:
        intake.attach_photo(
            irritant.id, actor=current_user, data=photo.read(limit + 1), filename=photo.filename
        )
    except InvalidInput as error:
        reasons = " ".join(m for messages in error.field_errors.values() for m in messages)
        flash(_("The irritant was sent, but the photo was not attached: %(reason)s",
                reason=reasons), "error")
    except OSError:
        log.exception("photo of irritant %s not stored", irritant.id)
        flash(_("The irritant was sent, but the photo could not be stored. Try adding it "
                "again below."), "error")


@bp.get("/similar")
@role_required(*SIGNED_IN)
def similar():
    """Open irritants of that category at that origin, for the duplicate hint (JSON)."""
    category = request.args.get("category", "")
    # The form's origin as sent: a key, or what its picker shows ("Store Lille (lille)").
    typed = request.args.get("origin", "")
    origin = unit_key_of(typed) or typed or unit_key(current_user.unit_id) or ""
    found = intake.similar_open_irritants(
        category=category, origin_unit=origin, actor=current_user
    )
    return jsonify(items=[_similar_item(irritant) for irritant in found])


def _similar_item(irritant: Irritant) -> dict[str, object]:
    from irritants.web.filters import datetime_filter, timeago_filter

    description = irritant.description
    if len(description) > SIMILAR_SUMMARY_LENGTH:
        description = description[: SIMILAR_SUMMARY_LENGTH - 1] + "…"
    return {
        "id": irritant.id,
        "description": description,
        "logged": timeago_filter(irritant.created_at),
        "logged_at": datetime_filter(irritant.created_at),
        "occurrences": irritant.occurrences,
        "meta": ngettext(
            "Logged %(when)s · with %(unit)s · happened once",
            "Logged %(when)s · with %(unit)s · happened %(num)d times",
            irritant.occurrences,
            when=timeago_filter(irritant.created_at),
            unit=unit_name(irritant.assignee_id),
        ),
        "assignee": unit_name(irritant.assignee_id),
        "url": url_for("irritant.show", irritant_id=irritant.id),
        "again_url": url_for("intake.again", irritant_id=irritant.id),
    }


@bp.post("/<int:irritant_id>/again")
@role_required(*SIGNED_IN)
def again(irritant_id: int):
    """It happened again: one more occurrence instead of a duplicate."""
    form = OccurrenceForm()
    try:
        queues.get_irritant(irritant_id, actor=current_user)
    except (NotFound, NotAllowed) as error:
        abort_for(error)
    if form.validate_on_submit():
        try:
            irritant = intake.add_occurrence(
                irritant_id, actor=current_user, customer_ref=form.customer_ref.data or None
            )
        except InvalidInput as error:
            show_field_errors(form, error.field_errors)
        except Conflict as error:
            flash(str(error), "error")
            return redirect(url_for("irritant.show", irritant_id=irritant_id), 303)
        except NotFound as error:
            abort_for(error)
        else:
            flash(_("Added to irritant #%(id)s: it has now happened %(count)s times.",
                    id=irritant.id, count=irritant.occurrences), "success")
            return redirect(url_for("irritant.show", irritant_id=irritant_id), 303)
    return render_template("intake/again.html", form=form, irritant_id=irritant_id), 422


@bp.get("/mine")
@role_required(*SIGNED_IN)
def mine():
    """What I logged, newest first: status, current team, due time, resolution."""
    page = request.args.get("page", 1, type=int) or 1
    result = queues.visible_irritants(
        current_user,
        filters=queues.IrritantFilters(reporter_id=current_user.id),
        page=max(page, 1),
        per_page=MINE_PER_PAGE,
    )
    return render_template(
        "intake/mine.html",
        result=result,
        unit_name_of=unit_name,
        category_label=lambda irritant: irritant.category.label(language()),
        now=utcnow(),
    )
