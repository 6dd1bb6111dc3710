"""The JSON API under /api/v1.

Its conventions (authentication, errors, lists, values, language) are API_DESCRIPTION's,
the description of /api/v1/openapi.json.

**Language.** Every message of an answer is in one language, fr or en: the one the client
asks for with `Accept-Language` when it names fr or en (a client's explicit choice wins),
else the stored language of the user behind the bearer token (`User.locale`, as their
pages speak it), else French (BABEL_DEFAULT_LOCALE). A call without a valid token follows
`Accept-Language`, else French. The language is chosen once the token is read
(`token_auth`, irritants.web.i18n.select_locale); marshmallow's messages are translated
too (irritants.api.messages). Keys, codes and the HTTP `status` phrase stay English.
"""

from __future__ import annotations

import importlib
import importlib.util

from flask import Flask, Response, request

from irritants.api.messages import install as install_messages
from irritants.extensions import api, csrf

# Before any schema of the API is built: fields and validators copy their messages then.
install_messages()

# One module per group of calls, each exposing `blp` (an irritants.api.blueprint.ApiBlueprint).
# A module listed here but not written yet is skipped.
API_MODULES = (
    "irritants.api.auth",
    "irritants.api.irritants",
    "irritants.api.units",
    "irritants.api.insights",
)

BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "A token from `POST /api/v1/tokens`, sent as `Authorization: Bearer <token>`.",
}
# The documentation page runs the vendored Redoc bundle (static/vendor/redoc): it needs
# inline styles and a blob: worker, nothing from another origin.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)
DOCS_ENDPOINT = "api-docs.openapi_redoc"
API_DESCRIPTION = """\
The JSON API of Irritants, for the systems around it (CRM, contact-centre tools, BI, scripts).

**Authentication.** `POST /api/v1/tokens` with `{"email", "password"}` returns a bearer token
(stored hashed, valid 30 days by default); every other call sends
`Authorization: Bearer <token>`. No token or a bad one: `401`. `DELETE /api/v1/tokens/current`
revokes it. A token acts with the user's current role and unit.

**Errors.** Bad input: `422 {"errors": {"field": ["message"]}}`, one key per offending field
(nested fields as dotted paths, e.g. `needs.authorities.gesture`), and nothing is written.
Unknown fields and wrong JSON types are bad input. A role that may never do the call: `403`;
an object outside the caller's scope: `404`, as if it did not exist; a change that lost a race
or an irritant already resolved: `409`. Other errors: `{"code", "status", "message"}`.

**Language.** Messages are in French or English, one language per answer: the language of
`Accept-Language` when it names `fr` or `en`, else the language of the user the token acts
for (the one they chose with the pages' language switch), else French. Keys and codes do not
change with the language.

**Lists** are paginated with `?page=1&per_page=50` (`per_page` at most 500) and answered as
`{"items": [...], "page", "per_page", "total"}`, newest first unless a call says otherwise.

**Values.** Times are ISO 8601 in UTC with a `Z`; a time sent without an offset is read as
UTC. `amount` is a JSON number >= 0 with at most two decimals (euros).
"""


def register_api(app: Flask) -> None:
    """Register every API blueprint on the flask-smorest Api."""
    from irritants.api import errors

    api.spec.components.security_scheme("bearerAuth", BEARER_SCHEME)
    api.spec.options.setdefault("info", {})["description"] = API_DESCRIPTION
    for name in API_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        blueprint = importlib.import_module(name).blp
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    errors.init_app(app)
    app.after_request(_docs_page_policy)


def _docs_page_policy(response: Response) -> Response:
    """A relaxed CSP for the documentation page only."""
    if request.endpoint == DOCS_ENDPOINT:
        response.headers["Content-Security-Policy"] = DOCS_CSP
    return response
