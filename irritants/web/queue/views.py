"""The queue: a unit and its descendants, overdue first, then by due time."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_babel import pgettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from irritants.models import utcnow
from irritants.services import access, intake, queues
from irritants.services.errors import InvalidInput, NotFound
from irritants.web.decorators import SIGNED_IN, role_required
from irritants.web.intake.forms import SEVERITY_CHOICES
from irritants.web.irritant.forms import TakeForm
from irritants.web.irritant.support import as_choices, language, unit_key
from irritants.web.queue import bp
from irritants.web.queue.forms import QueueFilterForm
from irritants.web.queue.rows import QueueText, queue_rows
from irritants.web.unit_select import unit_name_in

PER_PAGE = 50


def _filter_form() -> QueueFilterForm:
    form = QueueFilterForm(request.args)
    form.unit.fill_units()
    # "Any" agrees with its noun in French: "Toutes" for Catégorie and Gravité (feminine).
    any_feminine = pgettext("any category or severity", "Any")
    form.category.choices = as_choices(intake.categories_by_use(None, language()),
                                       blank=any_feminine)
    form.severity.choices = [SelectChoice("", any_feminine), *SEVERITY_CHOICES]
    form.origin.fill_units(blank=_("Anywhere"))
    if not form.unit.data:
        form.unit.data = unit_key(current_user.unit_id)
    for name in ("status", "category", "severity", "origin"):
        if getattr(form, name).data is None:
            getattr(form, name).data = ""
    return form


def _filters(form: QueueFilterForm) -> queues.IrritantFilters:
    state = form.status.data or None
    return queues.IrritantFilters(
        status=state if state in ("open", "in_progress") else None,
        overdue=True if state == "overdue" else None,
        category=form.category.data or None,
        severity=form.severity.data or None,
        origin_unit=form.origin.data or None,
    )


@bp.get("")
@role_required(*SIGNED_IN)
def index():
    """The queue of a unit and its descendants, with counts per state."""
    form = _filter_form()
    unit = form.unit.data
    if not unit or not access.may_view_queue(current_user, unit):
        abort(404)
    page = request.args.get("page", 1, type=int) or 1
    # The unit's name among the choices, without its indent (the page's title).
    title = unit_name_in(form.unit.choices, unit) or ""
    context: dict[str, Any] = {"form": form, "unit_name": title}
    status = 200
    if form.validate():
        try:
            filters = _filters(form)
            counts = queues.queue_counts(unit, actor=current_user, include_descendants=True)
            context["result"] = queues.queue_for(
                unit, actor=current_user, filters=filters, page=max(page, 1),
                per_page=PER_PAGE, include_descendants=True,
                # Without filters the total is what the counts already say.
                total=(counts["open"] + counts["in_progress"]
                       if filters == queues.IrritantFilters() else None),
            )
            context["counts"] = counts
        except NotFound:
            abort(404)
        except InvalidInput as error:
            form.form_errors.extend(m for ms in error.field_errors.values() for m in ms)
            status = 422
    else:
        status = 422
    if "result" in context:
        text = QueueText.translated()
        context.update(
            text=text,
            rows=queue_rows(context["result"].items, actor=current_user._get_current_object(),
                            now=utcnow(), text=text),
            # Every Take form carries the same CSRF field: rendered once for the page.
            take_csrf=TakeForm(formdata=None).hidden_tag(),
        )
    return render_template("queue/index.html", **context), status
