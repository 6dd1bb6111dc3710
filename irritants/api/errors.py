"""Error answers of the JSON API: every error under /api/ is JSON, never a traceback.

Bad input is `422 {"errors": {"field": ["message"]}}` with dotted paths for nested
fields; every other error is `{"code": 404, "status": "Not Found", "message": "..."}`.
Messages are in the request's language (irritants.api's "Language"); `status` is the HTTP
phrase, in English.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import marshmallow as ma
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.http import HTTP_STATUS_CODES

from irritants.api.messages import _l
from irritants.extensions import db
from irritants.security_log import security_event
from irritants.services.errors import Conflict, InvalidInput, NotAllowed, NotFound

API_PREFIX = "/api/"
# webargs nests body and query errors under the location name; the contract does not.
_LOCATIONS = frozenset({"json", "query", "querystring", "view_args", "path", "headers", "form"})
# Errors whose message is safe to show as it is (anything else gets the generic phrase).
_MESSAGES = {
    401: _l("A valid bearer token is required."),
    403: _l("Your role may not do this."),
    404: _l("Not found."),
    405: _l("This method is not allowed on this resource."),
    409: _l("The irritant was changed by someone else; reload it and try again."),
    413: _l("The request body is too large."),
    429: _l("Too many requests; wait a moment and try again."),
    500: _l("An unexpected error occurred."),
    503: _l("The service is temporarily unavailable; try again in a few seconds."),
}

F = TypeVar("F", bound=Callable[..., Any])


class ApiErrorSchema(ma.Schema):
    """Every error answer except bad input."""

    code = ma.fields.Integer(metadata={"description": "HTTP status code"})
    status = ma.fields.String(metadata={"description": "HTTP status phrase"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong"})


class ValidationErrorSchema(ma.Schema):
    """Bad input: one list of messages per offending field (dotted paths when nested)."""

    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        required=True,
        metadata={"example": {"amount": ["Must be greater than or equal to 0."]}},
    )


def is_api_request() -> bool:
    """Whether the current request is one of the JSON API's (answered in JSON)."""
    return request.path.startswith(API_PREFIX) or request.path.rstrip("/") == "/api"


def error_response(code: int, message: str | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
    """A JSON error answer with the given status (its message in the request's language)."""
    phrase = HTTP_STATUS_CODES.get(code, "Error")
    response = jsonify(
        {"code": code, "status": phrase, "message": str(message or _MESSAGES.get(code) or phrase)}
    )
    response.status_code = code
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def validation_error(field_errors: Mapping[str, Any]) -> Response:
    """`422 {"errors": {...}}` from (possibly nested) field errors."""
    response = jsonify({"errors": flatten_errors(field_errors)})
    response.status_code = 422
    return response


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Nested marshmallow/webargs messages as {"dotted.path": ["message", ...]}; `str()`
    shows each in the request's language (irritants.api.messages.Message)."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if not prefix and key in _LOCATIONS:
                name = ""  # the location level is not part of the field's path
            elif prefix and key == "_schema":
                name = prefix  # a nested object of the wrong type: the error is the field's
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            for path, texts in flatten_errors(value, name).items():
                flat.setdefault(path, []).extend(texts)
    elif isinstance(messages, list | tuple):
        if all(isinstance(item, str) for item in messages):
            flat[prefix or "_schema"] = [str(item) for item in messages]
        else:
            for item in messages:
                for path, texts in flatten_errors(item, prefix).items():
                    flat.setdefault(path, []).extend(texts)
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def handle_http_exception(error: HTTPException) -> Any:
    """JSON for every HTTP error under /api/; other paths keep their own pages."""
    if not is_api_request():
        return error
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    if code == 422:
        response = validation_error(
            data.get("messages") or data.get("errors") or {"_schema": [_l("Invalid input.")]}
        )
    else:
        if code >= 500:
            db.session.rollback()
        response = error_response(code, _MESSAGES.get(code) or data.get("message"))
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


def register_service_error_handlers(blueprint: Blueprint) -> None:
    """Map the services' errors to 422, 403, 404 and 409 for the views of a blueprint."""
    blueprint.register_error_handler(InvalidInput, _invalid_input)
    blueprint.register_error_handler(NotAllowed, _not_allowed)
    blueprint.register_error_handler(NotFound, _not_found)
    blueprint.register_error_handler(Conflict, _conflict)


def _invalid_input(error: InvalidInput) -> Response:
    db.session.rollback()
    return validation_error(error.field_errors)


def _not_allowed(error: NotAllowed) -> Response:
    db.session.rollback()
    user = g.get("api_user")
    security_event("forbidden", actor_id=user.id if user is not None else None, api=True)
    return error_response(403)


def _not_found(error: NotFound) -> Response:
    db.session.rollback()
    return error_response(404)


def _conflict(error: Conflict) -> Response:
    db.session.rollback()
    return error_response(409, str(error) or None)


def init_app(app: Flask) -> None:
    """Answer HTTP errors under /api/ in JSON (replaces flask-smorest's app-wide handler)."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, database_unavailable)


def is_connection_error(error: DBAPIError) -> bool:
    """Whether the database could not be reached or the connection was lost: the DB-API's
    OperationalError (refused, shutting down, lock timeout) and InterfaceError (a
    connection closed under the driver), or any error SQLAlchemy took for a disconnect."""
    return (isinstance(error, (OperationalError, InterfaceError))
            or bool(error.connection_invalidated))


def database_unavailable(error: DBAPIError) -> Any:
    """The database cannot be reached (restart, failover, lock timeout): a clean 503 with
    Retry-After, JSON under /api/, never a 500 (reliability.md R7, ASVS V16.5.2). Any other
    database error (a constraint, a bug in a statement) stays a 500."""
    if not is_connection_error(error):
        raise error
    current_app.logger.error("database unavailable: %s", type(error.orig).__name__,
                             exc_info=error)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the pool replaces it
        db.session.remove()
    unavailable = ServiceUnavailable(retry_after=5)
    if is_api_request():
        return handle_http_exception(unavailable)
    return unavailable


_DESCRIPTIONS = {
    401: "No token, or a bad, expired or revoked one, or an inactive user.",
    403: "The caller's role may never do this.",
    404: "No such object, or it is outside the caller's scope.",
    409: "The change lost a race with another one (or the irritant is already resolved).",
    422: "Bad input: one list of messages per offending field; nothing was written.",
    429: "Too many attempts.",
}


def error_responses(blueprint: Any, *codes: int) -> Callable[[F], F]:
    """Document the error answers a view may give (OpenAPI), e.g. 401, 403, 404, 422."""

    def decorator(view: F) -> F:
        for code in codes:
            schema = ValidationErrorSchema if code == 422 else ApiErrorSchema
            view = blueprint.alt_response(code, schema=schema, description=_DESCRIPTIONS.get(code))(
                view
            )
        return view

    return decorator
