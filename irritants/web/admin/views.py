"""Admin pages: each view checks the role, validates a form, calls one service, then
redirects (302) or re-renders with the errors beside the fields (422, nothing written)."""

from __future__ import annotations

import json
from typing import Any

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
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from irritants.models import SEVERITIES, VOCABULARY_KINDS
from irritants.services import org_admin, org_edit, users_admin
from irritants.services.errors import Conflict, InvalidInput, NotFound
from irritants.services.messages import current_language
from irritants.web.admin import bp
from irritants.web.admin.audit import change_lines
from irritants.web.admin.forms import (
    ActionForm,
    CapabilitiesForm,
    CategoryForm,
    ImportForm,
    InviteForm,
    NewUnitForm,
    RelabelForm,
    SearchForm,
    UnitForm,
    UserForm,
    UserSearchForm,
    VocabularyForm,
    parse_limit,
    role_choices,
    root_causes_text,
    vocabulary_choices,
)
from irritants.web.decorators import role_required
from irritants.web.form_errors import show_field_errors
from irritants.web.intake.forms import SEVERITY_NAMES
from irritants.web.unit_select import UnitSelectField

admin_only = role_required("admin")
PER_PAGE = 50
TREE_PAGE = 100
MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _int_arg(name: str, default: int = 1) -> int:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < len(value) < 7 and int(value) > 0 else default


def _search(form_class: type[SearchForm] = SearchForm) -> tuple[SearchForm, str]:
    """The search form of a list page and its query, trimmed to 200 characters."""
    search = form_class(request.args)
    return search, (search.q.data or "").strip()[:200]


def _invalid(form: Any, error: InvalidInput) -> None:
    show_field_errors(form, error.field_errors)


def _fill_units(field: UnitSelectField) -> None:
    """Every open unit, after "Choose…"; and the field's own unit when it is closed (a
    closed unit's closed parent, a deactivated user's closed unit), so that the select
    shows it rather than another unit: unchanged, it is kept; chosen, the service says why
    it cannot be."""
    field.fill_units(blank=_("Choose…"))
    field.offer_closed()


def _error_messages(error: InvalidInput) -> list[str]:
    """Every message of the error, for a page that shows them together."""
    return [message for messages in error.field_errors.values() for message in messages]


# -- units ---------------------------------------------------------------------------------


@bp.get("/units")
@admin_only
def units() -> Any:
    """The searchable, paginated list of units and the tree, one level at a time."""
    search, query = _search()
    results = org_edit.search_units(query, page=_int_arg("page"), per_page=PER_PAGE)
    parent_key = request.args.get("parent")
    if parent_key:
        focus = _unit_or_404(parent_key)
        children = org_edit.children_of(focus.key, page=_int_arg("tree_page"),
                                        per_page=TREE_PAGE)
        if request.args.get("fragment") == "1":
            return render_template("admin/_tree_children.html", parent=focus,
                                   children=children, query=query)
        ancestors = org_edit.ancestors_of(focus)
    else:
        roots = org_edit.children_of(None).items
        focus = org_edit.get_unit(roots[0].key) if roots else None
        children = (org_edit.children_of(focus.key, page=_int_arg("tree_page"),
                                         per_page=TREE_PAGE) if focus else None)
        ancestors = []
    return render_template("admin/units.html", search=search, query=query, results=results,
                           focus=focus, ancestors=ancestors, children=children)


@bp.route("/units/new", methods=["GET", "POST"])
@admin_only
def new_unit() -> Any:
    """Create a unit under a parent."""
    form = NewUnitForm(parent=request.args.get("parent", ""))
    _fill_units(form.parent)
    if form.validate_on_submit():
        try:
            unit = org_edit.create_unit(form.key.data.strip(), form.name.data,
                                        form.parent.data.strip(), actor=current_user)
        except InvalidInput as error:
            _invalid(form, error)
        else:
            flash(_("Unit %(name)s created.", name=unit.name), "success")
            return redirect(url_for("admin.unit", key=unit.key))
    return render_template("admin/unit_new.html", form=form), 422 if form.errors else 200


def _capabilities_form(unit: Any, vocabularies: dict[str, list[Any]],
                       formdata: Any = None) -> CapabilitiesForm:
    language = current_language()
    form = CapabilitiesForm(formdata=formdata, data={
        "competencies": list(unit.competencies or []), "tools": list(unit.tools or []),
        "authorities": list(unit.authorities or {})})
    form.competencies.choices = vocabulary_choices(vocabularies["competency"], language)
    form.tools.choices = vocabulary_choices(vocabularies["tool"], language)
    form.authorities.choices = vocabulary_choices(vocabularies["authority"], language)
    return form


def _render_unit(unit: Any, *, unit_form: UnitForm | None = None,
                 capabilities: CapabilitiesForm | None = None, limits: dict[str, str] | None = None,
                 close_errors: list[str] | None = None, status: int = 200) -> Any:
    vocabularies = org_edit.vocabularies()
    if unit_form is None:
        unit_form = UnitForm(formdata=None, name=unit.name,
                             parent=unit.parent.key if unit.parent else "")
        _fill_units(unit_form.parent)
    capabilities = capabilities or _capabilities_form(unit, vocabularies)
    if limits is None:
        limits = _limit_texts(unit)
    return render_template(
        "admin/unit.html", unit=unit, summary=org_edit.unit_summary(unit.key),
        ancestors=org_edit.ancestors_of(unit), unit_form=unit_form, capabilities=capabilities,
        limits=limits, close_errors=close_errors or [], action=ActionForm(formdata=None),
        children=org_edit.children_of(unit.key, per_page=TREE_PAGE),
    ), status


def _limit_texts(unit: Any) -> dict[str, str]:
    """The unit's authority limits as the form shows them: empty for unlimited."""
    return {key: "" if limit is None else _format_limit(limit)
            for key, limit in (unit.authorities or {}).items()}


def _format_limit(limit: Any) -> str:
    return str(int(limit)) if float(limit).is_integer() else str(limit)


def _unit_or_404(key: str) -> Any:
    try:
        return org_edit.get_unit(key)
    except NotFound:
        abort(404)


@bp.route("/units/<key>", methods=["GET", "POST"])
@admin_only
def unit(key: str) -> Any:
    """A unit: name and parent (a move), capabilities, close or reopen."""
    row = _unit_or_404(key)
    if request.method == "GET":
        return _render_unit(row)
    form = UnitForm()
    _fill_units(form.parent)
    parent = (form.parent.data or "").strip() or None
    if form.validate_on_submit() and parent is None and row.parent_id is not None:
        form.parent.errors = [*form.parent.errors, _("This field is required.")]
    elif not form.errors:
        try:
            org_edit.update_unit(key, name=form.name.data, parent=parent, actor=current_user)
        except InvalidInput as error:
            _invalid(form, error)
        else:
            flash(_("Unit saved."), "success")
            return redirect(url_for("admin.unit", key=key))
    return _render_unit(_unit_or_404(key), unit_form=form, status=422)


@bp.post("/units/<key>/capabilities")
@admin_only
def unit_capabilities(key: str) -> Any:
    """Replace the unit's competencies, tools and authority limits."""
    row = _unit_or_404(key)
    vocabularies = org_edit.vocabularies()
    form = _capabilities_form(row, vocabularies, formdata=request.form)
    limits = {authority: request.form.get(f"limit-{authority}", "")[:40]
              for authority in (form.authorities.data or [])}
    if form.validate_on_submit():
        authorities: dict[str, Any] = {}
        for authority, text in limits.items():
            try:
                authorities[authority] = parse_limit(text)
            except ValueError:
                form.authorities.errors = [*form.authorities.errors, _(
                    "The limit of %(key)s must be a number, or empty for unlimited.",
                    key=authority)]
        if not form.authorities.errors:
            try:
                org_edit.set_unit_capabilities(
                    key, competencies=form.competencies.data or [], tools=form.tools.data or [],
                    authorities=authorities, actor=current_user)
            except InvalidInput as error:
                _invalid(form, error)
            else:
                flash(_("Capabilities saved."), "success")
                return redirect(url_for("admin.unit", key=key))
    return _render_unit(row, capabilities=form, limits={**_limit_texts(row), **limits},
                        status=422)


@bp.post("/units/<key>/close")
@admin_only
def close_unit(key: str) -> Any:
    """Close the unit (refused while something still depends on it)."""
    return _open_or_close(key, org_edit.close_unit, _("Unit closed."))


@bp.post("/units/<key>/reopen")
@admin_only
def reopen_unit(key: str) -> Any:
    """Open a closed unit again."""
    return _open_or_close(key, org_edit.reopen_unit, _("Unit reopened."))


def _open_or_close(key: str, operation: Any, done: str) -> Any:
    _unit_or_404(key)
    if ActionForm().validate_on_submit():
        try:
            operation(key, actor=current_user)
        except InvalidInput as error:
            return _render_unit(_unit_or_404(key), close_errors=_error_messages(error),
                                status=422)
        flash(done, "success")
    return redirect(url_for("admin.unit", key=key))


# -- vocabulary ---------------------------------------------------------------------------


@bp.route("/vocabulary", methods=["GET", "POST"])
@admin_only
def vocabulary() -> Any:
    """The org's competencies, authorities and tools, and a form to add one."""
    form = VocabularyForm(kind=request.args.get("kind", "tool"))
    if form.validate_on_submit():
        try:
            item = org_edit.add_vocabulary_item(form.kind.data, form.key.data.strip(),
                                                form.label_fr.data, form.label_en.data,
                                                actor=current_user)
        except InvalidInput as error:
            _invalid(form, error)
        else:
            flash(_("%(key)s added to the vocabulary.", key=item.key), "success")
            return redirect(url_for("admin.vocabulary"))
    return render_template("admin/vocabulary.html", form=form,
                           vocabularies=org_edit.vocabularies(), kinds=VOCABULARY_KINDS,
                           language=current_language()), 422 if form.errors else 200


@bp.route("/vocabulary/<kind>/<key>", methods=["GET", "POST"])
@admin_only
def vocabulary_item(kind: str, key: str) -> Any:
    """The labels of one vocabulary item."""
    items = org_edit.vocabularies().get(kind, [])
    item = next((i for i in items if i.key == key), None)
    if item is None:
        abort(404)
    form = RelabelForm(label_fr=item.label_fr or "", label_en=item.label_en or "")
    if form.validate_on_submit():
        try:
            org_edit.relabel_vocabulary_item(kind, key, form.label_fr.data, form.label_en.data,
                                             actor=current_user)
        except InvalidInput as error:
            _invalid(form, error)
        else:
            flash(_("Labels saved."), "success")
            return redirect(url_for("admin.vocabulary"))
    return render_template("admin/vocabulary_item.html", form=form,
                           item=item), 422 if form.errors else 200


# -- categories ------------------------------------------------------------------------------


@bp.get("/categories")
@admin_only
def categories() -> Any:
    """Every category."""
    return render_template("admin/categories.html", categories=org_edit.list_categories(),
                           language=current_language(), severity_names=SEVERITY_NAMES)


def _category_choices(form: CategoryForm) -> None:
    language = current_language()
    vocabularies = org_edit.vocabularies()
    form.competency.choices = vocabulary_choices(vocabularies["competency"], language)
    form.authority.choices = [SelectChoice("", _("None")),
                              *vocabulary_choices(vocabularies["authority"], language)]
    form.tools.choices = vocabulary_choices(vocabularies["tool"], language)


def _category_arguments(form: CategoryForm) -> dict[str, Any] | None:
    causes = form.parsed_root_causes()
    if causes is None:
        return None
    return {
        "label_fr": form.label_fr.data, "label_en": form.label_en.data,
        "competency": form.competency.data, "authority": form.authority.data or None,
        "tools": form.tools.data or [], "sla_hours": form.sla_hours(),
        "root_causes": causes, "active": bool(form.active.data),
    }


def _show_category_errors(form: CategoryForm, error: InvalidInput) -> None:
    errors: dict[str, list[str]] = {}
    for path, messages in error.field_errors.items():
        name = path.replace("sla_hours.", "sla_") if path.startswith("sla_hours.") else path
        errors.setdefault(name, []).extend(messages)
    show_field_errors(form, errors)


@bp.route("/categories/new", methods=["GET", "POST"])
@admin_only
def new_category() -> Any:
    """Create a category."""
    form = CategoryForm(data={"active": True,
                              "root_causes": root_causes_text(
                                  [dict(c) for c in org_admin.DEFAULT_ROOT_CAUSES])})
    _category_choices(form)
    if form.validate_on_submit():
        arguments = _category_arguments(form)
        if not (form.key.data or "").strip():
            form.key.errors = [*form.key.errors, _("This field is required.")]
        elif arguments is not None:
            try:
                category = org_edit.create_category(form.key.data.strip(), **arguments,
                                                    actor=current_user)
            except InvalidInput as error:
                _show_category_errors(form, error)
            else:
                flash(_("Category created."), "success")
                return redirect(url_for("admin.category", key=category.key))
    return render_template("admin/category.html", form=form, category=None,
                           severities=SEVERITIES), 422 if form.errors else 200


@bp.route("/categories/<key>", methods=["GET", "POST"])
@admin_only
def category(key: str) -> Any:
    """A category's labels, requirements, SLA hours, root causes and active flag."""
    try:
        row = org_edit.get_category(key)
    except NotFound:
        abort(404)
    data = {
        "key": row.key, "label_fr": row.label_fr, "label_en": row.label_en,
        "competency": row.competency, "authority": row.authority or "",
        "tools": list(row.tools or []), "root_causes": root_causes_text(row.root_causes or []),
        "active": row.active,
        **{f"sla_{s}": (row.sla_hours or {}).get(s) for s in SEVERITIES},
    }
    form = CategoryForm(data=data)
    _category_choices(form)
    if form.validate_on_submit():
        arguments = _category_arguments(form)
        if arguments is not None:
            try:
                org_edit.update_category(key, **arguments, actor=current_user)
            except InvalidInput as error:
                _show_category_errors(form, error)
            else:
                flash(_("Category saved."), "success")
                return redirect(url_for("admin.category", key=key))
    form.key.data = row.key
    return render_template("admin/category.html", form=form, category=row,
                           severities=SEVERITIES), 422 if form.errors else 200


# -- users ------------------------------------------------------------------------------------


@bp.get("/users")
@admin_only
def users() -> Any:
    """Users, searchable by email or name, paginated."""
    search, query = _search(UserSearchForm)
    page = users_admin.list_users(query, page=_int_arg("page"), per_page=PER_PAGE)
    return render_template("admin/users.html", search=search, query=query, results=page)


def _render_link(link: users_admin.PasswordLink) -> Any:
    path = url_for("setup.set_password", token=link.token)
    url = request.host_url.rstrip("/") + path
    # E-mails use the configured address, like every other mail (services/mailer.py).
    base = str(current_app.config.get("SERVER_BASE_URL") or "").rstrip("/")
    emailed = users_admin.send_password_link(link, (base or request.host_url.rstrip("/")) + path)
    response = Response(render_template("admin/password_link.html", link=link, url=url,
                                        emailed=emailed))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/users/new", methods=["GET", "POST"])
@admin_only
def new_user() -> Any:
    """Invite someone: the page shows the set-password link (and e-mails it if it can)."""
    form = InviteForm(locale="fr", role="agent", unit=request.args.get("unit", ""))
    form.role.choices = role_choices()
    _fill_units(form.unit)
    if form.validate_on_submit():
        try:
            link = users_admin.invite_user(form.email.data, form.name.data, form.role.data,
                                           form.unit.data.strip(), form.locale.data,
                                           actor=current_user)
        except InvalidInput as error:
            _invalid(form, error)
        else:
            return _render_link(link)
    return render_template("admin/user_new.html", form=form), 422 if form.errors else 200


def _user_or_404(user_id: int) -> Any:
    try:
        return users_admin.get_user(user_id)
    except NotFound:
        abort(404)


def _render_user(user: Any, form: UserForm | None = None, action_errors: list[str] | None = None,
                 status: int = 200) -> Any:
    if form is None:
        form = UserForm(formdata=None, role=user.role, unit=user.unit.key)
        _fill_units(form.unit)
    form.role.choices = role_choices()
    return render_template("admin/user.html", user=user, form=form, action=ActionForm(
        formdata=None), action_errors=action_errors or [],
        api_tokens=users_admin.active_api_tokens(user)), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_only
def user(user_id: int) -> Any:
    """A user: role and unit, deactivation, a password-reset link."""
    row = _user_or_404(user_id)
    if request.method == "GET":
        return _render_user(row)
    form = UserForm()
    form.role.choices = role_choices()
    _fill_units(form.unit)
    if form.validate_on_submit():
        try:
            users_admin.set_role_and_unit(row, form.role.data, form.unit.data.strip(),
                                          actor=current_user)
        except InvalidInput as error:
            _invalid(form, error)
        else:
            flash(_("User saved."), "success")
            return redirect(url_for("admin.user", user_id=user_id))
    return _render_user(_user_or_404(user_id), form, status=422)


def _user_action(user_id: int, operation: Any, done: str) -> Any:
    row = _user_or_404(user_id)
    if ActionForm().validate_on_submit():
        try:
            operation(row, actor=current_user)
        except InvalidInput as error:
            return _render_user(_user_or_404(user_id), action_errors=_error_messages(error),
                                status=422)
        flash(done, "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/deactivate")
@admin_only
def deactivate_user(user_id: int) -> Any:
    """Deactivate: sessions and API tokens stop working at once."""
    return _user_action(user_id, users_admin.deactivate_user, _("Account deactivated."))


@bp.post("/users/<int:user_id>/reactivate")
@admin_only
def reactivate_user(user_id: int) -> Any:
    """Let a deactivated user sign in again."""
    return _user_action(user_id, users_admin.reactivate_user, _("Account reactivated."))


@bp.post("/users/<int:user_id>/reset")
@admin_only
def reset_password(user_id: int) -> Any:
    """A new single-use, 48-hour set-password link for the user."""
    row = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("admin.user", user_id=user_id))
    try:
        link = users_admin.issue_password_reset(row, actor=current_user)
    except InvalidInput as error:
        return _render_user(_user_or_404(user_id), action_errors=_error_messages(error),
                            status=422)
    return _render_link(link)


# -- import, export, audit --------------------------------------------------------------------


@bp.route("/org/import", methods=["GET", "POST"])
@admin_only
def org_import() -> Any:
    """Upload an org file: the same checks as the CLI; a refused file writes nothing."""
    form = ImportForm()
    if form.validate_on_submit():
        data = _read_json(form)
        if data is not None:
            try:
                report = org_admin.import_org(data, actor=current_user)
            except InvalidInput as error:
                form.file.errors = [*form.file.errors, *(
                    _("%(path)s: %(message)s", path=path, message=message) if path else message
                    for path, messages in error.field_errors.items() for message in messages)]
            except Conflict as error:
                form.file.errors = [*form.file.errors, str(error)]
            else:
                flash(_import_summary(report), "success")
                return redirect(url_for("admin.org_import"))
    return render_template("admin/org_import.html", form=form), 422 if form.errors else 200


def _read_json(form: ImportForm) -> Any:
    raw = form.file.data.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        form.file.errors = [_("The file is larger than %(size)d MB.",
                              size=MAX_IMPORT_BYTES // 2**20)]
        return None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        form.file.errors = [_("This is not a JSON file (%(detail)s).", detail=str(error))]
        return None


def _import_summary(report: Any) -> str:
    if not report.changed:
        return _("Nothing changed: the organisation already matches the file.")
    units = ngettext("%(num)d unit", "%(num)d units",
                     report.units_created + report.units_updated)
    categories = ngettext("%(num)d category", "%(num)d categories",
                          report.categories_created + report.categories_updated)
    users = ngettext("%(num)d user", "%(num)d users",
                     report.users_created + report.users_updated)
    return _("Organisation imported: %(units)s, %(categories)s and %(users)s created or "
             "updated; org version %(version)d.", units=units, categories=categories,
             users=users, version=report.org_version)


@bp.get("/org/export")
@admin_only
def org_export() -> Any:
    """The organisation as a JSON file, in the import format, without passwords."""
    body = json.dumps(org_admin.export_org(), ensure_ascii=False, indent=2) + "\n"
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="organisation.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


AUDIT_TYPES = {
    "org_import": _l("Organisation imported"),
    "unit_created": _l("Unit created"),
    "unit_renamed": _l("Unit renamed"),
    "unit_moved": _l("Unit moved"),
    "unit_changed": _l("Unit renamed and moved"),
    "unit_closed": _l("Unit closed"),
    "unit_reopened": _l("Unit reopened"),
    "unit_capabilities_changed": _l("Unit capabilities changed"),
    "vocabulary_item_added": _l("Vocabulary item added"),
    "vocabulary_item_relabelled": _l("Vocabulary item relabelled"),
    "category_created": _l("Category created"),
    "category_changed": _l("Category changed"),
    "user_invited": _l("User invited"),
    "user_role_unit_changed": _l("Role or unit changed"),
    "user_deactivated": _l("User deactivated"),
    "user_reactivated": _l("User reactivated"),
    "password_link_issued": _l("Password link issued"),
    "password_set": _l("Password set from a link"),
    "grant": _l("Granted to the unit"),  # by a director, from the gap ledger (services/grants.py)
}


@bp.get("/audit")
@admin_only
def audit() -> Any:
    """The audit trail, newest first, paginated."""
    page = org_edit.audit_trail(page=_int_arg("page"), per_page=PER_PAGE)
    return render_template("admin/audit.html", results=page, audit_types=AUDIT_TYPES,
                           change_lines=change_lines)
