"""Pagination of every list: `?page=1&per_page=50` -> {"items", "page", "per_page", "total"}."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, Protocol

import marshmallow as ma
import sqlalchemy as sa

from irritants.extensions import db

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
# Beyond this page the offset would overflow a 64-bit integer in the database;
# such a page is past the end of any list, so it is answered without a query of items.
_LAST_QUERYABLE_PAGE = 10**12


class PaginationSchema(ma.Schema):
    """The query parameters of every list."""

    class Meta:
        unknown = ma.EXCLUDE

    page = ma.fields.Integer(
        load_default=1, validate=ma.validate.Range(min=1),
        metadata={"description": "Page number, from 1"},
    )
    per_page = ma.fields.Integer(
        load_default=DEFAULT_PER_PAGE, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"description": f"Items per page, at most {MAX_PER_PAGE}"},
    )


class PageLike(Protocol):
    """What the services' list functions return (queues.Page)."""

    items: Sequence[Any]
    page: int
    per_page: int
    total: int


@cache
def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The schema of one page of items of `item_schema`."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(name, (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
        "page": ma.fields.Integer(required=True),
        "per_page": ma.fields.Integer(required=True),
        "total": ma.fields.Integer(required=True),
        "__doc__": f"One page of a list, newest first unless said otherwise ({name}).",
    })


def answer(items: Sequence[Any], page: int, per_page: int, total: int) -> dict[str, Any]:
    """The answer of a list call."""
    return {"items": list(items), "page": page, "per_page": per_page, "total": total}


def fetch(list_call: Callable[..., PageLike], page: int, per_page: int,
          **kwargs: Any) -> dict[str, Any]:
    """Call a service's list function for one page and answer it."""
    if page > _LAST_QUERYABLE_PAGE:
        total = list_call(page=1, per_page=1, **kwargs).total
        return answer([], page, per_page, total)
    result = list_call(page=page, per_page=per_page, **kwargs)
    return answer(result.items, page, per_page, result.total)


def paginate_select(statement: sa.Select[Any], page: int, per_page: int) -> dict[str, Any]:
    """One page of an ORM select (ordered by the caller), with the total."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery())) or 0
    if page > _LAST_QUERYABLE_PAGE or (page - 1) * per_page >= total:
        return answer([], page, per_page, total)
    items = db.session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return answer(items, page, per_page, total)
