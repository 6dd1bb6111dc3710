"""Who may do what, exactly as api.md's table says ("Who may do what").

Two kinds of answer: role_may() is function-level (a role that may never do
the operation: 403); the may_* predicates are object-level. Services raise
NotAllowed when the role may never do it, and NotFound when the object is
outside the actor's scope for that operation, even when the actor may read it
(api.md: "An object outside the caller's scope: 404, as if it did not exist";
for example a lead reading an irritant that originated in their subtree but is
assigned elsewhere, who asks to escalate it).
"""

from __future__ import annotations

from irritants.models import Irritant, User
from irritants.services.snapshot import cached_org

# operation -> roles that may ever do it (api.md)
OPERATIONS: dict[str, frozenset[str]] = {
    "log": frozenset({"agent", "lead", "director", "admin"}),
    "read": frozenset({"agent", "lead", "director", "admin"}),
    "comment": frozenset({"agent", "lead", "director"}),
    "take": frozenset({"agent", "lead"}),
    "escalate": frozenset({"lead", "director"}),
    "reassign": frozenset({"lead", "director"}),
    "resolve": frozenset({"agent", "lead", "director"}),
    "queue": frozenset({"agent", "lead", "director", "admin"}),
    "gaps": frozenset({"lead", "director", "admin"}),
    "whatif": frozenset({"director"}),
    "admin": frozenset({"admin"}),
}
SEES_ALL = frozenset({"director", "admin"})


def role_may(user: User, operation: str) -> bool:
    """Whether the user's role may ever do the operation (function-level check)."""
    return user.role in OPERATIONS[operation]


def unit_key_of(user: User) -> str | None:
    """The key of the user's unit."""
    return cached_org().key_of.get(user.unit_id)


def subtree_of(unit_key: str) -> frozenset[str]:
    """The unit and all its descendants."""
    org = cached_org().snapshot
    return frozenset(org.subtree(unit_key)) if unit_key in org else frozenset()


def subtree_ids(unit_key: str) -> list[int]:
    """Database ids of the unit and all its descendants."""
    org = cached_org()
    if unit_key not in org.snapshot:
        return []
    return [org.id_of[key] for key in org.snapshot.subtree(unit_key)]


def in_subtree_of(user: User, unit_id: int | None) -> bool:
    """Whether the unit (by id) is the user's unit or one of its descendants."""
    org = cached_org()
    own, other = org.key_of.get(user.unit_id), org.key_of.get(unit_id) if unit_id else None
    if own is None or other is None:
        return False
    return org.snapshot.is_in_subtree(other, own)


def may_read(user: User, irritant: Irritant) -> bool:
    """agent: logged it, or it originates at or is assigned to their unit; lead: subtree."""
    if user.role in SEES_ALL:
        return True
    if user.role == "agent":
        return (
            irritant.reporter_id == user.id
            or irritant.origin_unit_id == user.unit_id
            or irritant.assignee_id == user.unit_id
        )
    if user.role == "lead":
        return in_subtree_of(user, irritant.origin_unit_id) or in_subtree_of(
            user, irritant.assignee_id
        )
    return False


def may_comment(user: User, irritant: Irritant) -> bool:
    """Anyone who may read it, except admins."""
    return role_may(user, "comment") and may_read(user, irritant)


def may_take(user: User, irritant: Irritant) -> bool:
    """Agents and leads, when the assignee is their own unit."""
    return role_may(user, "take") and irritant.assignee_id == user.unit_id


def may_escalate(user: User, irritant: Irritant) -> bool:
    """A lead with the assignee in their subtree, or a director."""
    if user.role == "director":
        return True
    return user.role == "lead" and in_subtree_of(user, irritant.assignee_id)


def may_reassign(user: User, irritant: Irritant) -> bool:
    """The same people as escalation."""
    return may_escalate(user, irritant)


def may_resolve(user: User, irritant: Irritant) -> bool:
    """agent: assignee is their unit; lead: assignee in their subtree; director: all."""
    if user.role == "director":
        return True
    if user.role == "agent":
        return irritant.assignee_id == user.unit_id
    return user.role == "lead" and in_subtree_of(user, irritant.assignee_id)


def may_view_queue(user: User, unit_key: str) -> bool:
    """agent: their own unit; lead: units in their subtree; director and admin: all."""
    org = cached_org()
    if unit_key not in org.snapshot:
        return False
    if user.role in SEES_ALL:
        return True
    own = org.key_of.get(user.unit_id)
    if own is None:
        return False
    if user.role == "agent":
        return unit_key == own
    return user.role == "lead" and org.snapshot.is_in_subtree(unit_key, own)


def may_view_gaps(user: User) -> bool:
    """Leads (their subtree), directors and admins."""
    return role_may(user, "gaps")


def may_run_whatif(user: User) -> bool:
    """Directors only."""
    return role_may(user, "whatif")


def may_admin(user: User) -> bool:
    """Admins only: org, categories, users."""
    return role_may(user, "admin")
