"""In-app notifications: the list, marking them read, the unread count for the top bar."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from irritants.services import notifications
from irritants.web.decorators import SIGNED_IN, role_required
from irritants.web.notifications import bp
from irritants.web.notifications.forms import MarkReadForm
from irritants.web.redirects import safe_target

LIST_LIMIT = 100


@bp.app_context_processor
def unread_notifications() -> dict[str, Any]:
    """`unread_notifications` for base.html's bell (0 when signed out)."""
    if not current_user or not current_user.is_authenticated:
        return {"unread_notifications": 0}
    return {"unread_notifications": notifications.unread_count(current_user)}


@bp.get("")
@role_required(*SIGNED_IN)
def index():
    """My notifications, newest first."""
    items = notifications.notifications_for(current_user, limit=LIST_LIMIT)
    return render_template(
        "notifications/index.html",
        items=items,
        text_of=notifications.notification_text,
        form=MarkReadForm(formdata=None),
    )


@bp.post("/read")
@role_required(*SIGNED_IN)
def read():
    """Mark one notification read (or all), then open where it points."""
    ids = [value for value in request.form.getlist("id") if value.isdigit()]
    notifications.mark_read(current_user, [int(value) for value in ids] if ids else None)
    target = safe_target(request.form.get("next")) or url_for("notifications.index")
    return redirect(target, 303)
