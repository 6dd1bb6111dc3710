"""The JSON API under /api/v1."""

from __future__ import annotations

import importlib
import importlib.util

from flask import Flask, Response, request

from irritants.extensions import api, csrf

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


def register_api(app: Flask) -> None:
    """Register every API blueprint on the flask-smorest Api."""
    from irritants.api import errors

    api.spec.components.security_scheme("bearerAuth", BEARER_SCHEME)
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
