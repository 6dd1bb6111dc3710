"""The navigation: which pages each role sees, and each role's home page.

Pages are built by several areas; an item shows only once its endpoint exists, so an
area adds its page and the item appears. To add an item, add a NavItem below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, request
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class NavItem:
    """A link of the top bar: the endpoint, its label and the roles that see it."""

    endpoint: str
    label: Any  # a lazy string, translated when rendered
    roles: frozenset[str]


def _item(endpoint: str, label: Any, *roles: str) -> NavItem:
    return NavItem(endpoint, label, frozenset(roles))


NAV_ITEMS: tuple[NavItem, ...] = (
    _item("intake.new", _l("Log an irritant"), "agent", "lead"),
    _item("intake.mine", _l("My irritants"), "agent", "lead"),
    _item("queue.index", _l("Queue"), "lead", "director"),
    _item("insights.dashboard", _l("Dashboard"), "director"),
    _item("insights.root_causes", _l("Root causes"), "director"),
    _item("insights.gaps", _l("Gaps"), "lead", "director", "admin"),
    _item("insights.whatif", _l("What-if"), "director"),
    _item("insights.map", _l("Map"), "director"),
    _item("admin.units", _l("Organisation"), "admin"),
    _item("admin.categories", _l("Categories"), "admin"),
    _item("admin.users", _l("Users"), "admin"),
)

ROLE_LABELS = {
    "agent": _l("Agent"),
    "lead": _l("Team lead"),
    "director": _l("Director"),
    "admin": _l("Administrator"),
}

# Where "/" sends each role, when that page exists.
HOME_ENDPOINTS = {
    "agent": "intake.new",
    "lead": "queue.index",
    "director": "insights.dashboard",
    "admin": "admin.units",
}


def nav_items_for(role: str | None) -> list[NavItem]:
    """The items a user of this role sees, among the pages that exist."""
    if role is None:
        return []
    views = current_app.view_functions
    return [item for item in NAV_ITEMS if role in item.roles and item.endpoint in views]


def home_endpoint_for(role: str) -> str | None:
    """The endpoint of the role's main page, or None while it does not exist."""
    endpoint = HOME_ENDPOINTS.get(role)
    return endpoint if endpoint in current_app.view_functions else None


def is_current(item: NavItem) -> bool:
    """Whether the request is for this item's page (for aria-current)."""
    return request.endpoint == item.endpoint


def role_label(role: str) -> str:
    """The role's name in the visitor's language."""
    return str(ROLE_LABELS.get(role, role))
