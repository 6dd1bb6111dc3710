"""In-app notifications and the emails that go with them.

Both are written in the transaction of the change that causes them: the
in-app Notification row directly (unique per user and dedupe key), the email
as an outbox row that a job performs after commit (services/outbox.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from irritants.extensions import db
from irritants.models import (
    Irritant,
    IrritantEvent,
    JSONType,
    Notification,
    OutboxMessage,
    User,
    UTCDateTime,
    utcnow,
)
from irritants.services.messages import _
from irritants.services.outbox import add_email, deliver_pending  # noqa: F401 (re-exported)
from irritants.services.rows import has_insert_hooks, insert_objects, insert_rows

_users = User.__table__
_notifications = Notification.__table__
# Built once: this runs with every logging (a Core statement, no ORM entities).
_LEAD_IDS = (select(_users.c.id)
             .where(_users.c.unit_id == bindparam("unit_id"), _users.c.role == "lead",
                    _users.c.active.is_(True))
             .order_by(_users.c.id))
# The leads' in-app notifications, written by one INSERT ... SELECT over the leads that
# hands back who they are (no separate read of the leads): one statement per logging.
_NOTIFY_LEADS = insert(_notifications).from_select(
    ["user_id", "irritant_id", "kind", "dedupe_key", "data", "created_at"],
    select(_users.c.id, bindparam("irritant_id", type_=_notifications.c.irritant_id.type),
           bindparam("kind", type_=_notifications.c.kind.type),
           bindparam("dedupe_key", type_=_notifications.c.dedupe_key.type),
           bindparam("data", type_=JSONType), bindparam("created_at", type_=UTCDateTime()))
    .where(_users.c.unit_id == bindparam("unit_id"), _users.c.role == "lead",
           _users.c.active.is_(True)),
).returning(_notifications.c.user_id)


def notify_assigned(irritant: Irritant, event: IrritantEvent, how: str) -> list[OutboxMessage]:
    """Tell the leads of the new assignee (in-app and email); how: logged, escalation,
    sla_escalated or reassigned. No commit."""
    from irritants.services.snapshot import cached_org

    org = cached_org()
    unit_name = org.snapshot.unit(org.key_of[irritant.assignee_id]).name
    data = {"irritant_id": irritant.id, "how": how, "unit": unit_name, "event_id": event.id}
    # Core statements (services/rows.py): this is on the path of every logging.
    if has_insert_hooks(Notification):  # rows dated by the demo loader's listeners
        leads = db.session.scalars(_LEAD_IDS, {"unit_id": irritant.assignee_id}).all()
        insert_rows(Notification, [
            {"user_id": lead, "irritant_id": irritant.id, "kind": "assigned",
             "dedupe_key": f"assigned:{event.id}", "data": data}
            for lead in leads
        ])
    else:
        leads = sorted(db.session.scalars(_NOTIFY_LEADS, {
            "unit_id": irritant.assignee_id, "irritant_id": irritant.id, "kind": "assigned",
            "dedupe_key": f"assigned:{event.id}", "data": data, "created_at": utcnow(),
        }).all())
    return insert_objects(OutboxMessage, [
        {"kind": "email", "dedupe_key": f"assigned:{event.id}:{lead}",
         "payload": {"template": "assigned", "user_id": lead, "irritant_id": irritant.id,
                     "event_id": event.id}}
        for lead in leads
    ])


def notify_resolved(irritant: Irritant, event: IrritantEvent) -> list[OutboxMessage]:
    """Tell the reporter, with the resolution (in-app and email). No commit."""
    reporter = irritant.reporter
    if reporter is None or not reporter.is_active:
        return []
    _add_notification(reporter.id, irritant.id, "resolved", f"resolved:{event.id}",
                      {"resolution": irritant.resolution, "event_id": event.id})
    return [add_email(template="resolved", user_id=reporter.id,
                      dedupe_key=f"resolved:{event.id}:{reporter.id}",
                      irritant_id=irritant.id, event_id=event.id)]


def _add_notification(user_id: int, irritant_id: int, kind: str, dedupe_key: str,
                      data: dict[str, Any]) -> None:
    db.session.add(Notification(user_id=user_id, irritant_id=irritant_id, kind=kind,
                                dedupe_key=dedupe_key, data={"irritant_id": irritant_id, **data}))


def notifications_for(user: User, *, unread_only: bool = False, limit: int = 20
                      ) -> list[Notification]:
    """The user's notifications, newest first."""
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(db.session.scalars(query.order_by(Notification.id.desc()).limit(limit)).all())


def unread_count(user: User) -> int:
    """How many notifications the user has not read."""
    return db.session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def mark_read(user: User, notification_ids: Iterable[int] | None = None,
              now: datetime | None = None) -> None:
    """Mark the user's notifications read (all of them when ids is None); others' are untouched."""
    query = update(Notification).where(Notification.user_id == user.id,
                                       Notification.read_at.is_(None))
    if notification_ids is not None:
        ids = [int(value) for value in notification_ids]
        if not ids:
            return
        query = query.where(Notification.id.in_(ids))
    db.session.execute(query.values(read_at=now or utcnow()),
                       execution_options={"synchronize_session": False})
    db.session.commit()


def notification_text(notification: Notification) -> str:
    """One sentence for the notification list, in the current language."""
    data = notification.data or {}
    number = data.get("irritant_id", notification.irritant_id)
    if notification.kind == "resolved":
        return _("Irritant #%(id)s you logged is resolved.", id=number)
    unit = data.get("unit", "")
    texts = {
        "escalation": _("Irritant #%(id)s was escalated to %(unit)s.", id=number, unit=unit),
        "sla_escalated": _("Irritant #%(id)s was overdue and is now with %(unit)s.",
                           id=number, unit=unit),
        "reassigned": _("Irritant #%(id)s was reassigned to %(unit)s.", id=number, unit=unit),
    }
    return texts.get(data.get("how", ""),
                     _("A new irritant, #%(id)s, is assigned to %(unit)s.", id=number, unit=unit))
