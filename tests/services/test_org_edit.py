"""Editing the organisation by hand: units, capabilities, vocabularies, categories."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from irritants.models import AuditEvent, Category, Irritant, Unit, User, VocabularyLabel
from irritants.services import org_edit
from irritants.services.errors import InvalidInput, NotFound
from irritants.services.org_version import current_org_version


@pytest.fixture
def admin(org: dict[str, Any], db: Any) -> User:
    return db.session.scalar(select(User).where(User.email == "admin@example.com"))


def unit(db: Any, key: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.key == key))


def audit_count(db: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def parent_of(db: Any, key: str) -> str | None:
    db.session.expire_all()
    row = unit(db, key)
    return row.parent.key if row.parent else None


def snapshot_of_org(db: Any) -> list[tuple[Any, ...]]:
    db.session.expire_all()
    return [
        (u.key, u.name, u.parent_id, sorted(u.competencies), u.authorities, sorted(u.tools),
         u.closed_at)
        for u in db.session.scalars(select(Unit).order_by(Unit.key))
    ]


# -- create, rename, move ---------------------------------------------------------------


def test_create_unit_adds_an_open_unit_bumps_the_version_once_and_audits(db, admin):
    version, events = current_org_version(), audit_count(db)

    created = org_edit.create_unit("lens", "Store Lens", "north", actor=admin)

    assert (created.key, created.name, created.parent.key, created.closed_at) == (
        "lens", "Store Lens", "north", None)
    assert current_org_version() == version + 1
    assert audit_count(db) == events + 1
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.type, event.subject, event.actor_id) == ("unit_created", "lens", admin.id)
    assert event.data == {"before": None,
                          "after": {"key": "lens", "name": "Store Lens", "parent": "north"},
                          "org_version": version + 1}


@pytest.mark.parametrize(("key", "name", "parent", "field"), [
    ("Lens Store", "Store Lens", "north", "key"),
    ("lille", "Another Lille", "north", "key"),
    ("lens", "  ", "north", "name"),
    ("lens", "x" * 201, "north", "name"),
    ("lens", "Store Lens", "nowhere", "parent"),
    ("lens", "Store Lens", None, "parent"),
])
def test_create_unit_refuses_bad_input_and_writes_nothing(db, admin, key, name, parent, field):
    version, before = current_org_version(), snapshot_of_org(db)

    with pytest.raises(InvalidInput) as error:
        org_edit.create_unit(key, name, parent, actor=admin)

    assert list(error.value.field_errors) == [field]
    assert current_org_version() == version
    assert snapshot_of_org(db) == before


def test_rename_unit_changes_the_name_and_renaming_to_the_same_name_changes_nothing(db, admin):
    version = current_org_version()

    org_edit.rename_unit("lille", "Lille Centre", actor=admin)
    org_edit.rename_unit("lille", "Lille Centre", actor=admin)

    assert unit(db, "lille").name == "Lille Centre"
    assert current_org_version() == version + 1
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.data["before"] == {"name": "Store Lille"}
    assert event.data["after"] == {"name": "Lille Centre"}


def test_move_unit_moves_its_whole_subtree_and_bumps_the_version_once(db, admin):
    version = current_org_version()

    org_edit.move_unit("north", "south", actor=admin)

    assert parent_of(db, "north") == "south"
    assert parent_of(db, "lille") == "north"  # the subtree follows its root
    assert current_org_version() == version + 1
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.type, event.data["before"], event.data["after"]) == (
        "unit_moved", {"parent": "cs"}, {"parent": "south"})


@pytest.mark.parametrize("new_parent", ["north", "lille", "north-bo"])
def test_move_unit_under_itself_or_a_descendant_is_refused_naming_the_key(db, admin, new_parent):
    version, before = current_org_version(), snapshot_of_org(db)

    with pytest.raises(InvalidInput) as error:
        org_edit.move_unit("north", new_parent, actor=admin)

    assert list(error.value.field_errors) == ["parent"]
    message = error.value.field_errors["parent"][0]
    assert "cycle" in message
    assert "'north'" in message
    assert f"'{new_parent}'" in message
    assert current_org_version() == version
    assert snapshot_of_org(db) == before


def test_move_unit_refuses_moving_the_root(db, admin):
    with pytest.raises(InvalidInput) as error:
        org_edit.move_unit("hq", "cs", actor=admin)

    assert error.value.field_errors == {
        "parent": ["Unit 'hq' is the root of the organisation: it cannot be moved."]}
    assert parent_of(db, "hq") is None


def test_move_unit_refuses_an_unknown_or_closed_parent(db, admin):
    org_edit.close_unit("app-support", actor=admin)
    version = current_org_version()

    with pytest.raises(InvalidInput) as unknown:
        org_edit.move_unit("lille", "atlantis", actor=admin)
    with pytest.raises(InvalidInput) as closed:
        org_edit.move_unit("lille", "app-support", actor=admin)

    assert unknown.value.field_errors == {"parent": ["Unknown unit 'atlantis'."]}
    assert closed.value.field_errors == {
        "parent": ["Unit 'app-support' is closed: it cannot receive a unit."]}
    assert parent_of(db, "lille") == "north"
    assert current_org_version() == version


def test_move_unit_to_its_current_parent_changes_nothing(db, admin):
    version, events = current_org_version(), audit_count(db)

    org_edit.move_unit("lille", "north", actor=admin)

    assert (current_org_version(), audit_count(db)) == (version, events)


def test_unknown_unit_is_not_found(db, admin):
    with pytest.raises(NotFound):
        org_edit.rename_unit("atlantis", "Atlantis", actor=admin)


# -- close and reopen ---------------------------------------------------------------------


def test_close_unit_keeps_the_unit_and_reopen_opens_it_each_bumping_once(db, admin):
    version = current_org_version()

    org_edit.close_unit("app-support", actor=admin)
    assert unit(db, "app-support").closed_at is not None
    assert current_org_version() == version + 1

    org_edit.close_unit("app-support", actor=admin)  # already closed: nothing changes
    assert current_org_version() == version + 1

    org_edit.reopen_unit("app-support", actor=admin)
    assert unit(db, "app-support").closed_at is None
    assert current_org_version() == version + 2
    types = db.session.scalars(select(AuditEvent.type).order_by(AuditEvent.id)).all()
    assert types[-2:] == ["unit_closed", "unit_reopened"]


def test_close_unit_refuses_a_unit_with_open_sub_units(db, admin):
    with pytest.raises(InvalidInput) as error:
        org_edit.close_unit("digital", actor=admin)

    assert error.value.field_errors == {"unit": [
        "Unit 'digital' still has open sub-units (app-support): close or move them first."]}
    assert unit(db, "digital").closed_at is None


def test_close_unit_refuses_a_unit_with_active_users_naming_them(db, admin):
    with pytest.raises(InvalidInput) as error:
        org_edit.close_unit("lille", actor=admin)

    assert error.value.field_errors == {"unit": [
        "Unit 'lille' still has active users (agent.lille@example.com, "
        "lead.lille@example.com): move or deactivate them first."]}


def test_close_unit_refuses_a_unit_with_unresolved_irritants_assigned(db, admin):
    app_support = unit(db, "app-support")
    category = db.session.scalar(select(Category).where(Category.key == "app-bug"))
    db.session.add(Irritant(
        category=category, severity="low", description="crash", origin_unit=app_support,
        assignee=app_support, status="open", initial_requirements={}, requirements={},
        due_at=org_edit.utcnow()))
    db.session.commit()

    with pytest.raises(InvalidInput) as error:
        org_edit.close_unit("app-support", actor=admin)

    assert error.value.field_errors == {"unit": [
        "Unit 'app-support' still has 1 unresolved irritants assigned: resolve or reassign "
        "them first."]}


def test_close_unit_refuses_the_root(db, admin):
    with pytest.raises(InvalidInput) as error:
        org_edit.close_unit("hq", actor=admin)

    assert error.value.field_errors == {"unit": [
        "Unit 'hq' is the root of the organisation: it cannot be closed."]}


def test_reopen_unit_refuses_when_the_parent_is_closed(db, admin):
    org_edit.close_unit("app-support", actor=admin)
    org_edit.close_unit("digital", actor=admin)

    with pytest.raises(InvalidInput) as error:
        org_edit.reopen_unit("app-support", actor=admin)

    assert error.value.field_errors == {"unit": ["Its parent 'digital' is closed: reopen it "
                                                 "first."]}


def test_a_closed_unit_cannot_receive_a_new_unit(db, admin):
    org_edit.close_unit("app-support", actor=admin)

    with pytest.raises(InvalidInput) as error:
        org_edit.create_unit("qa", "QA", "app-support", actor=admin)

    assert list(error.value.field_errors) == ["parent"]


# -- capabilities and vocabularies ----------------------------------------------------------


def test_set_unit_capabilities_replaces_them_from_the_vocabularies(db, admin):
    version = current_org_version()

    org_edit.set_unit_capabilities(
        "lille", competencies=["product", "service", "delivery"],
        tools=["pos", "refund-terminal"], authorities={"gesture": 80, "refund": None},
        actor=admin)

    row = unit(db, "lille")
    assert sorted(row.competencies) == ["delivery", "product", "service"]
    assert sorted(row.tools) == ["pos", "refund-terminal"]
    assert row.authorities == {"gesture": 80, "refund": None}
    assert current_org_version() == version + 1
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.type == "unit_capabilities_changed"
    assert event.data["before"] == {"competencies": ["product", "service"],
                                    "tools": ["pos"],
                                    "authorities": {"gesture": 50, "refund": 150}}
    assert event.data["after"] == {"competencies": ["delivery", "product", "service"],
                                   "tools": ["pos", "refund-terminal"],
                                   "authorities": {"gesture": 80, "refund": None}}


def test_a_typo_in_a_tool_is_refused_and_creates_no_tool(db, admin):
    version, before = current_org_version(), snapshot_of_org(db)

    with pytest.raises(InvalidInput) as error:
        org_edit.set_unit_capabilities(
            "lille", competencies=["product"], tools=["pos", "refund-termnal"],
            authorities={}, actor=admin)

    assert error.value.field_errors == {"tools": [
        "Unknown tool 'refund-termnal': choose one of the organisation's tools, or add it "
        "to the vocabulary first."]}
    assert snapshot_of_org(db) == before
    assert current_org_version() == version
    tools = [item.key for item in org_edit.vocabularies()["tool"]]
    assert "refund-termnal" not in tools


@pytest.mark.parametrize(("authorities", "field"), [
    ({"gesture": -1}, "authorities.gesture"),
    ({"gesture": "lots"}, "authorities.gesture"),
    ({"gesture": True}, "authorities.gesture"),
    ({"gestur": 10}, "authorities"),
])
def test_set_unit_capabilities_refuses_bad_limits_and_unknown_authorities(db, admin,
                                                                          authorities, field):
    before = snapshot_of_org(db)

    with pytest.raises(InvalidInput) as error:
        org_edit.set_unit_capabilities("lille", competencies=[], tools=[],
                                       authorities=authorities, actor=admin)

    assert list(error.value.field_errors) == [field]
    assert snapshot_of_org(db) == before


def test_setting_the_same_capabilities_again_changes_nothing(db, admin):
    version, events = current_org_version(), audit_count(db)

    org_edit.set_unit_capabilities("lille", competencies=["service", "product"], tools=["pos"],
                                   authorities={"gesture": 50, "refund": 150}, actor=admin)

    assert (current_org_version(), audit_count(db)) == (version, events)


def test_add_vocabulary_item_makes_a_new_tool_available(db, admin):
    version = current_org_version()

    org_edit.add_vocabulary_item("tool", "label-printer", "Imprimante d'étiquettes",
                                 "Label printer", actor=admin)
    org_edit.set_unit_capabilities("lille", competencies=[], tools=["label-printer"],
                                   authorities={}, actor=admin)

    assert unit(db, "lille").tools == ["label-printer"]
    assert current_org_version() == version + 2
    item = next(i for i in org_edit.vocabularies()["tool"] if i.key == "label-printer")
    assert (item.label("fr"), item.label("en"), item.units) == (
        "Imprimante d'étiquettes", "Label printer", 1)


@pytest.mark.parametrize(("kind", "key", "fr", "en", "field"), [
    ("gadget", "x", "X", "X", "kind"),
    ("tool", "Bad Key", "X", "X", "key"),
    ("tool", "pos", "Caisse", "Till", "key"),  # used by units already
    ("tool", "new-tool", "", "New", "label_fr"),
])
def test_add_vocabulary_item_refuses_bad_or_existing_items(db, admin, kind, key, fr, en, field):
    version = current_org_version()

    with pytest.raises(InvalidInput) as error:
        org_edit.add_vocabulary_item(kind, key, fr, en, actor=admin)

    assert field in error.value.field_errors
    assert current_org_version() == version
    assert db.session.scalar(select(func.count()).select_from(VocabularyLabel)) == 0


def test_relabel_vocabulary_item_labels_a_key_units_already_use(db, admin):
    version = current_org_version()

    org_edit.relabel_vocabulary_item("tool", "pos", "Caisse", "Till", actor=admin)
    org_edit.relabel_vocabulary_item("tool", "pos", "Caisse", "Till", actor=admin)

    label = db.session.scalar(select(VocabularyLabel).where(VocabularyLabel.key == "pos"))
    assert (label.kind, label.label_fr, label.label_en) == ("tool", "Caisse", "Till")
    assert current_org_version() == version + 1


def test_vocabularies_list_labelled_and_used_keys_with_their_use(db, admin):
    tools = {item.key: (item.units, item.categories) for item in org_edit.vocabularies()["tool"]}

    assert tools == {"app-admin": (2, 1), "carrier-portal": (3, 1), "crm": (5, 1),
                     "erp": (2, 0), "pos": (4, 0), "refund-terminal": (2, 1), "wms": (1, 0)}


# -- categories -----------------------------------------------------------------------------


def category_args(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "label_fr": "Colis abîmé", "label_en": "Damaged parcel", "competency": "delivery",
        "authority": "gesture", "tools": ["carrier-portal"],
        "sla_hours": {"critical": 2, "high": 12},
        "root_causes": [{"key": "carrier", "fr": "Transporteur", "en": "Carrier"}],
        "active": True,
    }
    values.update(changes)
    return values


def test_create_category_stores_every_field_and_bumps_once(db, admin):
    version = current_org_version()

    org_edit.create_category("damaged-parcel", **category_args(), actor=admin)

    row = db.session.scalar(select(Category).where(Category.key == "damaged-parcel"))
    assert (row.label_fr, row.label_en, row.competency, row.authority, row.tools,
            row.sla_hours, row.root_causes, row.active) == (
        "Colis abîmé", "Damaged parcel", "delivery", "gesture", ["carrier-portal"],
        {"critical": 2, "high": 12},
        [{"key": "carrier", "fr": "Transporteur", "en": "Carrier"}], True)
    assert current_org_version() == version + 1


def test_create_category_without_root_causes_gets_the_default_list(db, admin):
    args = category_args()
    del args["root_causes"]

    category = org_edit.create_category("damaged-parcel", **args, actor=admin)

    assert [cause["key"] for cause in category.root_causes] == [
        "process", "training", "tooling", "staffing", "supplier", "policy", "other"]


@pytest.mark.parametrize(("key", "changes", "field"), [
    ("late-delivery", {}, "key"),
    ("damaged-parcel", {"competency": "delivry"}, "competency"),
    ("damaged-parcel", {"authority": "gestur"}, "authority"),
    ("damaged-parcel", {"tools": ["carrier-portl"]}, "tools"),
    ("damaged-parcel", {"sla_hours": {"critical": 0}}, "sla_hours.critical"),
    ("damaged-parcel", {"sla_hours": {"urgent": 3}}, "sla_hours"),
    ("damaged-parcel", {"root_causes": []}, "root_causes"),
    ("damaged-parcel", {"root_causes": [{"key": "a", "fr": "A"}, {"key": "a", "fr": "B"}]},
     "root_causes"),
    ("damaged-parcel", {"label_en": ""}, "label_en"),
])
def test_create_category_refuses_bad_input_and_writes_nothing(db, admin, key, changes, field):
    version = current_org_version()
    count = db.session.scalar(select(func.count()).select_from(Category))

    with pytest.raises(InvalidInput) as error:
        org_edit.create_category(key, **category_args(**changes), actor=admin)

    assert field in error.value.field_errors
    assert db.session.scalar(select(func.count()).select_from(Category)) == count
    assert current_org_version() == version


def test_update_category_records_only_the_fields_that_changed(db, admin):
    version = current_org_version()
    current = org_edit._category_state(org_edit.get_category("late-delivery"))

    org_edit.update_category("late-delivery", **{**current, "sla_hours": {"critical": 1},
                                                 "active": False}, actor=admin)

    row = org_edit.get_category("late-delivery")
    assert (row.sla_hours, row.active) == ({"critical": 1}, False)
    assert current_org_version() == version + 1
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.type, event.data["before"], event.data["after"]) == (
        "category_changed", {"active": True, "sla_hours": {"critical": 2}},
        {"active": False, "sla_hours": {"critical": 1}})

    org_edit.update_category("late-delivery", **{**current, "sla_hours": {"critical": 1},
                                                 "active": False}, actor=admin)
    assert current_org_version() == version + 1


# -- reading --------------------------------------------------------------------------------


def test_search_units_finds_by_key_or_name_any_case_paginated(db, admin):
    by_name = org_edit.search_units("STORE", per_page=2)
    by_key = org_edit.search_units("north-")
    literal = org_edit.search_units("%")

    assert (by_name.total, [u.key for u in by_name.items]) == (4, ["lille", "marseille"])
    assert [u.key for u in org_edit.search_units("store", page=2, per_page=2).items] == [
        "nice", "roubaix"]
    assert [u.key for u in by_key.items] == ["north-bo"]
    assert literal.total == 0


def test_children_of_counts_sub_units_users_and_unresolved(db, admin):
    page = org_edit.children_of("north")

    assert [(u.key, u.children, u.users, u.unresolved) for u in page.items] == [
        ("lille", 0, 2, 0), ("north-bo", 0, 1, 0), ("roubaix", 0, 0, 0)]
    assert [u.key for u in org_edit.children_of(None).items] == ["hq"]


def test_ancestors_of_lists_the_breadcrumbs_root_first(db, admin):
    assert [u.key for u in org_edit.ancestors_of(unit(db, "lille"))] == ["hq", "cs", "north"]


# -- routing sees every change at once ------------------------------------------------------


def test_routing_sees_a_closed_unit_and_new_capabilities_at_once(db, admin):
    from irritants.services.intake import log_irritant
    from irritants.services.resolution import resolve_irritant

    agent = db.session.scalar(select(User).where(User.email == "agent.lille@example.com"))
    director = db.session.scalar(select(User).where(User.email == "director@example.com"))

    def assignee() -> str:
        irritant = log_irritant(agent, category="faulty-product", severity="low",
                                description="broken kettle", amount=20)
        key = irritant.assignee.key
        resolve_irritant(irritant.id, actor=director, resolution="refunded")
        return key

    assert assignee() == "roubaix"  # the nearest unit with the refund terminal
    org_edit.close_unit("roubaix", actor=admin)
    assert assignee() == "marseille"
    org_edit.set_unit_capabilities("lille", competencies=["product", "service"],
                                   tools=["pos", "refund-terminal"],
                                   authorities={"gesture": 50, "refund": 150}, actor=admin)
    assert assignee() == "lille"


def test_update_unit_renames_and_moves_as_one_change(db, admin):
    version, events = current_org_version(), audit_count(db)

    org_edit.update_unit("north", name="Nord", parent="hq", actor=admin)

    assert (unit(db, "north").name, parent_of(db, "north")) == ("Nord", "hq")
    assert (current_org_version(), audit_count(db)) == (version + 1, events + 1)
