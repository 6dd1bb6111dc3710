"""Access rules of page routes: every page view declares who may open it.

    @bp.get("/queue")
    @role_required("lead", "director")
    def index(): ...

A visitor who is not signed in is sent to the sign-in page (the API answers 401); a
signed-in user of another role gets 403. `public` marks the few pages anyone may open.
tests/web/test_route_rules.py checks every route against its table.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from irritants.extensions import login_manager
from irritants.models import ROLES

View = TypeVar("View", bound=Callable[..., Any])
SIGNED_IN = ROLES


def role_required(*roles: str) -> Callable[[View], View]:
    """Allow the view to signed-in users of these roles only."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"role_required needs roles among {ROLES}, got {roles!r}")

    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        guarded.access_rule = frozenset(roles)  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorator


def public(view: View) -> View:
    """Mark a view that anyone may open, signed in or not."""
    view.access_rule = "public"  # type: ignore[attr-defined]
    return view
