"""People: invite, role and unit, deactivation, and set-password links.

A set-password link (an invite or a password reset) is a random 256-bit token
handed to the person once; only its SHA-256 digest is stored. It works once,
for 48 hours, and issuing a new one for the same person revokes the older ones
(ASVS V6.4.1, V11.5.1). Deactivating someone ends every session (the session
version is bumped) and revokes every API token and pending link at once.
Every change writes one AuditEvent. Users are not part of the routing
snapshot, so these changes do not bump the org version.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from irritants.extensions import db
from irritants.models import ROLES, ApiToken, PasswordToken, User, utcnow
from irritants.services.accounts import hash_password, password_problems
from irritants.services.errors import InvalidInput, NotFound, ServiceError
from irritants.services.messages import _, quoted
from irritants.services.org_edit import Page, _page_bounds, get_unit, record
from irritants.services.text_search import contains_any_case
from irritants.services.transactions import one_transaction

log = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(hours=48)
LOCALES = ("fr", "en")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
MAX_NAME_LENGTH = 200


class InvalidLink(NotFound):
    """No such set-password link (a mistyped or forged one)."""


class ExpiredLink(ServiceError):  # noqa: N818 (like errors.py)
    """The link was used, replaced, revoked, or is past its 48 hours."""


@dataclass(frozen=True)
class PasswordLink:
    """A set-password link just issued: the token is shown once and never stored."""

    user: User
    token: str
    purpose: str
    expires_at: datetime


def token_digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


_transaction = one_transaction(
    lambda: _("Someone changed this account at the same time; try again."))


def _user(user: User | int) -> User:
    if isinstance(user, User):
        return user
    found = db.session.get(User, user) if isinstance(user, int) else None
    if found is None:
        raise NotFound(_("Unknown user."))
    return found


def _state(user: User) -> dict[str, Any]:
    return {"email": user.email, "name": user.name, "role": user.role,
            "unit": user.unit.key, "active": user.is_active_account, "locale": user.locale}


def _role_and_unit(role: Any, unit_key: Any, errors: dict[str, list[str]]) -> Any:
    if role not in ROLES:
        errors["role"] = [_("Choose one of the roles.")]
    try:
        unit = get_unit(unit_key)
    except NotFound:
        errors["unit"] = [_("Unknown unit %(key)s.", key=quoted(unit_key))]
        return None
    if unit.closed_at is not None:
        errors["unit"] = [_("Unit %(key)s is closed.", key=quoted(unit_key))]
    return unit


def _new_link(user: User, purpose: str, actor: User | None, now: datetime) -> PasswordLink:
    """Revoke the user's pending links and add a new one (in the current transaction)."""
    _revoke_links(user, now)
    token = secrets.token_urlsafe(32)
    expires_at = now + LINK_LIFETIME
    db.session.add(PasswordToken(
        user=user, token_hash=token_digest(token), purpose=purpose, created_at=now,
        created_by_id=actor.id if actor is not None else None, expires_at=expires_at))
    return PasswordLink(user=user, token=token, purpose=purpose, expires_at=expires_at)


def _revoke_links(user: User, now: datetime) -> int:
    result = db.session.execute(
        update(PasswordToken)
        .where(PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None),
               PasswordToken.revoked_at.is_(None))
        .values(revoked_at=now),
        execution_options={"synchronize_session": False})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@_transaction
def invite_user(email: str, name: str, role: str, unit: str, locale: str | None = None, *,
                actor: User | None, now: datetime | None = None) -> PasswordLink:
    """Create a user without a usable password and a 48-hour set-password link.

    Raises InvalidInput (bad or already used email, unknown role or unit...).
    """
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    email = (email or "").strip().lower()
    if len(email) > 254 or not EMAIL_PATTERN.fullmatch(email):
        errors["email"] = [_("Enter a valid email address.")]
    elif db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        errors["email"] = [_("Someone already has the email %(email)s.", email=email)]
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        errors["name"] = [_("Enter a name of at most %(count)d characters.",
                            count=MAX_NAME_LENGTH)]
    unit_row = _role_and_unit(role, unit, errors)
    if locale not in (None, "", *LOCALES):
        errors["locale"] = [_("Choose French or English.")]
    if errors:
        raise InvalidInput(errors)
    user = User(email=email, name=name, role=role, unit=unit_row, locale=locale or None,
                password_hash=None, is_active_account=True, created_at=now)
    db.session.add(user)
    db.session.flush()
    link = _new_link(user, "invite", actor, now)
    record(actor, "user_invited", email, before=None, after=_state(user),
           expires_at=link.expires_at.isoformat())
    return link


@_transaction
def set_role_and_unit(user: User | int, role: str, unit: str, *,
                      actor: User | None) -> User:
    """Give the user a role and a unit; raises NotFound or InvalidInput."""
    user = _user(user)
    errors: dict[str, list[str]] = {}
    unit_row = _role_and_unit(role, unit, errors)
    if not errors and user.role == "admin" and role != "admin" and _is_last_admin(user):
        errors["role"] = [_("This is the last active admin: make someone else admin first.")]
    if errors:
        raise InvalidInput(errors)
    if user.role == role and user.unit_id == unit_row.id:
        return user
    before = _state(user)
    user.role, user.unit = role, unit_row
    record(actor, "user_role_unit_changed", user.email, before=_pick(before, "role", "unit"),
           after=_pick(_state(user), "role", "unit"))
    return user


def _pick(state: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: state[name] for name in names}


def _is_last_admin(user: User) -> bool:
    others = db.session.scalar(
        select(func.count()).select_from(User)
        .where(User.role == "admin", User.is_active_account.is_(True), User.id != user.id))
    return not others


@_transaction
def deactivate_user(user: User | int, *, actor: User | None,
                    now: datetime | None = None) -> User:
    """Deactivate the account: its sessions, API tokens and links stop working at once.

    Raises NotFound, or InvalidInput for one's own account or the last active admin.
    """
    user, now = _user(user), now or utcnow()
    if not user.is_active_account:
        return user
    if actor is not None and actor.id == user.id:
        raise InvalidInput({"user": [_("You cannot deactivate your own account.")]})
    if user.role == "admin" and _is_last_admin(user):
        raise InvalidInput({"user": [_("This is the last active admin: it cannot be "
                                       "deactivated.")]})
    user.is_active_account = False
    user.session_version += 1  # every session cookie of the user stops working
    tokens = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now), execution_options={"synchronize_session": False})
    links = _revoke_links(user, now)
    record(actor, "user_deactivated", user.email, before={"active": True},
           after={"active": False}, api_tokens_revoked=int(tokens.rowcount or 0),  # type: ignore[attr-defined]
           links_revoked=links)
    return user


@_transaction
def reactivate_user(user: User | int, *, actor: User | None) -> User:
    """Let a deactivated user sign in again (old sessions and tokens stay dead)."""
    user = _user(user)
    if user.is_active_account:
        return user
    if user.unit.closed_at is not None:
        raise InvalidInput({"unit": [_("Unit %(key)s is closed: move the user to an open "
                                       "unit first.", key=quoted(user.unit.key))]})
    user.is_active_account = True
    record(actor, "user_reactivated", user.email, before={"active": False},
           after={"active": True})
    return user


@_transaction
def issue_password_reset(user: User | int, *, actor: User | None,
                         now: datetime | None = None) -> PasswordLink:
    """A new 48-hour set-password link for an active user (older links are revoked)."""
    user, now = _user(user), now or utcnow()
    if not user.is_active_account:
        raise InvalidInput({"user": [_("This account is deactivated: reactivate it first.")]})
    link = _new_link(user, "reset", actor, now)
    record(actor, "password_link_issued", user.email, before=None, after=None,
           purpose="reset", expires_at=link.expires_at.isoformat())
    return link


def check_password_token(token: str, *, now: datetime | None = None) -> PasswordToken:
    """The pending link for this token; raises InvalidLink or ExpiredLink. Writes nothing."""
    now = now or utcnow()
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise InvalidLink(_("This link is not valid."))
    row = db.session.scalar(
        select(PasswordToken).where(PasswordToken.token_hash == token_digest(token))
        .options(selectinload(PasswordToken.user)))
    if row is None:
        raise InvalidLink(_("This link is not valid."))
    if row.used_at is not None:
        raise ExpiredLink(_("This link has already been used."))
    if row.revoked_at is not None or not row.user.is_active_account:
        raise ExpiredLink(_("This link was replaced by a newer one or withdrawn."))
    if row.expires_at <= now:
        raise ExpiredLink(_("This link has expired."))
    return row


@_transaction
def consume_reset_token(token: str, new_password: str, *,
                        now: datetime | None = None) -> User:
    """Set the password through a link, once; ends the user's other sessions.

    Raises InvalidLink, ExpiredLink, or InvalidInput (password policy; the link stays usable).
    """
    now = now or utcnow()
    row = check_password_token(token, now=now)
    user = row.user
    problems = password_problems(new_password or "", email=user.email)
    if problems:
        raise InvalidInput({"password": problems})
    password_hash = hash_password(new_password)
    # Compare-and-set: of two requests racing with the same link, one wins.
    claimed = db.session.execute(
        update(PasswordToken)
        .where(PasswordToken.id == row.id, PasswordToken.used_at.is_(None),
               PasswordToken.revoked_at.is_(None))
        .values(used_at=now), execution_options={"synchronize_session": False})
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ExpiredLink(_("This link has already been used."))
    user.password_hash = password_hash
    user.session_version += 1
    record(user, "password_set", user.email, before=None, after=None, purpose=row.purpose)
    return user


# -- reading, for the admin pages ----------------------------------------------------------


def list_users(query: str = "", *, page: int = 1, per_page: int = 50) -> Page:
    """Users whose email or name contains `query` (any case), by email."""
    page, per_page = _page_bounds(page, per_page)
    statement = select(User)
    text = (query or "").strip().lower()
    if text:
        statement = statement.where(contains_any_case(text, User.email, User.name))
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    users = db.session.scalars(
        statement.options(selectinload(User.unit)).order_by(func.lower(User.email))
        .offset((page - 1) * per_page).limit(per_page)).all()
    return Page(list(users), page, per_page, total)


def get_user(user_id: int) -> User:
    """The user with this id; raises NotFound."""
    return _user(user_id)


def active_api_tokens(user: User) -> int:
    """How many API tokens of the user are still valid."""
    return db.session.scalar(
        select(func.count()).select_from(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
               ApiToken.expires_at > utcnow())) or 0


def mail_configured() -> bool:
    """Whether mail actually leaves the app (the console backend only logs it)."""
    return current_app.config.get("MAIL_BACKEND", "console") != "console"


def send_password_link(link: PasswordLink, url: str) -> bool:
    """E-mail the link to its user when mail is configured; True when it was sent.

    Called after the commit: a mail failure never loses the link, which the
    admin page shows anyway.
    """
    if not mail_configured():
        return False
    from flask_mailman import EmailMessage

    with _force_locale(link.user.locale):
        if link.purpose == "invite":
            subject = _("You are invited to Irritants")
            body = _("Hello %(name)s,\n\nChoose your password to sign in to Irritants: "
                     "%(url)s\n\nThis link works once and expires in 48 hours.\n",
                     name=link.user.name, url=url)
        else:
            subject = _("Choose a new Irritants password")
            body = _("Hello %(name)s,\n\nChoose a new password for Irritants: %(url)s\n\n"
                     "This link works once and expires in 48 hours.\n",
                     name=link.user.name, url=url)
    try:
        EmailMessage(subject=subject, body=body, to=[link.user.email]).send()
    except Exception:  # noqa: BLE001 - the link is on the admin's page anyway
        log.warning("could not e-mail a %s link to user %s", link.purpose, link.user.id)
        return False
    return True


def _force_locale(locale: str | None) -> Any:
    from contextlib import nullcontext

    from flask_babel import force_locale

    return force_locale(locale) if locale in LOCALES else nullcontext()
