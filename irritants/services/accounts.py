"""Accounts: Argon2id password hashes, sign-in checks, the password policy, session revocation.

Passwords are checked exactly as typed (no trimming, case folding, normalisation or
truncation). The policy follows ASVS 5.0 V6.2: 8 to 128 characters, no composition
rules, and no password from the bundled list of the most common ones.
"""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from irritants.extensions import db
from irritants.models import User, utcnow
from irritants.services.errors import InvalidInput

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
LOCALES = ("fr", "en")
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@cache
def _hasher_for(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
    )


def _hasher() -> PasswordHasher:
    config = current_app.config
    return _hasher_for(
        int(config["ARGON2_TIME_COST"]),
        int(config["ARGON2_MEMORY_COST"]),
        int(config["ARGON2_PARALLELISM"]),
    )


@cache
def _dummy_hash_for(hasher: PasswordHasher) -> str:
    # Verified against when the email is unknown, so that both answers cost the same.
    return hasher.hash(secrets.token_urlsafe(16))


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords, lower-cased."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.lower() for line in lines if line and not line.startswith("# "))


def hash_password(password: str) -> str:
    """An Argon2id hash of the password, with the configured cost."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches the hash (False for a missing or unreadable hash)."""
    hasher = _hasher()
    try:
        if not password_hash:
            # Same cost as a real check, so that timing does not tell which accounts exist.
            hasher.verify(_dummy_hash_for(hasher), password)
            return False
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def is_common_password(password: str) -> bool:
    """Whether the password is on the bundled list of common passwords (any case)."""
    return password.lower() in common_passwords()


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    """What is wrong with a new password under the policy; empty when it is acceptable."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return [_("Use at least %(count)d characters.", count=PASSWORD_MIN_LENGTH)]
    if len(password) > PASSWORD_MAX_LENGTH:
        return [_("Use at most %(count)d characters.", count=PASSWORD_MAX_LENGTH)]
    lowered = password.lower()
    if is_common_password(password) or (
        email and lowered in {email.lower(), email.lower().partition("@")[0]}
    ):
        return [_("This password is too common or too easy to guess: choose another one.")]
    return []


def find_user_by_email(email: str) -> User | None:
    """The user with this email address (case-insensitive), or None."""
    normalised = email.strip().lower()
    if not normalised:
        return None
    return db.session.scalars(select(User).where(func.lower(User.email) == normalised)).first()


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None; the same work either way."""
    user = find_user_by_email(email)
    if user is None or not user.is_active or not user.password_hash:
        verify_password(None, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def set_password(user: User, new_password: str) -> None:
    """Give the user a new password and end all their sessions; raises InvalidInput."""
    problems = password_problems(new_password, email=user.email)
    if problems:
        raise InvalidInput({"new_password": problems})
    user.password_hash = hash_password(new_password)
    user.session_version += 1
    db.session.commit()


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change the user's own password after checking the current one; raises InvalidInput.

    Every session of the user ends (the session version is bumped): the caller signs
    the current session in again if it should survive.
    """
    errors: dict[str, list[str]] = {}
    if not verify_password(user.password_hash, current_password):
        errors["current_password"] = [_("Your current password is incorrect.")]
    problems = password_problems(new_password, email=user.email)
    if not problems and new_password == current_password:
        problems = [_("Choose a password different from your current one.")]
    if problems:
        errors["new_password"] = problems
    if errors:
        raise InvalidInput(errors)
    user.password_hash = hash_password(new_password)
    user.session_version += 1
    db.session.commit()


def revoke_sessions(user: User) -> None:
    """End every session of the user: their session cookies stop working."""
    user.session_version += 1
    db.session.commit()


def set_locale(user: User, locale: str) -> None:
    """Store the user's language (fr or en); raises InvalidInput."""
    if locale not in LOCALES:
        raise InvalidInput({"locale": [_("Choose French or English.")]})
    user.locale = locale
    db.session.commit()
