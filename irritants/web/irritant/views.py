"""One irritant: where it went and why, its timeline, and the actions on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from irritants.models import Irritant, utcnow
from irritants.services import access, escalation, intake, org_edit, queues, resolution
from irritants.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from irritants.web.decorators import SIGNED_IN, role_required
from irritants.web.intake.forms import CHANNEL_LABELS
from irritants.web.irritant import bp
from irritants.web.irritant.forms import (
    CommentForm,
    EscalateForm,
    PhotoForm,
    ReassignForm,
    ResolveForm,
    TakeForm,
)
from irritants.web.irritant.support import (
    abort_for,
    as_choices,
    language,
    show_field_errors,
    unit_key,
    unit_name,
    vocabulary_label,
)
from irritants.web.irritant.timeline import build_timeline, root_cause_label

FORM_CLASSES: dict[str, type[FlaskForm]] = {
    "take_form": TakeForm,
    "comment_form": CommentForm,
    "resolve_form": ResolveForm,
    "escalate_form": EscalateForm,
    "reassign_form": ReassignForm,
    "photo_form": PhotoForm,
}


def _irritant_or_abort(irritant_id: int) -> Irritant:
    try:
        return queues.get_irritant(irritant_id, actor=current_user)
    except (NotFound, NotAllowed) as error:
        return abort_for(error)


def _allowed(irritant: Irritant) -> dict[str, bool]:
    """Which actions this user sees (the service checks again on POST)."""
    user, unresolved = current_user, irritant.status != "resolved"
    return {
        "take": unresolved and access.may_take(user, irritant)
        and not (irritant.status == "in_progress" and irritant.taken_by_id == user.id),
        "comment": access.may_comment(user, irritant),
        "resolve": unresolved and access.may_resolve(user, irritant),
        "escalate": unresolved and access.may_escalate(user, irritant),
        "reassign": unresolved and access.may_reassign(user, irritant),
        "photo": access.may_read(user, irritant),
    }


def _fill_choices(irritant: Irritant, forms: dict[str, FlaskForm], shown: set[str]) -> None:
    """The choices of the forms that are shown (the vocabularies cost a query)."""
    if "resolve_form" in shown:
        _fill_root_causes(irritant, forms["resolve_form"])
    if "escalate_form" in shown:
        _fill_needs(forms["escalate_form"])
    if "reassign_form" in shown:
        forms["reassign_form"].unit.fill_units(blank=_("Choose…"))


def _fill_root_causes(irritant: Irritant, resolve: FlaskForm) -> None:
    causes = [(c["key"], c.get(language()) or c.get("fr") or c["key"])
              for c in irritant.category.root_causes or []]
    resolve.root_cause.choices = as_choices(causes, blank=_("Choose…"))
    if not causes:  # a category without a list: nothing to choose from, nothing required
        resolve.root_cause.validators = []
        resolve.root_cause.flags.required = False


def _fill_needs(escalate: FlaskForm) -> None:
    vocabularies = org_edit.vocabularies()
    escalate.tools.choices = as_choices(
        (i.key, vocabulary_label(i)) for i in vocabularies["tool"]
    )
    escalate.competencies.choices = as_choices(
        (i.key, vocabulary_label(i)) for i in vocabularies["competency"]
    )
    escalate.authority.choices = as_choices(
        ((i.key, vocabulary_label(i)) for i in vocabularies["authority"]), blank=_("None")
    )


def _forms(**given: FlaskForm) -> dict[str, FlaskForm]:
    """Every action form: the submitted one as given, the others empty."""
    return {name: given.get(name) or cls(formdata=None) for name, cls in FORM_CLASSES.items()}


def _render(irritant: Irritant, status: int = 200, **given: FlaskForm) -> Any:
    forms = _forms(**given)
    allowed = _allowed(irritant)
    _fill_choices(irritant, forms, {f"{name}_form" for name, shown in allowed.items() if shown})
    sent = request.args.get("sent") == "1" and irritant.reporter_id == current_user.id
    events = queues.events_of(irritant.id)
    routings = [event for event in events if event.type in ("routed", "sla_escalated",
                                                            "reassigned")]
    context = {
        "irritant": irritant,
        "allowed": allowed,
        "timeline": build_timeline(events, irritant.category),
        "why": queues.explain_routing(routings[-1]) if routings else [],
        "photos": intake.attachments_of(irritant.id),
        "sent": sent,
        "also_open": _also_open(irritant) if sent else [],
        "assignee_name": unit_name(irritant.assignee_id),
        "origin_name": unit_name(irritant.origin_unit_id),
        "category_label": irritant.category.label(language()),
        "channel_label": CHANNEL_LABELS.get(irritant.channel or "", irritant.channel),
        "root_cause": root_cause_label(irritant.category, irritant.root_cause),
        "now": utcnow(),
        **forms,
    }
    return render_template("irritant/show.html", **context), status


def _also_open(irritant: Irritant) -> list[Irritant]:
    """Open irritants like this one at its origin: the duplicate hint of pages without JS."""
    found = intake.similar_open_irritants(
        category=irritant.category.key, origin_unit=unit_key(irritant.origin_unit_id) or "",
        actor=current_user,
    )
    return [other for other in found if other.id != irritant.id]


@bp.get("/<int:irritant_id>")
@role_required(*SIGNED_IN)
def show(irritant_id: int):
    """The irritant page."""
    return _render(_irritant_or_abort(irritant_id))


PREDICATES: dict[str, Callable[[Any, Irritant], bool]] = {
    "take": access.may_take,
    "comment": access.may_comment,
    "resolve": access.may_resolve,
    "escalate": access.may_escalate,
    "reassign": access.may_reassign,
}


def _act(irritant_id: int, form_name: str, operation: str,
         action: Callable[[Any], Any], done: Callable[[Any], str]) -> Any:
    """Check, validate, call one service, then redirect (or re-render with the errors)."""
    irritant = _irritant_or_abort(irritant_id)
    if not PREDICATES[operation](current_user, irritant):
        abort(404)  # outside the actor's scope for this action: as if it did not exist (api.md)
    form = FORM_CLASSES[form_name]()
    _fill_choices(irritant, {**_forms(), form_name: form}, {form_name})
    if form.validate_on_submit():
        try:
            result = action(form)
        except InvalidInput as error:
            show_field_errors(form, error.field_errors)
        except (NotFound, NotAllowed) as error:
            abort_for(error)
        except Conflict as error:
            flash(str(error) or _("Someone else changed this irritant."), "error")
            return redirect(url_for("irritant.show", irritant_id=irritant_id), 303)
        else:
            flash(done(result), "success")
            return redirect(url_for("irritant.show", irritant_id=irritant_id), 303)
    return _render(irritant, 422, **{form_name: form})


@bp.post("/<int:irritant_id>/take")
@role_required("agent", "lead")
def take(irritant_id: int):
    """Take it: in progress, with me working on it."""
    return _act(irritant_id, "take_form", "take",
                lambda form: resolution.take_irritant(irritant_id, actor=current_user),
                lambda result: _("You took this irritant."))


@bp.post("/<int:irritant_id>/comment")
@role_required("agent", "lead", "director")
def comment(irritant_id: int):
    """Add a comment to the timeline."""
    return _act(irritant_id, "comment_form", "comment",
                lambda form: resolution.comment_on(irritant_id, actor=current_user,
                                                   text=form.text.data),
                lambda result: _("Comment added."))


@bp.post("/<int:irritant_id>/resolve")
@role_required("agent", "lead", "director")
def resolve(irritant_id: int):
    """Resolve with a resolution and a root cause ("other" needs words)."""
    return _act(irritant_id, "resolve_form", "resolve",
                lambda form: resolution.resolve_irritant(
                    irritant_id, actor=current_user, resolution=form.resolution.data,
                    root_cause=form.root_cause.data or None,
                    root_cause_detail=form.root_cause_detail.data or None,
                    require_root_cause=len(form.root_cause.choices) > 1),
                lambda result: _("Resolved. The person who logged it is told."))


@bp.post("/<int:irritant_id>/escalate")
@role_required("lead", "director")
def escalate(irritant_id: int):
    """Escalate, saying what the team lacks: routed again without this team."""
    return _act(irritant_id, "escalate_form", "escalate",
                lambda form: escalation.escalate_irritant(
                    irritant_id, actor=current_user, reason=form.reason.data,
                    needs=form.needs()),
                lambda result: _("Escalated: now with %(unit)s.",
                                 unit=unit_name(result.assignee_id)))


@bp.post("/<int:irritant_id>/reassign")
@role_required("lead", "director")
def reassign(irritant_id: int):
    """Assign by hand to any unit, with a reason."""
    return _act(irritant_id, "reassign_form", "reassign",
                lambda form: escalation.reassign_irritant(
                    irritant_id, actor=current_user, unit=form.unit.data,
                    reason=form.reason.data),
                lambda result: _("Reassigned to %(unit)s.",
                                 unit=unit_name(result.assignee_id)))


@bp.post("/<int:irritant_id>/photo")
@role_required(*SIGNED_IN)
def add_photo(irritant_id: int):
    """Add a photo; its content is checked, not its name."""
    irritant = _irritant_or_abort(irritant_id)
    form = PhotoForm()
    if form.validate_on_submit():
        photo: FileStorage = form.photo.data
        limit = int(current_app.config["PHOTO_MAX_BYTES"])
        try:
            intake.attach_photo(irritant_id, actor=current_user,
                                data=photo.read(limit + 1), filename=photo.filename or "")
        except InvalidInput as error:
            show_field_errors(form, error.field_errors)
        except (NotFound, NotAllowed) as error:
            abort_for(error)
        else:
            flash(_("Photo added."), "success")
            return redirect(url_for("irritant.show", irritant_id=irritant_id), 303)
    return _render(irritant, 422, photo_form=form)


@bp.errorhandler(RequestEntityTooLarge)
def photo_too_large(error: RequestEntityTooLarge) -> Any:
    """A body over MAX_CONTENT_LENGTH: the page again, with the error beside the photo."""
    irritant_id = (request.view_args or {}).get("irritant_id")
    if (request.endpoint != "irritant.add_photo" or not isinstance(irritant_id, int)
            or not current_user.is_authenticated):
        return error
    try:
        irritant = queues.get_irritant(irritant_id, actor=current_user)
    except NotFound:
        return error
    form = PhotoForm(formdata=None)
    limit = int(current_app.config["PHOTO_MAX_BYTES"]) // 1_000_000
    form.photo.errors = [_("The photo must be at most %(size)d MB.", size=limit)]
    return _render(irritant, 413, photo_form=form)


@bp.get("/<int:irritant_id>/photos/<int:attachment_id>")
@role_required(*SIGNED_IN)
def photo(irritant_id: int, attachment_id: int):
    """The photo, to those who may read the irritant; always as a download, sandboxed."""
    _irritant_or_abort(irritant_id)
    try:
        attachment = intake.get_attachment(irritant_id, attachment_id)
    except NotFound:
        abort(404)
    path = intake.photo_path(attachment)
    if not path.is_file():
        abort(404)
    # Read whole (at most PHOTO_MAX_BYTES): no file handle outlives the request.
    response = Response(path.read_bytes(), mimetype=attachment.content_type)
    extension = attachment.stored_name.rpartition(".")[2]
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"photo.{extension}\"; "
        f"filename*=UTF-8''{quote(attachment.original_filename, safe='')}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response
