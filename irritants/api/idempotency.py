"""`Idempotency-Key` on `POST /api/v1/irritants`: a retry gets the first answer, creates nothing.

The key is claimed by a pending IdempotencyRecord added to the session before the
service runs, and the answer is stored in it just before the service commits
(`Claim.keep`), so one commit writes the irritant, the claim and its answer together:
a key is never left claimed by a request that created nothing, a request that created
something always holds the key, and a committed key always has its answer. Two
requests racing on one key meet at the unique (user_id, key) constraint; the loser
answers with the winner's stored answer, or `409` while the winner is still running.
Only successful answers are kept: a request refused with 422 wrote nothing, and may be
corrected and sent again.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Response, jsonify, request
from sqlalchemy.exc import IntegrityError

from irritants.api.errors import error_response, validation_error
from irritants.api.messages import _l
from irritants.extensions import db
from irritants.models import IdempotencyRecord, User, utcnow

HEADER = "Idempotency-Key"
LIFETIME = timedelta(hours=24)
_PENDING = 0
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,200}")

HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": "A client-chosen key (1-200 printable ASCII characters). The same key "
    "from the same user within 24 hours returns the first answer (same status and body) "
    "and creates nothing new; `409` while the first request is still running.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200,
               "pattern": "^[\\x21-\\x7e]+$"},
}


class Claim:
    """A key held by the current request, or the answer to give instead of running it."""

    def __init__(self, record: IdempotencyRecord | None = None,
                 answer: Response | None = None) -> None:
        self.record = record
        self.answer = answer

    def keep(self, status_code: int, body: dict[str, Any]) -> None:
        """Store the answer of the request that holds the key, in its transaction (no
        commit: the service's commit writes it with what the request created)."""
        if self.record is None:
            return
        self.record.status_code = status_code
        self.record.body = body


def claim_key(user: User) -> Claim:
    """Claim the request's Idempotency-Key (if any) in the current session, uncommitted."""
    if HEADER not in request.headers:
        return Claim()
    key = request.headers.get(HEADER, "")
    if not _VALID_KEY.fullmatch(key):
        return Claim(answer=validation_error(
            {HEADER: [_l("Must be 1 to 200 printable ASCII characters.")]}
        ))
    stored = _stored_answer(user, key)
    if stored is not None:
        return Claim(answer=stored)
    record = IdempotencyRecord(user_id=user.id, key=key, created_at=utcnow(),
                               status_code=_PENDING, body={})
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return Claim(answer=_stored_answer(user, key) or error_response(409, _IN_PROGRESS))
    return Claim(record=record)


_IN_PROGRESS = _l("A request with this Idempotency-Key is still running; retry later.")


def _stored_answer(user: User, key: str) -> Response | None:
    """The first answer for this key, a 409 while it runs, or None (an expired one is dropped)."""
    record = db.session.scalars(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user.id, IdempotencyRecord.key == key
        )
    ).first()
    if record is None:
        return None
    if record.created_at <= utcnow() - LIFETIME:
        db.session.delete(record)
        db.session.flush()
        return None
    if record.status_code == _PENDING:
        return error_response(409, _IN_PROGRESS)
    response = jsonify(record.body)
    response.status_code = record.status_code
    return response
