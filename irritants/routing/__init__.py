"""The routing core: pure functions over an immutable org snapshot (routing.md).

Standard library only: no Flask, SQLAlchemy, Redis or RQ, no I/O, no clock.
"""

from irritants.routing.engine import (
    Assignment,
    Gap,
    OpenLoad,
    Rank,
    Requirements,
    competent,
    competent_mask,
    gap_of,
    gaps_along,
    route,
)
from irritants.routing.org import Amount, FrozenMap, OrgSnapshot, Unit
from irritants.routing.whatif import Change, ReplayCase, WhatIfReport, apply_changes, replay

__all__ = [
    "Amount",
    "Assignment",
    "Change",
    "FrozenMap",
    "Gap",
    "OpenLoad",
    "OrgSnapshot",
    "Rank",
    "ReplayCase",
    "Requirements",
    "Unit",
    "WhatIfReport",
    "apply_changes",
    "competent",
    "competent_mask",
    "gap_of",
    "gaps_along",
    "replay",
    "route",
]
