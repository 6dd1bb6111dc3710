"""The base blueprint of every API module: strict argument parsing and service errors.

Usage (see irritants/api/units.py)::

    blp = ApiBlueprint("units", __name__, url_prefix="/api/v1", description="...")

    @blp.route("/units", methods=["GET"])
    @token_auth
    @blp.arguments(PaginationSchema(), location="query")
    @blp.response(200, page_schema(UnitSchema))
    @error_responses(blp, 401, 422)
    def list_units(args): ...

then add the module's name to `irritants.api.API_MODULES`. Integer ids in paths use
`<int(max=2147483647):name>` (ID_CONVERTER): a larger number is a 404, never an overflow
in the database (a 500 that Schemathesis finds at once).
"""

from __future__ import annotations

import json
from typing import Any

import flask
import marshmallow as ma
from flask_smorest import Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser, abort
from webargs.multidictproxy import MultiDictProxy
from werkzeug.exceptions import InternalServerError

from irritants.api.errors import handle_http_exception, register_service_error_handlers
from irritants.api.messages import _l

ID_CONVERTER = "int(max=2147483647)"  # database ids are 32-bit integers


class _SingleValueProxy(MultiDictProxy):
    """Query parameters; a scalar parameter given twice, or as `name[]=`/`name[x]=`, is
    passed on as a list, which the field refuses (422, never a silent pick or a 500)."""

    def __getitem__(self, key: str) -> Any:
        if key not in self.multiple_keys and hasattr(self.data, "getlist"):
            values = list(self.data.getlist(key))
            bracketed = [name for name in self.data if name.startswith(f"{key}[")]
            if len(values) > 1 or bracketed:
                return values + [value for name in bracketed
                                 for value in self.data.getlist(name)]
        return super().__getitem__(key)


class StrictParser(FlaskParser):
    """webargs' parser, with 422 for malformed JSON and for repeated scalar parameters."""

    DEFAULT_VALIDATION_STATUS = 422

    def _handle_invalid_json_error(self, error: Any, req: flask.Request, *args: Any,
                                   **kwargs: Any) -> Any:
        abort(422, exc=error, messages={"json": {"body": [_l("Invalid JSON body.")]}})

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not core.is_json(req.mimetype):
            if req.get_data(cache=True):
                abort(422, messages={"json": {"body": [_l("Send the body as application/json.")]}})
            return core.missing
        return json.loads(req.get_data(cache=True).decode("utf-8"),
                          parse_constant=_refuse_constant)

    def load_querystring(self, req: flask.Request, schema: ma.Schema) -> Any:
        return _SingleValueProxy(req.args, schema, known_multi_fields=tuple(
            self.KNOWN_MULTI_FIELDS))


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON."""
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


class ApiBlueprint(Blueprint):
    """A flask-smorest blueprint whose views answer the services' errors in JSON."""

    ARGUMENTS_PARSER = StrictParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        register_service_error_handlers(self)
        # An unexpected error in one of these views: rollback, generic JSON, no traceback
        # (Flask has logged it), whatever app-wide error pages are registered.
        self.register_error_handler(InternalServerError, handle_http_exception)
