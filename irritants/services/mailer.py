"""Emails of the outbox, rendered in the recipient's language, plain text and HTML.

Only templates/email/*.html are autoescaped by Jinja; the .txt bodies are plain
text, and subjects are built here with CR, LF and other control characters
removed from the data they carry (no header injection).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_mailman import EmailMultiAlternatives
from sqlalchemy.orm import joinedload

from irritants.extensions import db
from irritants.models import Irritant, IrritantEvent, OutboxMessage, User
from irritants.services.messages import _

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def header_safe(text: str, max_length: int = 200) -> str:
    """One line: control characters (CR, LF...) become spaces; at most max_length."""
    cleaned = _CONTROL.sub(" ", text).strip()
    return cleaned if len(cleaned) <= max_length else cleaned[: max_length - 1] + "…"


def message_id_for(message: OutboxMessage) -> str:
    """A Message-ID that is the same every time this outbox row is sent."""
    sender = str(current_app.config.get("MAIL_DEFAULT_SENDER") or "irritants@localhost")
    domain = sender.rpartition("@")[2].strip(">") or "localhost"
    digest = hashlib.sha256(message.dedupe_key.encode()).hexdigest()[:16]
    return f"<irritants.{message.id}.{digest}@{domain}>"


def irritant_link(irritant_id: int) -> str:
    """The irritant's page, for the email."""
    base = str(current_app.config.get("SERVER_BASE_URL") or "").rstrip("/")
    return f"{base}/irritants/{irritant_id}"


def render_email(name: str, context: dict[str, Any]) -> str:
    """Render an email template without the page context processors (there is no request):
    the app's Jinja environment still autoescapes .html and translates."""
    return current_app.jinja_env.get_template(name).render(**context)


_IRRITANT_LOADS = (joinedload(Irritant.category), joinedload(Irritant.assignee))
_EVENT_LOADS = (joinedload(IrritantEvent.assignee),)


def preload_for_emails(payloads: list[dict[str, Any]]) -> list[Any]:
    """Read the recipients, irritants and events of these emails in one query each, into
    the session, where send_outbox_email finds them; hold the list while sending."""
    def ids(key: str) -> set[int]:
        return {payload[key] for payload in payloads if isinstance(payload.get(key), int)}

    loaded: list[Any] = []
    for model, key, loads in ((User, "user_id", ()), (Irritant, "irritant_id", _IRRITANT_LOADS),
                              (IrritantEvent, "event_id", _EVENT_LOADS)):
        wanted = ids(key)
        if wanted:
            loaded += db.session.scalars(
                db.select(model).options(*loads).where(model.id.in_(wanted))
            ).unique().all()
    return loaded


def send_outbox_email(message: OutboxMessage) -> None:
    """Render and send one outbox email; raises on a failed send (the outbox retries).

    Rows already in the session (preload_for_emails) cost no query."""
    payload = message.payload
    user = db.session.get(User, payload["user_id"])
    if user is None or not user.is_active:
        return  # nobody to tell any more: done, not retried
    irritant = db.session.get(Irritant, payload["irritant_id"], options=_IRRITANT_LOADS)
    if irritant is None:
        return
    event = db.session.get(IrritantEvent, payload.get("event_id") or 0, options=_EVENT_LOADS)
    locale = user.locale if user.locale in ("fr", "en") else "fr"
    with force_locale(locale):
        subject, context = _content(payload["template"], user, irritant, event, locale)
        body = render_email(f"email/{payload['template']}.txt", context)
        html = render_email(f"email/{payload['template']}.html", context)
    email = EmailMultiAlternatives(
        subject=header_safe(subject),
        body=body,
        to=[user.email],
        headers={"Message-ID": message_id_for(message)},
    )
    email.attach_alternative(html, "text/html")
    email.send()


def severity_label(severity: str) -> str:
    """The severity in the language being rendered (the key when it is unknown)."""
    labels = {"low": _("Low"), "medium": _("Medium"), "high": _("High"),
              "critical": _("Critical")}
    return labels.get(severity, severity)


def _content(
    template: str, user: User, irritant: Irritant, event: IrritantEvent | None, locale: str
) -> tuple[str, dict[str, Any]]:
    category = header_safe(irritant.category.label(locale), 120)
    unit = header_safe(event.assignee.name if event and event.assignee else irritant.assignee.name,
                       120)
    how = (event.data or {}).get("kind") if event and event.type == "routed" else (
        event.type if event else "logged"
    )
    context: dict[str, Any] = {
        "user": user,
        "irritant": irritant,
        "event": event,
        "category": irritant.category.label(locale),
        "unit": event.assignee.name if event and event.assignee else irritant.assignee.name,
        "how": how,
        "severity": severity_label(irritant.severity),
        "reason": (event.data or {}).get("reason") if event else None,
        "link": irritant_link(irritant.id),
    }
    if template == "resolved":
        return _("Irritant #%(id)s resolved: %(category)s", id=irritant.id,
                 category=category), context
    subjects = {
        "escalation": _("Irritant #%(id)s escalated to %(unit)s: %(category)s"),
        "sla_escalated": _("Overdue irritant #%(id)s escalated to %(unit)s: %(category)s"),
        "reassigned": _("Irritant #%(id)s reassigned to %(unit)s: %(category)s"),
    }
    pattern = subjects.get(str(how), _("New irritant #%(id)s for %(unit)s: %(category)s"))
    return pattern % {"id": irritant.id, "unit": unit, "category": category}, context
