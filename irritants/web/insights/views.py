"""Directors' pages. Each view checks the role, reads a form, calls a service, renders.

Who may open what (tests/web/test_route_rules.py): the root causes, the drill-down,
locality and the map are for directors and admins; the gap ledger and the HR view
also for leads (their subtree, as api.md's GET /gaps); granting for directors and
admins; what-if for directors only. Every table is also a CSV (`?format=csv`), its
header row in the reader's language (columns.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_decimal, format_percent, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from irritants.models import WhatIfRun, utcnow
from irritants.services import access, dashboards, grants, insights, org_edit
from irritants.services.dashboards import Filters, Period, Table
from irritants.services.errors import InvalidInput, NotAllowed, NotFound
from irritants.services.snapshot import cached_org, plain_amount
from irritants.web.decorators import role_required
from irritants.web.insights import bp
from irritants.web.insights.columns import (
    DELEGATION_COLUMNS,
    IRRITANT_COLUMNS,
    LEDGER_COLUMNS,
    LOCALITY_BUCKETS,
    LOCALITY_FIGURES,
    LOCALITY_UNIT_COLUMNS,
    ROOT_CAUSE_FIGURES,
    ROOT_CAUSE_GROUPS,
    TRAINING_COLUMNS,
    header_row,
)
from irritants.web.insights.export import csv_response
from irritants.web.insights.forms import (
    FilterForm,
    GrantForm,
    MapForm,
    WhatIfForm,
    set_vocabulary_choices,
)
from irritants.web.irritant.support import abort_for, language, show_field_errors

DIRECTORS = ("director", "admin")
GAP_READERS = ("lead", "director", "admin")
PER_PAGE = 50
CSV_PAGE = 500
CSV_PAGES = 200
"""A CSV export reads at most this many pages of CSV_PAGE rows (100,000 rows)."""
MAP_OPEN = 40
"""At most this many nodes of the map are open at once."""


# -- shared helpers -------------------------------------------------------------------------


@bp.context_processor
def _helpers() -> dict[str, Any]:
    org = cached_org()
    snapshot = org.snapshot
    locale = language()
    labels: dict[tuple[str, str], str] = {}
    loaded: list[bool] = []

    def unit_name(key: str | None) -> str:
        return snapshot.unit(key).name if key in snapshot else (key or "")

    def item_label(kind: str, key: str) -> str:
        if not loaded:
            labels.update(dashboards.vocabulary_labels(locale))
            loaded.append(True)
        return labels.get((kind, key), key)

    return {
        "url_with": _url_with,
        "cached_key": org.key_of.get,
        "unit_capabilities": lambda key: _capabilities_of(snapshot, key),
        "first_day": lambda period: period.since.date(),
        "last_day": lambda period: (period.until - timedelta(microseconds=1)).date(),
        "unit_name": unit_name,
        "item_label": item_label,
        "percent": _percent,
        "decimal": _decimal,
        "may_grant": grants.may_grant(current_user) if current_user.is_authenticated else False,
        "may_whatif": (current_user.is_authenticated
                       and current_user.role == "director"),
    }


def _capabilities_of(snapshot: Any, key: str) -> dict[str, Any]:
    unit = snapshot.unit(key)
    return {"tools": sorted(unit.tools), "competencies": sorted(unit.competencies),
            "authorities": dict(sorted(unit.authorities.items()))}


def _url_with(endpoint: str | None = None, **changes: Any) -> str:
    """This page's URL (or another page's) with some arguments changed; None removes one."""
    args = request.args.to_dict() if endpoint is None else {}
    for name, value in changes.items():
        if value is None or value == "":
            args.pop(name, None)
        else:
            args[name] = value
    if endpoint is None and "page" not in changes:
        args.pop("page", None)  # another filter or grouping starts again at page 1
    return url_for(endpoint or request.endpoint or "insights.dashboard", **args)


def _percent(value: float | None) -> str:
    """A share with one decimal, spaced as the language wants: "12,5\u00a0%" in French (a
    no-break space: the sign never starts a line), "12.5%" in English."""
    if value is None:
        return "–"
    pattern = get_locale().percent_formats[None].pattern.replace("#,##0", "#,##0.0", 1)
    return format_percent(value, pattern)


def _decimal(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return format_decimal(value, "#,##0." + "#" * digits if digits else "#,##0")


def _filters(form: FilterForm) -> Filters:
    return Filters(
        category=form.category.data or None, root_cause=form.root_cause.data or None,
        origin=form.origin.data or None, assignee=form.assignee.data or None,
        status=form.status.data or None, overdue=form.overdue.data == "1",
        unroutable=form.unroutable.data == "1",
    )


def _page_number() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return max(1, min(page, 10**6))


def _may_read(key: str) -> bool:
    """Whether the user may read that unit's figures (the services' rule for a subtree)."""
    try:
        dashboards.readable_subtree(current_user, key)
    except (InvalidInput, NotFound):
        return False
    return True


def _read_filters(subtree: bool = True, unit_filter: bool = False,
                  ) -> tuple[FilterForm, Period | None]:
    """The filter form and its period (None, with errors on the form, when invalid).

    Its teams are those the user may read, and a closed one of theirs a link names; the
    team filter (`unit_filter`: the gap ledger's) is checked among them, the subtree by
    the services (422 for an unknown key, 404 for one outside a lead's subtree). A page
    without one of them (`subtree`: the map has none) leaves what its URL says unread."""
    form = FilterForm(request.args)
    if subtree:
        form.subtree.fill_units(blank=_("Whole organisation") if current_user.role in
                                access.SEES_ALL else _("All my teams"))
        form.subtree.offer_closed(_may_read)
    if unit_filter:
        form.unit.fill_units(blank=_("Any team"))
        form.unit.offer_closed(_may_read)
    else:
        form.unit.validate_choice = False
    if not form.validate():
        return form, None
    until = form.until.data + timedelta(days=1) if form.until.data else None
    try:
        period = dashboards.period_of(form.since.data, until)
    except InvalidInput as error:
        show_field_errors(form, error.field_errors)
        return form, None
    if form.since.data is None:
        form.since.data = period.since.date()
    if form.until.data is None:
        form.until.data = (period.until - timedelta(seconds=1)).date()
    return form, period


def _call(function: Callable[..., Any], form: FilterForm, **kwargs: Any) -> Any:
    """A service call: 403/404 for what the actor may not see, None with form errors."""
    try:
        return function(actor=current_user, **kwargs)
    except (NotAllowed, NotFound) as error:
        abort_for(error)
    except InvalidInput as error:
        show_field_errors(form, error.field_errors)
    return None


def _wants_csv() -> bool:
    return request.args.get("format") == "csv"


def _paged_table(service: Callable[..., Table], form: FilterForm,
                 **arguments: Any) -> tuple[Table | None, Callable[..., Table]]:
    """The page asked of a paged service's table (a CSV-sized one for a download) and how
    to fetch its other pages."""
    table = _call(service, form, page=_page_number(),
                  per_page=CSV_PAGE if _wants_csv() else PER_PAGE, **arguments)
    return table, partial(service, actor=current_user, **arguments)


def _all_rows(fetch: Callable[..., Table], first: Table) -> Iterator[Any]:
    """Every row of a paged table, the first page already read (errors come before the
    download starts)."""
    yield from first.rows
    page = 1
    while page < min(first.pages, CSV_PAGES):
        page += 1
        yield from fetch(page=page, per_page=CSV_PAGE).rows


def _render(template: str, form: FilterForm, status: int | None = None,
            **context: Any) -> Any:
    code = status if status is not None else (422 if form.errors else 200)
    return render_template(template, form=form, **context), code


# -- root causes (the dashboard) -----------------------------------------------------------


@bp.get("/")
@role_required(*DIRECTORS)
def dashboard() -> Any:
    """Open and recently resolved irritants grouped by root cause, category or unit."""
    form, period = _read_filters()
    table = None
    if period is not None:
        table, fetch = _paged_table(dashboards.root_causes, form, period=period,
                                    subtree=form.subtree.data or None,
                                    group_by=form.group_by.data, filters=_filters(form))
        if table is not None and _wants_csv():
            return _root_causes_csv(form.group_by.data, _all_rows(fetch, table))
    locale = language()
    return _render("insights/dashboard.html", form, table=table, period=period,
                   filters=_filters(form), root_cause_labels=dashboards.root_cause_labels(locale),
                   category_labels=dashboards.category_labels(locale))


def _root_causes_csv(group_by: str, table_rows: Iterator[Any]) -> Any:
    header = header_row([ROOT_CAUSE_GROUPS.get(group_by, group_by), *ROOT_CAUSE_FIGURES])
    rows = ([row["key"] or "", row["count"], row["open"], row["overdue"], row["unroutable"],
             row["resolved"], row["occurrences"], row["oldest_open"],
             None if row["mean_open_age_days"] is None else round(row["mean_open_age_days"], 2)]
            for row in table_rows)
    return csv_response(f"root-causes-{group_by}.csv", header, rows)


@bp.get("/irritants")
@role_required(*DIRECTORS)
def irritants() -> Any:
    """The irritants behind a figure of the dashboard."""
    form, period = _read_filters()
    table = None
    if period is not None:
        table, fetch = _paged_table(dashboards.irritants_behind, form, period=period,
                                    subtree=form.subtree.data or None, filters=_filters(form))
        if table is not None and _wants_csv():
            return _irritants_csv(_all_rows(fetch, table))
    return _render("insights/irritants.html", form, table=table, period=period,
                   filters=_filters(form), now=utcnow(),
                   root_cause_labels=dashboards.root_cause_labels(language()))


def _irritants_csv(irritants: Iterator[Any]) -> Any:
    org = cached_org()
    header = header_row(IRRITANT_COLUMNS)
    rows = ([irritant.id, irritant.category.key, irritant.severity, irritant.status,
             org.key_of.get(irritant.origin_unit_id), org.key_of.get(irritant.assignee_id),
             irritant.unroutable, irritant.escalation_level, irritant.occurrences,
             irritant.created_at, irritant.due_at, irritant.resolved_at, irritant.root_cause,
             irritant.description] for irritant in irritants)
    return csv_response("irritants.csv", header, rows)


# -- the gap ledger and grants -------------------------------------------------------------


@bp.get("/gaps")
@role_required(*GAP_READERS)
def gaps() -> Any:
    """What the teams lacked, against the previous period, and the grants made."""
    form, period = _read_filters(unit_filter=True)
    context: dict[str, Any] = {"period": period, "table": None}
    if period is not None:
        arguments = {"period": period, "subtree": form.subtree.data or None}
        filters = {"kind": form.kind.data or None, "unit": form.unit.data or None}
        found = None
        if _wants_csv():
            table, fetch = _paged_table(dashboards.gap_ledger, form, **filters, **arguments)
            if table is not None:
                return _ledger_csv(_all_rows(fetch, table))
        else:
            found = _call(dashboards.gap_ledger_with_summary, form, page=_page_number(),
                          per_page=PER_PAGE, **filters, **arguments)
        if found is not None:
            context["table"], context["summary"] = found
            context["grants"] = _call(dashboards.grants_with_effects, form,
                                      unit=filters["unit"], **arguments)
    return _render("insights/gaps.html", form, **context)


def _ledger_csv(table_rows: Iterator[Any]) -> Any:
    header = header_row(LEDGER_COLUMNS)
    names = cached_org().snapshot
    rows = ([row["unit"], _unit_name(names, row["unit"]),
             row["kind"], row["key"], row["count"], row["previous"], row["max_required"],
             row["limit_recorded"], row["holds"], row["limit_held"]]
            for row in table_rows)
    return csv_response("gaps.csv", header, rows)


def _unit_name(snapshot: Any, key: str) -> str:
    """The unit's name for a CSV, empty for a unit no longer in the organisation."""
    return snapshot.unit(key).name if key in snapshot else ""


def _vocabulary() -> dict[str, list[tuple[str, str]]]:
    locale = language()
    return {kind: [(item.key, item.label(locale)) for item in items]
            for kind, items in org_edit.vocabularies().items()}


@bp.route("/grant", methods=["GET", "POST"])
@role_required(*DIRECTORS)
def grant() -> Any:
    """Give a unit what it lacked; prefilled from the ledger or a what-if."""
    form = GrantForm() if request.method == "POST" else GrantForm(
        formdata=None, unit=request.args.get("unit", ""),
        tools=request.args.getlist("tool"), competencies=request.args.getlist("competency"),
        authority=request.args.get("authority", ""), limit=_limit_arg(),
        unlimited=request.args.get("unlimited") == "1")
    form.unit.fill_units(blank=_("Choose a team…"))
    form.unit.offer_closed()
    set_vocabulary_choices(form, _vocabulary())
    status = 200
    if request.method == "POST":
        if form.validate_on_submit() and _limit_given(form):
            try:
                grants.grant_gap(actor=current_user, unit=form.unit.data,
                                 grant_tools=form.tools.data or [],
                                 grant_competencies=form.competencies.data or [],
                                 set_authorities=_authority_change(form),
                                 reason=form.reason.data)
            except NotAllowed as error:
                abort_for(error)
            except NotFound:
                form.unit.errors = [*form.unit.errors, _("Unknown unit.")]
            except InvalidInput as error:
                show_field_errors(form, {_grant_field(name): messages for name, messages
                                         in error.field_errors.items()})
            else:
                flash(_("Granted. The next routings use it."), "success")
                return redirect(url_for("insights.gaps", unit=form.unit.data), 303)
        status = 422
    unit = form.unit.data if form.unit.data in cached_org().snapshot else None
    return render_template("insights/grant.html", form=form, unit=unit), status


def _limit_arg() -> Any:
    try:
        value = Decimal(request.args.get("limit", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


def _limit_given(form: Any) -> bool:
    """An authority needs a limit or "unlimited" (the error goes beside the limit)."""
    if form.authority.data and form.limit.data is None and not form.unlimited.data:
        form.limit.errors = [*form.limit.errors, _("Give the new limit, or tick unlimited.")]
        return False
    return True


def _authority_change(form: Any) -> dict[str, Any]:
    if not form.authority.data:
        return {}
    return {form.authority.data: None if form.unlimited.data else form.limit.data}


def _grant_field(name: str) -> str:
    if name.startswith("set_authorities"):
        return "limit"
    return {"grant_tools": "tools", "grant_competencies": "competencies"}.get(name, name)


# -- locality ------------------------------------------------------------------------------


@bp.get("/locality")
@role_required(*DIRECTORS)
def locality() -> Any:
    """Where irritants get resolved: at their origin, how far away, how often escalated."""
    form, period = _read_filters()
    result = grants_made = None
    if period is not None:
        result = _call(dashboards.locality, form, period=period,
                       subtree=form.subtree.data or None, bucket=form.bucket.data)
    if result is not None and _wants_csv():
        return _locality_csv(result, request.args.get("table", "series"))
    if result is not None:
        grants_made = _call(dashboards.grants_with_effects, form, period=period,
                            subtree=result["subtree"])
    return _render("insights/locality.html", form, result=result, period=period,
                   grants=grants_made)


LOCALITY_KEYS = ["logged", "resolved", "resolved_at_origin", "share_resolved_at_origin",
                "escalated", "share_escalated", "routings", "mean_distance"]


def _locality_csv(result: dict[str, Any], table: str) -> Any:
    if table == "units":
        header = header_row(LOCALITY_UNIT_COLUMNS)
        names = cached_org().snapshot
        rows = ([row["unit"], names.unit(row["unit"]).name, row["own"],
                 *(_rounded(row[column]) for column in LOCALITY_KEYS)]
                for row in result["units"])
        return csv_response("locality-units.csv", header, rows)
    rows = ([row["start"], *(_rounded(row[column]) for column in LOCALITY_KEYS)]
            for row in result["series"])
    bucket = LOCALITY_BUCKETS.get(result["bucket"], result["bucket"])
    return csv_response("locality.csv", header_row([bucket, *LOCALITY_FIGURES]), rows)


def _rounded(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


# -- the map -------------------------------------------------------------------------------


@bp.get("/map", endpoint="map")
@role_required(*DIRECTORS)
def org_map() -> Any:
    """The organisation tree: open nodes load their children; search; one irritant's path."""
    search = MapForm(request.args)
    filters, period = _read_filters(subtree=False)
    if period is None:
        return _render("insights/map.html", filters, filters=filters, search=search, tree=None,
                       status=422)
    snapshot = cached_org().snapshot
    open_keys = [key for key in request.args.get("open", snapshot.root).split(",")
                 if key in snapshot]
    path = None
    irritant_id = request.args.get("irritant", type=int)
    if irritant_id is not None:
        try:
            path = dashboards.irritant_path(actor=current_user, irritant_id=irritant_id)
        except (NotAllowed, NotFound) as error:
            abort_for(error)
    focus = request.args.get("focus")
    shown_path = [*(path["path"] if path else []), *([focus] if focus in snapshot else [])]
    for key in shown_path:
        open_keys += snapshot.ancestors(key)[1:]
    open_keys = list(dict.fromkeys(open_keys))[:MAP_OPEN]
    found = (dashboards.search_units(actor=current_user, text=search.q.data)
             if search.validate() and search.q.data else None)
    tree = _tree(snapshot, set(open_keys), set(shown_path), period)
    return _render("insights/map.html", filters, filters=filters, search=search, found=found,
                   tree=tree,
                   open_keys=open_keys, path=path, focus=focus, period=period,
                   on_path=set(path["path"]) if path else set())


def _tree(snapshot: Any, open_keys: set[str], must_show: set[str], period: Period) -> Any:
    """The root and the children of every open node (the first ones, and those to show)."""
    shown: dict[str, list[str]] = {}
    more: dict[str, int] = {}
    stack = [snapshot.root]
    while stack:
        key = stack.pop()
        if key not in open_keys:
            continue
        children = snapshot.children(key)
        first = children[:dashboards.MAP_CHILDREN_SHOWN]
        extra = [child for child in children[dashboards.MAP_CHILDREN_SHOWN:]
                 if child in must_show or child in open_keys]
        shown[key] = first + extra
        more[key] = len(children) - len(shown[key])
        stack.extend(shown[key])
    keys = [snapshot.root, *(child for children in shown.values() for child in children)]
    nodes = dashboards.map_nodes(actor=current_user, keys=keys, period=period)
    return {"root": snapshot.root, "nodes": nodes, "children": shown, "more": more}


# -- what-if -------------------------------------------------------------------------------


@bp.route("/whatif", methods=["GET", "POST"])
@role_required("director")
def whatif() -> Any:
    """Try changes on the irritants of a period; long replays run in the background."""
    form = WhatIfForm() if request.method == "POST" else _prefilled_whatif()
    vocabulary = _vocabulary()
    for entry in form.changes:
        _fill_change(entry.form, vocabulary)
    if request.method == "GET":
        return render_template("insights/whatif.html", form=form, result=None)
    if form.add.data and len(form.changes.entries) < form.changes.max_entries:
        form.changes.append_entry()
        _fill_change(form.changes.entries[-1].form, vocabulary)
        return render_template("insights/whatif.html", form=form, result=None)
    valid = form.validate_on_submit()
    if not all([_limit_given(entry.form) for entry in form.changes]) or not valid:
        return render_template("insights/whatif.html", form=form, result=None), 422
    changes = _changes_of(form)
    if not changes:
        form.form_errors.append(_("Choose at least one change."))
        return render_template("insights/whatif.html", form=form, result=None), 422
    since = form.since.data
    until = form.until.data + timedelta(days=1) if form.until.data else None
    try:
        period = dashboards.period_of(since, until, days=90)
        # Longer than WHATIF_INLINE_LIMIT irritants: a background job with a progress page.
        if dashboards.count_logged(period) > current_app.config["WHATIF_INLINE_LIMIT"]:
            run = insights.start_whatif_run(actor=current_user, changes=changes,
                                            since=period.since, until=period.until)
            return redirect(url_for("insights.whatif_run", run_id=run.id), 303)
        result = insights.run_whatif(actor=current_user, changes=changes, since=period.since,
                                     until=period.until)
    except NotAllowed as error:
        abort_for(error)
    except InvalidInput as error:
        _show_change_errors(form, error.field_errors)
        return render_template("insights/whatif.html", form=form, result=None), 422
    return render_template("insights/whatif.html", form=form, result=result, changes=changes,
                           period=period)


def _fill_change(change: Any, vocabulary: dict[str, list[tuple[str, str]]]) -> None:
    """The choices of a change row: its teams (none: the row is ignored), tools, skills."""
    change.unit.fill_units(blank=_("Choose a team…"))
    change.unit.offer_closed()
    set_vocabulary_choices(change, vocabulary)


def _prefilled_whatif() -> WhatIfForm:
    form = WhatIfForm(formdata=None)
    entry = form.changes.entries[0].form
    entry.unit.data = request.args.get("unit", "")
    entry.tools.data = request.args.getlist("tool")
    entry.competencies.data = request.args.getlist("competency")
    entry.authority.data = request.args.get("authority", "")
    entry.limit.data = _limit_arg()
    return form


def _changes_of(form: WhatIfForm) -> list[dict[str, Any]]:
    changes = []
    for entry in form.changes:
        change = entry.form
        if change.is_empty():
            continue
        limits: dict[str, Any] = {}
        if change.authority.data:
            limit = change.limit.data
            limits[change.authority.data] = (None if change.unlimited.data or limit is None
                                             else plain_amount(limit))
        changes.append({"unit": change.unit.data or "", "grant_tools": change.tools.data or [],
                        "grant_competencies": change.competencies.data or [],
                        "set_authorities": limits})
    return changes


def _show_change_errors(form: WhatIfForm, errors: dict[str, list[str]]) -> None:
    for name, messages in errors.items():
        parts = name.split(".")
        if parts[0] == "changes" and len(parts) >= 3 and parts[1].isdigit():
            # Indexes count the non-empty rows: find the row they name.
            filled = [entry for entry in form.changes if not entry.form.is_empty()]
            index = int(parts[1])
            if index < len(filled):
                field = {"grant_tools": "tools", "grant_competencies": "competencies",
                         "set_authorities": "limit"}.get(parts[2], parts[2])
                target = getattr(filled[index].form, field, None)
                if target is not None:
                    target.errors = [*target.errors, *messages]
                    continue
        if parts[0] in ("since", "until"):
            getattr(form, parts[0]).errors = [*getattr(form, parts[0]).errors, *messages]
            continue
        form.form_errors.extend(messages)


@bp.get("/whatif/runs/<int:run_id>")
@role_required("director")
def whatif_run(run_id: int) -> Any:
    """A background what-if: its progress, then its result."""
    run = _run(run_id)
    changes = run.params.get("changes", [])
    since, until = run.params.get("since"), run.params.get("until")
    period = (dashboards.Period(datetime.fromisoformat(since), datetime.fromisoformat(until))
              if since and until else None)
    return render_template("insights/whatif_run.html", run=run, changes=changes, period=period,
                           result=run.result if run.status == "done" else None)


@bp.get("/whatif/runs/<int:run_id>/status")
@role_required("director")
def whatif_status(run_id: int) -> Any:
    """The progress of a background what-if, for static/js/whatif.js."""
    run = _run(run_id)
    return jsonify(status=run.status, progress=run.progress, total=run.total,
                   done=run.status in ("done", "failed"),
                   url=url_for("insights.whatif_run", run_id=run.id))


def _run(run_id: int) -> WhatIfRun:
    try:
        return insights.whatif_run_status(run_id, actor=current_user)
    except (NotAllowed, NotFound) as error:
        abort_for(error)
    raise AssertionError("unreachable")


# -- HR ------------------------------------------------------------------------------------


@bp.get("/hr")
@role_required(*GAP_READERS)
def hr() -> Any:
    """Competency gaps as a training plan, authority gaps as delegation proposals."""
    form, period = _read_filters()
    result = None
    table = request.args.get("table", "training")
    if period is not None:
        pages = {"training_page": request.args.get("training_page", 1, type=int) or 1,
                 "delegation_page": request.args.get("delegation_page", 1, type=int) or 1}
        if _wants_csv():
            pages = {f"{table}_page": 1}
        result = _call(dashboards.hr_view, form, period=period,
                       subtree=form.subtree.data or None,
                       per_page=CSV_PAGE if _wants_csv() else 25,
                       **{name: max(1, min(number, 10**6)) for name, number in pages.items()})
    if result is not None and _wants_csv():
        return _hr_csv(form, period, result, table)
    return _render("insights/hr.html", form, result=result, period=period)


def _hr_csv(form: FilterForm, period: Period, result: dict[str, Table], table: str) -> Any:
    names = cached_org().snapshot
    subtree = form.subtree.data or None
    if table == "delegation":
        def delegation(**page: Any) -> Table:
            return dashboards.hr_view(actor=current_user, period=period, subtree=subtree,
                                      delegation_page=page["page"],
                                      per_page=page["per_page"])["delegation"]

        header = header_row(DELEGATION_COLUMNS)
        rows = ([row["unit"], _unit_name(names, row["unit"]),
                 row["key"], row["count"], row["limit_held"], row["max_required"], row["p80"],
                 row["p95"], row["irritants"], row["kept_local_p95"]]
                for row in _all_rows(delegation, result["delegation"]))
        return csv_response("delegation-proposals.csv", header, rows)

    def training(**page: Any) -> Table:
        return dashboards.hr_view(actor=current_user, period=period, subtree=subtree,
                                  training_page=page["page"],
                                  per_page=page["per_page"])["training"]

    header = header_row(TRAINING_COLUMNS)
    rows = ([row["unit"], _unit_name(names, row["unit"]),
             row["key"], row["count"], row["irritants"], row["kept_local"]]
            for row in _all_rows(training, result["training"]))
    return csv_response("training-plan.csv", header, rows)
