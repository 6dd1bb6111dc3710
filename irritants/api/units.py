"""`GET /api/v1/units`, `GET /api/v1/units/{key}/queue`, `GET /api/v1/categories`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import g

from irritants.api.auth import token_auth
from irritants.api.blueprint import ApiBlueprint
from irritants.api.errors import error_responses
from irritants.api.pagination import PaginationSchema, fetch, page_schema, paginate_select
from irritants.api.schemas import CategorySchema, IrritantSchema, UnitSchema
from irritants.api.serializers import category_json, irritant_page_response, unit_json
from irritants.models import Category, Unit
from irritants.services import queues

blp = ApiBlueprint(
    "units", __name__, url_prefix="/api/v1",
    description="The organisation's units and categories (valid keys), and each unit's queue.",
)


@blp.route("/units", methods=["GET"])
@token_auth
@blp.arguments(PaginationSchema(), location="query")
@blp.response(200, page_schema(UnitSchema))
@error_responses(blp, 401, 422)
@blp.doc(summary="List the units", description="Every unit of the tree, newest first.")
def list_units(args: dict[str, Any]) -> Any:
    """The org's units (key, name, parent), paginated."""
    statement = sa.select(Unit).order_by(Unit.created_at.desc(), Unit.id.desc())
    result = paginate_select(statement, args["page"], args["per_page"])
    result["items"] = [unit_json(unit) for unit in result["items"]]
    return result


@blp.route("/units/<string:key>/queue", methods=["GET"])
@token_auth
@blp.arguments(PaginationSchema(), location="query")
@blp.response(200, page_schema(IrritantSchema))
@error_responses(blp, 401, 403, 404, 422)
@blp.doc(summary="A unit's queue",
         description="The irritants assigned to the unit that are not resolved: overdue first, "
         "then by due time. Agents: their own unit; leads: units of their subtree; "
         "directors and admins: all.")
def unit_queue(args: dict[str, Any], key: str) -> Any:
    """The unresolved irritants assigned to a unit, overdue first then by due time."""
    result = fetch(queues.queue_for, args["page"], args["per_page"], unit_key=key,
                   actor=g.api_user)
    return irritant_page_response(result)


@blp.route("/categories", methods=["GET"])
@token_auth
@blp.arguments(PaginationSchema(), location="query")
@blp.response(200, page_schema(CategorySchema))
@error_responses(blp, 401, 422)
@blp.doc(summary="List the categories",
         description="Every category with its labels, SLA hours per severity (defaults "
         "applied) and root causes, newest first.")
def list_categories(args: dict[str, Any]) -> Any:
    """The org's categories, paginated."""
    statement = sa.select(Category).order_by(Category.id.desc())
    result = paginate_select(statement, args["page"], args["per_page"])
    result["items"] = [category_json(category) for category in result["items"]]
    return result
