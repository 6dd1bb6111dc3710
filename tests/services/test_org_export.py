"""export_org: the import format back, in a stable order; export -> import changes nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from irritants.models import AuditEvent
from irritants.services.org_admin import DEFAULT_ROOT_CAUSES, export_org, import_org
from irritants.services.org_version import current_org_version

DEMO_ORG = Path(__file__).resolve().parents[2] / "irritants" / "seed" / "demo_org.json"


def test_export_lists_units_parents_first_then_by_key(db, org):
    exported = export_org()

    assert [unit["key"] for unit in exported["units"]] == [
        "hq", "cs", "north", "lille", "north-bo", "roubaix", "south", "marseille", "nice",
        "digital", "app-support", "logistics",
    ]


def test_export_writes_each_unit_with_sorted_sets(db, org):
    units = {unit["key"]: unit for unit in export_org()["units"]}

    assert units["hq"] == {
        "key": "hq", "name": "Head office", "parent": None,
        "competencies": ["billing", "delivery", "digital", "policy", "product", "service"],
        "authorities": {"gesture": None, "policy-exception": None, "refund": None},
        "tools": ["crm", "erp"],
    }
    assert units["north-bo"] == {
        "key": "north-bo", "name": "North back-office", "parent": "north",
        "competencies": ["billing", "delivery"],
        "authorities": {"gesture": 300, "refund": 500},
        "tools": ["carrier-portal", "crm"],
    }


def test_export_writes_categories_with_both_labels_sla_hours_and_root_causes(db, org):
    categories = export_org()["categories"]

    assert [category["key"] for category in categories] == [
        "app-bug", "billing-error", "faulty-product", "late-delivery", "rude-service"]
    assert categories[3] == {
        "key": "late-delivery",
        "label": {"fr": "Late delivery", "en": "Late delivery"},
        "competency": "delivery",
        "authority": "gesture",
        "tools": ["carrier-portal"],
        "sla_hours": {"critical": 2},
        "root_causes": list(DEFAULT_ROOT_CAUSES),
    }
    assert categories[4]["authority"] is None


def test_export_writes_users_without_passwords(db, org):
    users = export_org()["users"]

    assert users[0] == {"email": "admin@example.com", "name": "Adam Admin", "unit": "hq",
                        "role": "admin"}
    assert [user["email"] for user in users] == sorted(user["email"] for user in users)
    assert all("password" not in user for user in users)
    assert len(users) == 7


def test_export_writes_labels_by_section(db):
    data = {
        "units": [{"key": "hq", "name": "HQ", "parent": None}],
        "labels": {"tools": {"pos": {"fr": "caisse", "en": "till"},
                             "crm": {"fr": "CRM", "en": "CRM"}}},
    }
    import_org(data)

    assert export_org()["labels"] == {
        "competencies": {},
        "authorities": {},
        "tools": {"crm": {"fr": "CRM", "en": "CRM"}, "pos": {"fr": "caisse", "en": "till"}},
    }


def test_export_then_import_changes_nothing(db, org):
    exported = export_org()
    audit_events = db.session.scalar(select(func.count()).select_from(AuditEvent))

    report = import_org(json.loads(json.dumps(exported)))

    assert report.changed is False
    assert current_org_version() == 1
    assert export_org() == exported
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audit_events


def test_the_demo_organisation_round_trips(db):
    demo = json.loads(DEMO_ORG.read_text(encoding="utf-8"))
    import_org(demo)
    exported = export_org()

    report = import_org(copy.deepcopy(exported))

    assert report.changed is False
    assert export_org() == exported
    assert _without_passwords(demo)["users"] == sorted(
        exported["users"], key=lambda user: demo_order(demo, user))
    assert {unit["key"]: unit for unit in exported["units"]} == {
        unit["key"]: unit for unit in demo["units"]}
    assert exported["labels"] == demo["labels"]


def demo_order(demo: dict[str, Any], user: dict[str, Any]) -> int:
    return [entry["email"] for entry in demo["users"]].index(user["email"])


def _without_passwords(data: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(data)
    for user in copied["users"]:
        del user["password"]
    return copied
