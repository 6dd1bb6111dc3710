"""Bearer tokens: `POST /api/v1/tokens`, `DELETE /api/v1/tokens/current`, and `token_auth`.

A token is 256 random bits from `secrets`; only its SHA-256 digest is stored. Every
other API call sends `Authorization: Bearer <token>`: the query string and session
cookies are never looked at, so the API is token-only (and CSRF-exempt).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import cache, wraps
from typing import Any, TypeVar

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, g, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import joinedload

from irritants.api.blueprint import ApiBlueprint
from irritants.api.errors import error_response, error_responses
from irritants.api.schemas import NoNulString, UTCDateTime
from irritants.extensions import db, limiter
from irritants.models import ApiToken, User, utcnow
from irritants.security_log import security_event
from irritants.services.messages import _
from irritants.services.snapshot import note_version, version_column
from irritants.web.i18n import answer_in_token_holder_language

F = TypeVar("F", bound=Callable[..., Any])

BEARER_SCHEME = "bearerAuth"
SECURITY = [{BEARER_SCHEME: []}]
# Tokens are token_urlsafe(32): 43 characters; anything much longer is not one of ours.
_MAX_TOKEN_LENGTH = 200
# last_used_at is refreshed at most this often, so reads do not all become writes.
_LAST_USED_PRECISION = timedelta(minutes=5)

blp = ApiBlueprint(
    "tokens", __name__, url_prefix="/api/v1/tokens",
    description="Bearer tokens. Every other call sends `Authorization: Bearer <token>`.",
)


class TokenRequestSchema(ma.Schema):
    """Credentials of the user the token acts for."""

    email = NoNulString(required=True, validate=ma.validate.Length(min=1, max=254))
    password = NoNulString(required=True, validate=ma.validate.Length(min=1, max=1024))


class TokenSchema(ma.Schema):
    """A new bearer token; it is shown once and stored hashed."""

    token = ma.fields.String(required=True)
    expires_at = UTCDateTime(required=True)


def token_digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    """A new token for the user, committed; the clear value is returned once."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=token_digest(token),
        expires_at=utcnow() + current_app.config["API_TOKEN_LIFETIME"],
    )
    db.session.add(row)
    db.session.commit()
    return token, row


def _bearer_token() -> str | None:
    """The token of the Authorization header, or None."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > _MAX_TOKEN_LENGTH:
        return None
    return value


@cache
def _token_statement() -> sa.Select[Any]:
    """The token with its user, and the org version along (the request's org snapshot then
    costs no query); built once, as it runs on every API call."""
    return (sa.select(ApiToken, version_column()).options(joinedload(ApiToken.user))
            .where(ApiToken.token_hash == sa.bindparam("digest")))


def token_row(token: str) -> ApiToken | None:
    """The live token row (not expired, not revoked, active user) for a clear token."""
    digest = token_digest(token)
    found = db.session.execute(_token_statement(), {"digest": digest}).first()
    row = found[0] if found is not None else None
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    note_version(found[1])
    now = utcnow()
    if row.revoked_at is not None or row.expires_at <= now:
        return None
    if not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_PRECISION:
        db.session.execute(
            sa.update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()
    return row


def _unauthorized() -> ResponseReturnValue:
    return error_response(401, headers={"WWW-Authenticate": 'Bearer realm="irritants"'})


def token_auth(view: F) -> F:
    """Require a bearer token; set `g.api_user` (the user, with their current role and unit)
    and answer in their language (irritants.api's "Language").

    Put it right under `@blp.route` so that it runs before the arguments are parsed: their
    messages are then in the token holder's language too.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _bearer_token()
        row = token_row(token) if token else None
        if row is None:
            security_event("api_token_refused", presented=token is not None)
            return _unauthorized()
        g.api_token = row
        g.api_user = row.user
        answer_in_token_holder_language(row.user.locale)
        return view(*args, **kwargs)

    apidoc = dict(getattr(wrapper, "_apidoc", {}))
    manual = dict(apidoc.get("manual_doc", {}))
    manual["security"] = SECURITY
    apidoc["manual_doc"] = manual
    wrapper._apidoc = apidoc  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _token_rate_limit() -> str:
    return str(current_app.config.get("API_TOKEN_RATE_LIMIT")
               or current_app.config["LOGIN_RATE_LIMIT"])


def _client_ip_key() -> str:
    return f"api-token-ip:{request.remote_addr or 'unknown'}"


def _email_key() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return "api-token-email:" + (email.strip().lower()[:254] if isinstance(email, str) else "")


def _refused(response: Any) -> bool:
    return bool(response.status_code == 401)


# Failed attempts only count, per client IP and per email address, as on the sign-in page:
# api.md's systems may ask for many tokens and always get them. A window passes and the
# account opens again: nobody can lock a user out for good (reliability.md S7).
@blp.route("", methods=["POST"])
@limiter.limit(_token_rate_limit, key_func=_client_ip_key, deduct_when=_refused)
@limiter.limit(_token_rate_limit, key_func=_email_key, deduct_when=_refused)
@blp.arguments(TokenRequestSchema())
@blp.response(201, TokenSchema)
@error_responses(blp, 401, 422, 429)
@blp.doc(security=[], summary="Create a token",
         description="Wrong credentials get the same `401` whether the email exists or not.")
def create_token(credentials: dict[str, Any]) -> Any:
    """Trade an email and password for a bearer token (expires after API_TOKEN_LIFETIME)."""
    from irritants.services.accounts import authenticate

    user = authenticate(credentials["email"], credentials["password"])
    if user is None:
        security_event("api_token_creation_failed", email=credentials["email"][:254])
        return error_response(401, _("Wrong email or password."))
    token, row = issue_token(user)
    security_event("api_token_created", actor_id=user.id, token_id=row.id)
    return {"token": token, "expires_at": row.expires_at}


@blp.route("/current", methods=["DELETE"])
@token_auth
@blp.response(204)
@error_responses(blp, 401)
@blp.doc(summary="Revoke the token sent with this call")
def revoke_current_token() -> Any:
    """Revoke the token this call is sent with; the next call with it gets 401."""
    row: ApiToken = g.api_token
    db.session.execute(
        sa.update(ApiToken).where(ApiToken.id == row.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    security_event("api_token_revoked", actor_id=row.user_id, token_id=row.id)
    return None
