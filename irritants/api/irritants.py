"""`/api/v1/irritants`: log, list, read, comment, take, escalate, reassign, resolve."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify

from irritants.api.auth import token_auth
from irritants.api.blueprint import ApiBlueprint
from irritants.api.errors import error_responses
from irritants.api.idempotency import HEADER_DOC, claim_key
from irritants.api.pagination import fetch, page_schema
from irritants.api.schemas import (
    CommentCreatedSchema,
    CommentSchema,
    EscalateSchema,
    IrritantCreateSchema,
    IrritantDetailSchema,
    IrritantFilterSchema,
    IrritantSchema,
    ReassignSchema,
    ResolveSchema,
)
from irritants.api.serializers import (
    comment_json,
    dump_irritant,
    irritant_detail_json,
    irritant_json,
    irritant_page_response,
)
from irritants.models import Irritant
from irritants.services import escalation, intake, queues, resolution

blp = ApiBlueprint(
    "irritants", __name__, url_prefix="/api/v1/irritants",
    description="Irritants: log one, list and read them, and work them "
    "(comment, take, escalate, reassign, resolve).",
)
_FILTERS = ("status", "severity", "assignee", "origin_unit", "category", "root_cause")


@blp.route("", methods=["POST"])
@token_auth
@blp.arguments(IrritantCreateSchema())
@blp.response(201, IrritantSchema)
@error_responses(blp, 401, 409, 422)
@blp.doc(summary="Log an irritant", parameters=[HEADER_DOC],
         description="Logs and routes an irritant (any role). `origin_unit` defaults to the "
         "caller's unit. With an `Idempotency-Key` header, the same key from the same user "
         "within 24 hours returns the first answer and creates nothing new.")
def log_irritant(data: dict[str, Any]) -> Any:
    """Log an irritant; it is routed at once."""
    user = g.api_user
    claim = claim_key(user)
    if claim.answer is not None:
        return claim.answer
    answered: list[dict[str, Any]] = []

    def answer(irritant: Irritant) -> None:
        # Before the commit, so that the key's answer is written with the irritant.
        body = dump_irritant(irritant_json(irritant))
        claim.keep(201, body)
        answered.append(body)

    intake.log_irritant(user, before_commit=answer, **data)
    response: Response = jsonify(answered[0])
    response.status_code = 201
    return response


@blp.route("", methods=["GET"])
@token_auth
@blp.arguments(IrritantFilterSchema(), location="query")
@blp.response(200, page_schema(IrritantSchema))
@error_responses(blp, 401, 422)
@blp.doc(summary="List irritants",
         description="The irritants the caller may see, newest first, filtered by `status`, "
         "`severity`, `assignee`, `origin_unit`, `category`, `root_cause`.")
def list_irritants(args: dict[str, Any]) -> Any:
    """Irritants the caller may see, newest first."""
    filters = queues.IrritantFilters(**{name: args[name] for name in _FILTERS if name in args})
    result = fetch(queues.visible_irritants, args["page"], args["per_page"], actor=g.api_user,
                   filters=filters)
    return irritant_page_response(result)


@blp.route("/<int(max=2147483647):irritant_id>", methods=["GET"])
@token_auth
@blp.response(200, IrritantDetailSchema)
@error_responses(blp, 401, 404)
@blp.doc(summary="Read an irritant",
         description="The irritant and its events, oldest first: every routing (with the "
         "assignee, rank and gaps recorded then), escalation, reassignment, status change "
         "and comment.")
def get_irritant(irritant_id: int) -> Any:
    """One irritant with its history."""
    irritant = queues.get_irritant(irritant_id, actor=g.api_user)
    return irritant_detail_json(irritant, queues.events_of(irritant.id))


@blp.route("/<int(max=2147483647):irritant_id>/comments", methods=["POST"])
@token_auth
@blp.arguments(CommentSchema())
@blp.response(201, CommentCreatedSchema)
@error_responses(blp, 401, 403, 404, 409, 422)
@blp.doc(summary="Comment on an irritant")
def comment(data: dict[str, Any], irritant_id: int) -> Any:
    """Add a comment."""
    event = resolution.comment_on(irritant_id, actor=g.api_user, text=data["text"])
    return comment_json(event)


@blp.route("/<int(max=2147483647):irritant_id>/take", methods=["POST"])
@token_auth
@blp.response(200, IrritantSchema)
@error_responses(blp, 401, 403, 404, 409)
@blp.doc(summary="Take an irritant",
         description="Sets status `in_progress` with the caller as the person working on it "
         "(agents and leads of the assignee unit).")
def take(irritant_id: int) -> Any:
    """Take an irritant assigned to the caller's unit."""
    return irritant_json(resolution.take_irritant(irritant_id, actor=g.api_user))


@blp.route("/<int(max=2147483647):irritant_id>/escalate", methods=["POST"])
@token_auth
@blp.arguments(EscalateSchema())
@blp.response(200, IrritantSchema)
@error_responses(blp, 401, 403, 404, 409, 422)
@blp.doc(summary="Escalate an irritant",
         description="A lead of the assignee's unit or an ancestor of it, or a director: adds "
         "what the team lacks to the requirements, leaves the current assignee out and routes "
         "it again from its origin.")
def escalate(data: dict[str, Any], irritant_id: int) -> Any:
    """Escalate by hand, naming what the team lacks."""
    irritant = escalation.escalate_irritant(
        irritant_id, actor=g.api_user, reason=data["reason"], needs=data.get("needs"),
    )
    return irritant_json(irritant)


@blp.route("/<int(max=2147483647):irritant_id>/reassign", methods=["POST"])
@token_auth
@blp.arguments(ReassignSchema())
@blp.response(200, IrritantSchema)
@error_responses(blp, 401, 403, 404, 409, 422)
@blp.doc(summary="Reassign an irritant", description="Lead or director: to any unit, by hand.")
def reassign(data: dict[str, Any], irritant_id: int) -> Any:
    """Reassign by hand, with a reason."""
    irritant = escalation.reassign_irritant(
        irritant_id, actor=g.api_user, unit=data["unit"], reason=data["reason"],
    )
    return irritant_json(irritant)


@blp.route("/<int(max=2147483647):irritant_id>/resolve", methods=["POST"])
@token_auth
@blp.arguments(ResolveSchema())
@blp.response(200, IrritantSchema)
@error_responses(blp, 401, 403, 404, 409, 422)
@blp.doc(summary="Resolve an irritant",
         description="Sets status `resolved`. `root_cause` is one of the category's root "
         "causes (optional here). Resolving twice is a `409`.")
def resolve(data: dict[str, Any], irritant_id: int) -> Any:
    """Resolve, with the resolution and optionally the root cause."""
    irritant = resolution.resolve_irritant(
        irritant_id, actor=g.api_user, resolution=data["resolution"],
        root_cause=data.get("root_cause"), root_cause_detail=data.get("root_cause_detail"),
    )
    return irritant_json(irritant)
