"""The small shared organisation (tests/fixtures/org-small.json) as the routing core sees it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from irritants.routing import Requirements, Unit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ORG = json.loads((FIXTURES / "org-small.json").read_text(encoding="utf-8"))
CATEGORIES = {category["key"]: category for category in ORG["categories"]}


def unit_from_json(data: dict[str, Any]) -> Unit:
    """A Unit from routing.md's import format."""
    return Unit(
        key=data["key"],
        name=data["name"],
        parent=data["parent"],
        competencies=frozenset(data["competencies"]),
        authorities=data["authorities"],
        tools=frozenset(data["tools"]),
    )


def small_units() -> list[Unit]:
    """The units of the small org."""
    return [unit_from_json(unit) for unit in ORG["units"]]


def needs_at_logging(category_key: str, amount: int | float | Decimal = 0) -> Requirements:
    """routing.md: the category's competency, authority with the amount, and tools."""
    category = CATEGORIES[category_key]
    return Requirements.for_category(
        category["competency"], category.get("authority"), amount, category["tools"]
    )
