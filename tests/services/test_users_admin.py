"""People: invites, roles and units, deactivation, set-password links."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from irritants.models import ApiToken, AuditEvent, PasswordToken, User, utcnow
from irritants.services import users_admin
from irritants.services.accounts import authenticate
from irritants.services.errors import InvalidInput, NotFound
from irritants.services.org_version import current_org_version
from irritants.services.users_admin import ExpiredLink, InvalidLink

NEW_PASSWORD = "correct horse battery staple"


@pytest.fixture
def admin(org: dict[str, Any], db: Any) -> User:
    return user_by_email(db, "admin@example.com")


def user_by_email(db: Any, email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def last_event(db: Any) -> AuditEvent:
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


def count(db: Any, model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# -- invite ---------------------------------------------------------------------------------


def test_invite_user_creates_an_account_without_a_password_and_a_48_hour_link(db, admin):
    now = utcnow()
    version = current_org_version()

    link = users_admin.invite_user("New.Person@Example.com", "New Person", "agent", "lille",
                                   "en", actor=admin, now=now)

    user = user_by_email(db, "new.person@example.com")
    assert (user.name, user.role, user.unit.key, user.locale, user.password_hash,
            user.is_active_account) == ("New Person", "agent", "lille", "en", None, True)
    assert link.user is user
    assert link.purpose == "invite"
    assert link.expires_at == now + timedelta(hours=48)
    row = db.session.scalar(select(PasswordToken).where(PasswordToken.user_id == user.id))
    assert row.token_hash == hashlib.sha256(link.token.encode()).hexdigest()
    assert link.token not in row.token_hash
    assert len(link.token) >= 43  # 256 random bits
    assert authenticate("new.person@example.com", "") is None
    event = last_event(db)
    assert (event.type, event.subject, event.actor_id) == (
        "user_invited", "new.person@example.com", admin.id)
    assert event.data["after"]["role"] == "agent"
    assert link.token not in str(event.data)
    assert current_org_version() == version  # users are not part of the routing snapshot


@pytest.mark.parametrize(("email", "name", "role", "unit", "locale", "field"), [
    ("not-an-email", "X", "agent", "lille", None, "email"),
    ("AGENT.LILLE@example.com", "X", "agent", "lille", None, "email"),
    ("x@example.com", "", "agent", "lille", None, "name"),
    ("x@example.com", "X", "superuser", "lille", None, "role"),
    ("x@example.com", "X", "agent", "atlantis", None, "unit"),
    ("x@example.com", "X", "agent", "lille", "de", "locale"),
])
def test_invite_user_refuses_bad_input_and_writes_nothing(db, admin, email, name, role, unit,
                                                          locale, field):
    users, events = count(db, User), count(db, AuditEvent)

    with pytest.raises(InvalidInput) as error:
        users_admin.invite_user(email, name, role, unit, locale, actor=admin)

    assert list(error.value.field_errors) == [field]
    assert (count(db, User), count(db, AuditEvent), count(db, PasswordToken)) == (
        users, events, 0)


def test_an_invited_user_chooses_a_password_once_and_can_sign_in(db, admin):
    link = users_admin.invite_user("new@example.com", "New", "agent", "lille", actor=admin)

    user = users_admin.consume_reset_token(link.token, NEW_PASSWORD)

    assert authenticate("new@example.com", NEW_PASSWORD).id == user.id
    assert last_event(db).type == "password_set"
    with pytest.raises(ExpiredLink, match="already been used"):
        users_admin.consume_reset_token(link.token, "another long password")
    db.session.expire_all()
    assert authenticate("new@example.com", NEW_PASSWORD) is not None


# -- reset links ----------------------------------------------------------------------------


def test_a_reset_link_is_single_use_and_ends_the_other_sessions(db, admin):
    user = user_by_email(db, "agent.lille@example.com")
    version = user.session_version
    link = users_admin.issue_password_reset(user, actor=admin)
    assert last_event(db).type == "password_link_issued"

    users_admin.consume_reset_token(link.token, NEW_PASSWORD)

    db.session.expire_all()
    assert user.session_version == version + 1
    assert authenticate("agent.lille@example.com", "lille-agent-pass") is None
    assert authenticate("agent.lille@example.com", NEW_PASSWORD) is not None
    row = db.session.scalar(select(PasswordToken).where(PasswordToken.user_id == user.id))
    assert row.used_at is not None
    with pytest.raises(ExpiredLink):
        users_admin.consume_reset_token(link.token, "yet another long password")


def test_a_reset_link_expires_after_48_hours(db, admin):
    user = user_by_email(db, "agent.lille@example.com")
    issued = utcnow() - timedelta(hours=48, seconds=1)
    link = users_admin.issue_password_reset(user, actor=admin, now=issued)

    with pytest.raises(ExpiredLink, match="expired"):
        users_admin.consume_reset_token(link.token, NEW_PASSWORD)

    db.session.expire_all()
    assert authenticate("agent.lille@example.com", "lille-agent-pass") is not None


def test_a_link_still_works_just_before_its_48_hours(db, admin):
    user = user_by_email(db, "agent.lille@example.com")
    issued = utcnow() - timedelta(hours=47, minutes=59)
    link = users_admin.issue_password_reset(user, actor=admin, now=issued)

    users_admin.consume_reset_token(link.token, NEW_PASSWORD)

    assert authenticate("agent.lille@example.com", NEW_PASSWORD) is not None


def test_issuing_a_new_link_revokes_the_older_one(db, admin):
    user = user_by_email(db, "agent.lille@example.com")
    first = users_admin.issue_password_reset(user, actor=admin)
    second = users_admin.issue_password_reset(user, actor=admin)

    with pytest.raises(ExpiredLink, match="replaced"):
        users_admin.consume_reset_token(first.token, NEW_PASSWORD)
    users_admin.consume_reset_token(second.token, NEW_PASSWORD)


@pytest.mark.parametrize("token", ["", "short", "x" * 43, "y" * 500])
def test_an_unknown_link_is_invalid(db, admin, token):
    with pytest.raises(InvalidLink):
        users_admin.consume_reset_token(token, NEW_PASSWORD)


def test_a_weak_password_is_refused_and_the_link_stays_usable(db, admin):
    user = user_by_email(db, "agent.lille@example.com")
    link = users_admin.issue_password_reset(user, actor=admin)

    with pytest.raises(InvalidInput) as error:
        users_admin.consume_reset_token(link.token, "short")
    with pytest.raises(InvalidInput):
        users_admin.consume_reset_token(link.token, "qwertyuiop")

    assert list(error.value.field_errors) == ["password"]
    users_admin.consume_reset_token(link.token, NEW_PASSWORD)


def test_a_deactivated_user_gets_no_reset_link(db, admin):
    user = user_by_email(db, "agent.lille@example.com")
    users_admin.deactivate_user(user, actor=admin)

    with pytest.raises(InvalidInput):
        users_admin.issue_password_reset(user, actor=admin)


# -- role, unit, deactivation --------------------------------------------------------------


def test_set_role_and_unit_changes_both_and_audits_before_and_after(db, admin):
    user = user_by_email(db, "agent.lille@example.com")

    users_admin.set_role_and_unit(user.id, "lead", "roubaix", actor=admin)

    db.session.expire_all()
    assert (user.role, user.unit.key) == ("lead", "roubaix")
    event = last_event(db)
    assert (event.type, event.data["before"], event.data["after"]) == (
        "user_role_unit_changed", {"role": "agent", "unit": "lille"},
        {"role": "lead", "unit": "roubaix"})


def test_set_role_and_unit_refuses_a_closed_unit_and_the_last_admin_s_demotion(db, admin):
    from irritants.services import org_edit

    org_edit.close_unit("app-support", actor=admin)
    user = user_by_email(db, "agent.lille@example.com")

    with pytest.raises(InvalidInput) as closed:
        users_admin.set_role_and_unit(user, "agent", "app-support", actor=admin)
    with pytest.raises(InvalidInput) as last_admin:
        users_admin.set_role_and_unit(admin, "director", "hq", actor=admin)

    assert list(closed.value.field_errors) == ["unit"]
    assert list(last_admin.value.field_errors) == ["role"]
    db.session.expire_all()
    assert (user.unit.key, admin.role) == ("lille", "admin")


def test_deactivate_user_bumps_the_session_version_and_revokes_every_api_token(db, admin):
    user = user_by_email(db, "agent.lille@example.com")
    version = user.session_version
    now = utcnow()
    for number in range(2):
        db.session.add(ApiToken(user_id=user.id, token_hash=f"{number:064d}",
                                expires_at=now + timedelta(days=30)))
    db.session.commit()
    link = users_admin.issue_password_reset(user, actor=admin)

    users_admin.deactivate_user(user.id, actor=admin, now=now)

    db.session.expire_all()
    assert (user.is_active_account, user.session_version) == (False, version + 1)
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()
    assert [token.revoked_at for token in tokens] == [now, now]
    assert authenticate("agent.lille@example.com", "lille-agent-pass") is None
    with pytest.raises(ExpiredLink):
        users_admin.consume_reset_token(link.token, NEW_PASSWORD)
    event = last_event(db)
    assert (event.type, event.data["api_tokens_revoked"], event.data["links_revoked"]) == (
        "user_deactivated", 2, 1)


def test_deactivate_user_refuses_one_s_own_account(db, admin):
    with pytest.raises(InvalidInput) as error:
        users_admin.deactivate_user(admin, actor=admin)

    assert error.value.field_errors == {"user": ["You cannot deactivate your own account."]}
    db.session.expire_all()
    assert admin.is_active_account is True


def test_reactivate_user_lets_the_user_sign_in_again_with_old_tokens_still_revoked(db, admin):
    user = user_by_email(db, "agent.lille@example.com")
    db.session.add(ApiToken(user_id=user.id, token_hash="1" * 64,
                            expires_at=utcnow() + timedelta(days=30)))
    db.session.commit()
    users_admin.deactivate_user(user, actor=admin)

    users_admin.reactivate_user(user, actor=admin)

    assert authenticate("agent.lille@example.com", "lille-agent-pass") is not None
    assert users_admin.active_api_tokens(user) == 0
    types = db.session.scalars(select(AuditEvent.type).order_by(AuditEvent.id)).all()
    assert types[-2:] == ["user_deactivated", "user_reactivated"]


def test_unknown_user_is_not_found(db, admin):
    with pytest.raises(NotFound):
        users_admin.deactivate_user(999999, actor=admin)


def test_list_users_searches_email_and_name(db, admin):
    page = users_admin.list_users("lead")

    assert [user.email for user in page.items] == [
        "lead.lille@example.com", "lead.north@example.com", "lead.northbo@example.com"]
    assert users_admin.list_users("nora").total == 1
