"""`GET /api/v1/gaps`, `GET /api/v1/locality`, `POST /api/v1/whatif` and the background
what-if runs."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask import current_app, g, url_for

from irritants.api.auth import token_auth
from irritants.api.blueprint import ApiBlueprint
from irritants.api.errors import error_responses
from irritants.api.messages import _l
from irritants.api.schemas import Amount, JsonNumber, Key, UTCDateTime
from irritants.models import WhatIfRun
from irritants.services import dashboards, insights

blp = ApiBlueprint(
    "insights_api", __name__, url_prefix="/api/v1",
    description="What the teams nearest the customer lack (gaps), and what-if replays.",
)

FIGURES = (
    "replayed",
    "changed_assignee",
    "resolved_at_origin_before",
    "resolved_at_origin_after",
    "mean_distance_before",
    "mean_distance_after",
)


# --- requests -------------------------------------------------------------------------


class PeriodSchema(ma.Schema):
    """A period [since, until): both optional, ISO 8601 (UTC when no offset is given)."""

    class Meta:
        unknown = ma.RAISE

    since = UTCDateTime(metadata={"description": "Included; absent: from the beginning"})
    until = UTCDateTime(metadata={"description": "Excluded; absent: up to now"})


class LocalityQuerySchema(PeriodSchema):
    """The subtree and time step of the locality figures; the last 90 days by default."""

    subtree = Key(metadata={"description": "A unit key (GET /units); absent: the whole org"})
    bucket = ma.fields.String(load_default="week", validate=ma.validate.OneOf(
        dashboards.BUCKETS), metadata={"description": "The time step of `series`"})


class Limits(ma.fields.Field):
    """A map authority key -> limit (a number >= 0, or null for unlimited); errors per key."""

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> dict[str, Decimal | None]:
        if not isinstance(value, dict):
            raise ma.ValidationError(_l("Must be an object of authority: limit."))
        errors: dict[str, list[str]] = {}
        limits: dict[str, Decimal | None] = {}
        key_field, limit_field = Key(), Amount(allow_none=True)
        for key, limit in value.items():
            for field, item in ((key_field, key), (limit_field, limit)):
                try:
                    field.deserialize(item)
                except ma.ValidationError as error:
                    messages = error.messages
                    errors.setdefault(str(key), []).extend(
                        messages if isinstance(messages, list) else [str(messages)]
                    )
            if str(key) not in errors:
                limits[key] = limit_field.deserialize(limit)
        if errors:
            raise ma.ValidationError(errors)
        return limits


class ChangeSchema(ma.Schema):
    """One change to the org: grant a unit tools or competencies, set authority limits."""

    class Meta:
        unknown = ma.RAISE

    unit = Key(required=True, metadata={"description": "A unit key (GET /units)",
                                        "example": "lille"})
    grant_tools = ma.fields.List(Key(), metadata={"example": ["refund-terminal"]})
    grant_competencies = ma.fields.List(Key(), metadata={"example": []})
    set_authorities = Limits(metadata={
        "type": "object",
        "additionalProperties": {"type": "number", "minimum": 0, "nullable": True},
        "description": "Authority key -> new limit; null means unlimited",
        "example": {"refund": 300},
    })


class WhatIfSchema(PeriodSchema):
    """Changes to try, and the period of the irritants to replay (all when absent)."""

    changes = ma.fields.List(ma.fields.Nested(ChangeSchema), required=True)


# --- responses ------------------------------------------------------------------------


class AuthorityGapSchema(ma.Schema):
    """How often a unit lacked an authority, and the highest amount asked."""

    count = ma.fields.Integer(required=True)
    max_required = JsonNumber(required=True, allow_none=True)


class UnitGapsSchema(ma.Schema):
    """What one unit lacked over the period."""

    unit = ma.fields.String(required=True)
    routings = ma.fields.Integer(required=True, metadata={
        "description": "Routing events in which the unit recorded a gap"})
    competencies = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                                  required=True, metadata={"example": {"delivery": 3}})
    tools = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True,
                           metadata={"example": {"refund-terminal": 9}})
    authorities = ma.fields.Dict(keys=ma.fields.String(),
                                 values=ma.fields.Nested(AuthorityGapSchema), required=True)


class ItemGapsSchema(ma.Schema):
    """How often one missing item was recorded, and by which units."""

    kind = ma.fields.String(required=True,
                            validate=ma.validate.OneOf(("competency", "authority", "tool")))
    key = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)
    units = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True,
                           metadata={"example": {"lille": 9}})


class GapsSchema(ma.Schema):
    """The gap entries of the period aggregated by unit and by missing item."""

    by_unit = ma.fields.List(ma.fields.Nested(UnitGapsSchema), required=True, metadata={
        "description": "By routings (highest first), then unit key"})
    by_item = ma.fields.List(ma.fields.Nested(ItemGapsSchema), required=True, metadata={
        "description": "By count (highest first), then key, then kind"})


class LocalityFiguresSchema(ma.Schema):
    """The subsidiarity figures of a group of irritants (those logged in the period)."""

    logged = ma.fields.Integer(required=True)
    resolved = ma.fields.Integer(required=True)
    resolved_at_origin = ma.fields.Integer(required=True, metadata={
        "description": "Resolved with their origin unit as the assignee"})
    escalated = ma.fields.Integer(required=True, metadata={
        "description": "Escalated at least once (SLA or by hand)"})
    routings = ma.fields.Integer(required=True, metadata={
        "description": "Irritants whose routing distance is known"})
    share_resolved_at_origin = ma.fields.Float(required=True, allow_none=True)
    share_escalated = ma.fields.Float(required=True, allow_none=True)
    mean_distance = ma.fields.Float(required=True, allow_none=True, metadata={
        "description": "Mean number of steps from the origin to the team the routing chose"})


class LocalityPointSchema(LocalityFiguresSchema):
    """The figures of the irritants logged in one time step."""

    start = ma.fields.Date(required=True, metadata={"description": "First day of the step"})


class LocalityUnitSchema(LocalityFiguresSchema):
    """The figures of the irritants that originate in a unit (own) or a child subtree."""

    unit = ma.fields.String(required=True)
    own = ma.fields.Boolean(required=True, metadata={
        "description": "True: the subtree's own unit alone; false: a child and its subtree"})
    has_children = ma.fields.Boolean(required=True)


class LocalitySchema(ma.Schema):
    """Locality, the subsidiarity figure, over time and per child subtree."""

    subtree = ma.fields.String(required=True)
    bucket = ma.fields.String(required=True)
    since = UTCDateTime(required=True)
    until = UTCDateTime(required=True)
    series = ma.fields.List(ma.fields.Nested(LocalityPointSchema), required=True)
    units = ma.fields.List(ma.fields.Nested(LocalityUnitSchema), required=True)
    total = ma.fields.Nested(LocalityFiguresSchema, required=True)


class WhatIfFiguresSchema(ma.Schema):
    """The six figures of a what-if replay (routing.md "What-if")."""

    replayed = ma.fields.Integer(required=True)
    changed_assignee = ma.fields.Integer(required=True)
    resolved_at_origin_before = ma.fields.Integer(required=True)
    resolved_at_origin_after = ma.fields.Integer(required=True)
    mean_distance_before = ma.fields.Float(required=True)
    mean_distance_after = ma.fields.Float(required=True)


class WhatIfRunSchema(ma.Schema):
    """A what-if replayed in the background; `result` once `status` is `done`."""

    id = ma.fields.Integer(required=True)
    status = ma.fields.String(
        required=True, validate=ma.validate.OneOf(("pending", "running", "done", "failed"))
    )
    progress = ma.fields.Integer(required=True, metadata={"description": "Irritants replayed"})
    total = ma.fields.Integer(required=True, metadata={"description": "Irritants to replay"})
    created_at = UTCDateTime(required=True)
    result = ma.fields.Nested(WhatIfFiguresSchema, required=True, allow_none=True)
    error = ma.fields.String(required=True, allow_none=True)


# --- views ------------------------------------------------------------------------------


@blp.route("/gaps", methods=["GET"])
@token_auth
@blp.arguments(PeriodSchema(), location="query", unknown=ma.RAISE)
@blp.response(200, GapsSchema)
@error_responses(blp, 401, 403, 422)
@blp.doc(summary="The gaps of a period",
         description="The gap entries recorded by the routing events at or after `since` and "
         "before `until`, aggregated by unit and by missing item. Leads: the gaps recorded by "
         "units of their subtree; directors and admins: all; agents: 403.")
def gaps(args: dict[str, Any]) -> Any:
    """api.md's gap aggregation."""
    report = insights.gaps_report(actor=g.api_user, since=args.get("since"),
                                  until=args.get("until"))
    # Already in the documented shape and order: skip a schema dump and a key sort over
    # thousands of units.
    body = json.dumps(report, separators=(",", ":"), ensure_ascii=False)
    return current_app.response_class(body, mimetype="application/json")


@blp.route("/locality", methods=["GET"])
@token_auth
@blp.arguments(LocalityQuerySchema(), location="query", unknown=ma.RAISE)
@blp.response(200, LocalitySchema)
@error_responses(blp, 401, 403, 404, 422)
@blp.doc(summary="Locality: how close to the customer irritants are resolved",
         description="Directors and admins. For the irritants logged in [since, until) (the "
         "last 90 days by default) that originate in `subtree` (the whole org by default): "
         "per time step and per child subtree, how many were logged, resolved, resolved at "
         "their origin and escalated, and the mean routing distance. The figures of the "
         "directors' locality page, for BI tools.")
def locality(args: dict[str, Any]) -> Any:
    """The locality figures of a period and subtree."""
    period = dashboards.period_of(args.get("since"), args.get("until"))
    result = dashboards.locality(actor=g.api_user, period=period, subtree=args.get("subtree"),
                                 bucket=args["bucket"])
    return {**result, "since": period.since, "until": period.until}


@blp.route("/whatif", methods=["POST"])
@token_auth
@blp.arguments(WhatIfSchema())
@blp.response(200, WhatIfFiguresSchema)
@error_responses(blp, 401, 403, 422)
@blp.doc(summary="Replay a period on a changed org",
         description="Directors only. Each irritant logged in [since, until) is routed again "
         "with its origin and requirements at logging, on today's org and on the org with the "
         "changes, every open_load 0. Returns the six figures of routing.md.")
def whatif(args: dict[str, Any]) -> Any:
    """The six figures of a what-if replay."""
    result = insights.run_whatif(actor=g.api_user, changes=args["changes"],
                                 since=args.get("since"), until=args.get("until"))
    return {name: result[name] for name in FIGURES}


@blp.route("/whatif/runs", methods=["POST"])
@token_auth
@blp.arguments(WhatIfSchema())
@blp.response(202, WhatIfRunSchema, headers={"Location": {
    "description": "The run's URL", "schema": {"type": "string"}}})
@error_responses(blp, 401, 403, 422)
@blp.doc(summary="Replay a long period in the background",
         description="Directors only. The same replay as POST /whatif, run as a background "
         "job; poll the Location for its progress and result.")
def start_run(args: dict[str, Any]) -> Any:
    """Start a background what-if; 202 with the run."""
    run = insights.start_whatif_run(actor=g.api_user, changes=args["changes"],
                                    since=args.get("since"), until=args.get("until"))
    location = url_for("insights_api.run_status", run_id=run.id)
    return run_json(run), 202, {"Location": location}


@blp.route("/whatif/runs/<int:run_id>", methods=["GET"])
@token_auth
@blp.response(200, WhatIfRunSchema)
@error_responses(blp, 401, 403, 404)
@blp.doc(summary="A background what-if run", description="Directors only, their own runs.")
def run_status(run_id: int) -> Any:
    """A run's status, progress and, when done, its six figures."""
    return run_json(insights.whatif_run_status(run_id, actor=g.api_user))


def run_json(run: WhatIfRun) -> dict[str, Any]:
    """A run as WhatIfRunSchema shows it."""
    result = run.result
    return {
        "id": run.id,
        "status": run.status,
        "progress": run.progress,
        "total": run.total,
        "created_at": run.created_at,
        "result": None if result is None else {name: result[name] for name in FIGURES},
        "error": run.error,
    }
