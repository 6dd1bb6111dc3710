"""import_org: routing.md's org import format, its merge rules and its refusals."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from irritants.models import AuditEvent, Category, OrgState, Unit, User, VocabularyLabel
from irritants.services.errors import InvalidInput
from irritants.services.org_admin import DEFAULT_ROOT_CAUSES, export_org, import_org
from irritants.services.org_version import current_org_version

ROOT_CAUSE_KEYS = ["process", "training", "tooling", "staffing", "supplier", "policy", "other"]


def count(model: Any) -> int:
    from irritants.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


def row_counts() -> dict[str, int]:
    return {
        model.__name__: count(model)
        for model in (Unit, Category, User, VocabularyLabel, AuditEvent, OrgState)
    }


def unit_row(key: str) -> Unit:
    from irritants.extensions import db

    return db.session.scalars(select(Unit).where(Unit.key == key)).one()


def minimal_org() -> dict[str, Any]:
    return {
        "units": [
            {"key": "hq", "name": "HQ", "parent": None},
            {"key": "store", "name": "Store", "parent": "hq", "competencies": ["service"],
             "authorities": {"gesture": 50}, "tools": ["pos"]},
        ]
    }


# -- what an import writes ---------------------------------------------------------


def test_importing_the_small_org_creates_units_categories_and_users(db, org_data):
    report = import_org(org_data)

    assert report.counts() == {
        "units_created": 12, "units_updated": 0,
        "categories_created": 5, "categories_updated": 0,
        "users_created": 7, "users_updated": 0,
        "labels_created": 0, "labels_updated": 0,
    }
    assert report.changed is True
    assert report.org_version == 1
    lille = unit_row("lille")
    assert (lille.name, lille.parent.key) == ("Store Lille", "north")
    assert sorted(lille.competencies) == ["product", "service"]
    assert lille.authorities == {"gesture": 50, "refund": 150}
    assert lille.tools == ["pos"]
    assert unit_row("hq").parent_id is None
    assert unit_row("hq").authorities == {"gesture": None, "policy-exception": None,
                                          "refund": None}


def test_new_users_get_an_argon2id_hash_of_their_password(db, org_data):
    import_org(org_data)

    user = db.session.scalars(select(User).where(User.email == "lead.north@example.com")).one()
    assert (user.name, user.role, user.unit.key) == ("Nora Lead", "lead", "north")
    assert user.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(user.password_hash, "north-lead-pass")


def test_a_category_label_string_fills_both_languages_and_gets_default_root_causes(db, org):
    category = db.session.scalars(select(Category).where(Category.key == "late-delivery")).one()

    assert (category.label_fr, category.label_en) == ("Late delivery", "Late delivery")
    assert (category.competency, category.authority) == ("delivery", "gesture")
    assert category.tools == ["carrier-portal"]
    assert category.sla_hours == {"critical": 2}
    assert [cause["key"] for cause in category.root_causes] == ROOT_CAUSE_KEYS
    assert category.root_causes[0] == {"key": "process", "fr": "Processus", "en": "Process"}


def test_a_category_with_fr_en_label_and_root_causes_keeps_them(db):
    data = minimal_org()
    data["categories"] = [{
        "key": "long-queue", "label": {"fr": "File d'attente", "en": "Long queue"},
        "competency": "service", "tools": [], "sla_hours": {"low": 12.5, "high": 6},
        "root_causes": ["staffing", {"key": "till-down", "fr": "Caisse en panne",
                                     "en": "Till down"}, "queue-design"],
    }]
    import_org(data)

    category = db.session.scalars(select(Category)).one()
    assert (category.label_fr, category.label_en) == ("File d'attente", "Long queue")
    assert category.authority is None
    assert category.sla_hours == {"low": 12.5, "high": 6}
    assert category.root_causes == [
        {"key": "staffing", "fr": "Effectifs", "en": "Staffing"},
        {"key": "till-down", "fr": "Caisse en panne", "en": "Till down"},
        {"key": "queue-design", "fr": "queue-design", "en": "queue-design"},
    ]


def test_labels_name_competencies_authorities_and_tools_in_both_languages(db):
    data = minimal_org()
    data["labels"] = {
        "tools": {"refund-terminal": {"fr": "terminal de remboursement",
                                      "en": "refund terminal"}},
        "competencies": {"service": "Service"},
        "authorities": {},
    }
    report = import_org(data)

    rows = db.session.scalars(select(VocabularyLabel).order_by(VocabularyLabel.kind)).all()
    assert [(r.kind, r.key, r.label_fr, r.label_en) for r in rows] == [
        ("competency", "service", "Service", "Service"),
        ("tool", "refund-terminal", "terminal de remboursement", "refund terminal"),
    ]
    assert (report.labels_created, report.labels_updated) == (2, 0)


def test_limits_keep_their_number_type_and_null_means_unlimited(db):
    data = minimal_org()
    data["units"][1]["authorities"] = {"gesture": 50, "refund": 120.5, "credit": 300.0,
                                       "exception": None}
    import_org(data)

    authorities = unit_row("store").authorities
    assert authorities == {"gesture": 50, "refund": 120.5, "credit": 300.0, "exception": None}
    assert [type(authorities[key]) for key in ("gesture", "refund", "credit")] == [
        int, float, float]


def test_emails_are_compared_without_case(db, org_data):
    import_org(org_data)
    again = {"units": [], "users": [{"email": "Lead.North@Example.com", "name": "Nora Lead",
                                     "unit": "north", "role": "lead"}]}

    report = import_org(again)

    assert report.changed is False
    assert count(User) == 7


# -- merge rules ------------------------------------------------------------------------


def test_importing_the_same_file_twice_changes_nothing_and_keeps_the_org_version(db, org_data):
    import_org(org_data)
    before = export_org()

    report = import_org(copy.deepcopy(org_data))

    assert report.changed is False
    assert all(value == 0 for value in report.counts().values())
    assert report.org_version == 1
    assert current_org_version() == 1
    assert export_org() == before
    assert count(AuditEvent) == 1


def test_an_import_that_changes_something_writes_one_audit_event_with_its_counts(db, org):
    admin = db.session.scalars(select(User).where(User.role == "admin")).one()
    change = {"units": [{"key": "lille", "name": "Store Lille", "parent": "north",
                         "tools": ["pos", "refund-terminal"]}]}

    report = import_org(change, actor=admin)

    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [event.type for event in events] == ["org_import", "org_import"]
    assert events[1].actor_id == admin.id
    assert events[1].data == {**report.counts(), "org_version": 2}
    assert (report.units_created, report.units_updated, report.org_version) == (0, 1, 2)


def test_import_updates_what_it_names_keeps_left_out_fields_and_deletes_nothing(db, org):
    change = {"units": [{"key": "lille", "name": "Magasin Lille", "parent": "north",
                         "tools": ["refund-terminal", "pos"]}]}

    report = import_org(change)

    lille = unit_row("lille")
    assert (lille.name, sorted(lille.tools)) == ("Magasin Lille", ["pos", "refund-terminal"])
    assert lille.authorities == {"gesture": 50, "refund": 150}
    assert sorted(lille.competencies) == ["product", "service"]
    assert (count(Unit), count(Category), count(User)) == (12, 5, 7)
    assert report.changed is True
    assert current_org_version() == 2


def test_moving_a_unit_to_another_parent_is_an_update(db, org):
    report = import_org({"units": [{"key": "nice", "name": "Store Nice", "parent": "north"}]})

    assert unit_row("nice").parent.key == "north"
    assert (report.units_updated, report.org_version) == (1, 2)


def test_the_same_sets_in_another_order_are_no_change(db, org):
    change = {"units": [{"key": "hq", "name": "Head office", "parent": None,
                         "tools": ["erp", "crm", "crm"]}]}

    report = import_org(change)

    assert report.changed is False
    assert current_org_version() == 1


def test_an_existing_users_password_is_never_reset(db, org_data):
    import_org(org_data)
    user = db.session.scalars(select(User).where(User.email == "agent.lille@example.com")).one()
    old_hash = user.password_hash
    change = {"units": [], "users": [{"email": "agent.lille@example.com", "name": "Lina A.",
                                      "unit": "roubaix", "role": "agent",
                                      "password": "a-brand-new-password"}]}

    report = import_org(change)

    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.name, user.unit.key, user.password_hash) == ("Lina A.", "roubaix", old_hash)
    assert (report.users_updated, report.changed) == (1, True)


def test_a_change_to_users_alone_does_not_bump_the_org_version(db, org):
    change = {"units": [], "users": [{"email": "new.agent@example.com", "name": "New Agent",
                                      "unit": "nice", "role": "agent",
                                      "password": "nice-agent-pass"}]}

    report = import_org(change)

    assert (report.users_created, report.changed, report.org_version) == (1, True, 1)
    assert current_org_version() == 1
    assert count(AuditEvent) == 2


def test_units_categories_and_users_may_reference_units_already_in_the_database(db, org):
    change = {
        "units": [{"key": "lens", "name": "Store Lens", "parent": "north"}],
        "users": [{"email": "agent.lens@example.com", "name": "Léa", "unit": "lens",
                   "role": "agent", "password": "lens-agent-pass"},
                  {"email": "agent.nice@example.com", "name": "Noé", "unit": "nice",
                   "role": "agent", "password": "nice-agent-pass"}],
    }

    report = import_org(change)

    lens = unit_row("lens")
    assert (lens.parent.key, lens.competencies, lens.authorities, lens.tools) == (
        "north", [], {}, [])
    assert (report.units_created, report.users_created) == (1, 2)


# -- refusals: a broken file writes nothing ---------------------------------------------


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        target = data
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return mutate


def _delete(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        target = data
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]
    return mutate


def _append(section: str, entry: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        data.setdefault(section, []).append(entry)
    return mutate


SECOND_ROOT = {"key": "hq2", "name": "Other head office", "parent": None}
REFUSED_FILES = [
    # (id, mutation of org-small.json, offending path, text the message contains)
    ("unknown-top-level-key", _set(["colour"], "blue"), "colour", "'colour'"),
    ("units-missing", _delete(["units"]), "units", "units"),
    ("units-not-a-list", _set(["units"], {"hq": {}}), "units", "list"),
    ("unit-without-key", _delete(["units", 3, "key"]), "units.3.key", "None"),
    ("unit-key-not-a-slug", _set(["units", 3, "key"], "Lille Centre"), "units.3.key",
     "'Lille Centre'"),
    ("unit-key-too-long", _set(["units", 3, "key"], "l" * 101), "units.3.key", "slug"),
    ("unit-key-a-number", _set(["units", 3, "key"], 7), "units.3.key", "7"),
    ("unit-without-name", _delete(["units", 3, "name"]), "units.3.name", "'lille'"),
    ("unit-unknown-field", _set(["units", 3, "colour"], "red"), "units.3.colour", "'lille'"),
    ("duplicate-unit-key", _set(["units", 4, "key"], "lille"), "units.4.key", "'lille'"),
    ("two-roots", _append("units", SECOND_ROOT), "units.12.parent", "'hq2'"),
    ("unknown-parent", _set(["units", 3, "parent"], "nord"), "units.3.parent", "'nord'"),
    ("parent-a-number", _set(["units", 3, "parent"], 3), "units.3.parent", "'lille'"),
    ("cycle", _set(["units", 2, "parent"], "lille"), "units.2.parent",
     "'north' -> 'lille' -> 'north'"),
    ("self-parent", _set(["units", 3, "parent"], "lille"), "units.3.parent",
     "'lille' -> 'lille'"),
    ("negative-limit", _set(["units", 3, "authorities", "refund"], -1),
     "units.3.authorities.refund", "'refund'"),
    ("string-limit", _set(["units", 3, "authorities", "refund"], "150"),
     "units.3.authorities.refund", "'lille'"),
    ("bool-limit", _set(["units", 3, "authorities", "refund"], True),
     "units.3.authorities.refund", "'refund'"),
    ("authorities-a-list", _set(["units", 3, "authorities"], ["refund"]),
     "units.3.authorities", "'lille'"),
    ("competencies-not-strings", _set(["units", 3, "competencies"], ["product", 3]),
     "units.3.competencies", "'lille'"),
    ("tools-a-string", _set(["units", 3, "tools"], "pos"), "units.3.tools", "'lille'"),
    ("category-without-competency", _delete(["categories", 0, "competency"]),
     "categories.0.competency", "'faulty-product'"),
    ("category-without-label", _delete(["categories", 0, "label"]),
     "categories.0.label", "'faulty-product'"),
    ("category-label-bad-language", _set(["categories", 0, "label"], {"de": "Defekt"}),
     "categories.0.label", "'faulty-product'"),
    ("category-unknown-field", _set(["categories", 0, "owner"], "hq"),
     "categories.0.owner", "'owner'"),
    ("category-tools-not-a-list", _set(["categories", 0, "tools"], "pos"),
     "categories.0.tools", "'faulty-product'"),
    ("category-bad-severity", _set(["categories", 1, "sla_hours"], {"urgent": 2}),
     "categories.1.sla_hours.urgent", "'urgent'"),
    ("category-zero-hours", _set(["categories", 1, "sla_hours"], {"high": 0}),
     "categories.1.sla_hours.high", "'late-delivery'"),
    ("category-string-hours", _set(["categories", 1, "sla_hours"], {"high": "4"}),
     "categories.1.sla_hours.high", "'late-delivery'"),
    ("category-empty-root-causes", _set(["categories", 1, "root_causes"], []),
     "categories.1.root_causes", "'late-delivery'"),
    ("category-duplicate-root-cause", _set(["categories", 1, "root_causes"],
                                           ["process", "process"]),
     "categories.1.root_causes.1.key", "'process'"),
    ("duplicate-category-key", _set(["categories", 1, "key"], "faulty-product"),
     "categories.1.key", "'faulty-product'"),
    ("categories-not-a-list", _set(["categories"], {}), "categories", "list"),
    ("user-unknown-unit", _set(["users", 0, "unit"], "lyon"), "users.0.unit", "'lyon'"),
    ("user-bad-role", _set(["users", 0, "role"], "boss"), "users.0.role", "'boss'"),
    ("user-bad-email", _set(["users", 0, "email"], "lina-at-example.com"), "users.0.email",
     "'lina-at-example.com'"),
    ("duplicate-email", _set(["users", 1, "email"], "AGENT.lille@example.com"),
     "users.1.email", "'agent.lille@example.com'"),
    ("new-user-without-password", _delete(["users", 0, "password"]), "users.0.password",
     "'agent.lille@example.com'"),
    ("new-user-short-password", _set(["users", 0, "password"], "short"), "users.0.password",
     "'agent.lille@example.com'"),
    ("new-user-common-password", _set(["users", 0, "password"], "qwerty123"),
     "users.0.password", "too common"),
    ("new-user-password-is-the-email", _set(["users", 0, "password"], "Agent.Lille"),
     "users.0.password", "'agent.lille@example.com'"),
    ("new-user-long-password", _set(["users", 0, "password"], "x" * 129),
     "users.0.password", "at most 128"),
    ("user-unknown-field", _set(["users", 0, "admin"], True), "users.0.admin", "'admin'"),
    ("labels-a-list", _set(["labels"], []), "labels", "labels"),
    ("labels-unknown-section", _set(["labels"], {"skills": {}}), "labels.skills", "'skills'"),
    ("label-not-text", _set(["labels"], {"tools": {"pos": 3}}), "labels.tools.pos", "'pos'"),
]


@pytest.mark.parametrize(
    ("mutate", "path", "text"),
    [case[1:] for case in REFUSED_FILES],
    ids=[case[0] for case in REFUSED_FILES],
)
def test_a_broken_file_is_refused_whole_naming_the_key_and_nothing_is_written(
    db, org_data, mutate, path, text
):
    mutate(org_data)

    with pytest.raises(InvalidInput) as refused:
        import_org(org_data)

    assert path in refused.value.field_errors
    assert text in " ".join(refused.value.field_errors[path])
    assert text in str(refused.value)
    assert row_counts() == {"Unit": 0, "Category": 0, "User": 0, "VocabularyLabel": 0,
                            "AuditEvent": 0, "OrgState": 0}


@pytest.mark.parametrize("data", [[], "units", None, 3])
def test_a_file_that_is_not_an_object_is_refused(db, data):
    with pytest.raises(InvalidInput) as refused:
        import_org(data)

    assert refused.value.field_errors == {
        "": ["the file must hold a JSON object with a “units” list"]}


def test_every_problem_of_a_file_is_reported_at_once(db, org_data):
    org_data["users"][0]["role"] = "boss"
    org_data["units"][3]["authorities"]["refund"] = -5
    org_data["categories"][0]["sla_hours"] = {"high": -1}

    with pytest.raises(InvalidInput) as refused:
        import_org(org_data)

    assert sorted(refused.value.field_errors) == [
        "categories.0.sla_hours.high", "units.3.authorities.refund", "users.0.role"]


def test_an_empty_organisation_is_refused(db):
    with pytest.raises(InvalidInput) as refused:
        import_org({"units": []})

    assert list(refused.value.field_errors) == ["units"]


REFUSED_AGAINST_THE_DATABASE = [
    ("second-root", {"units": [SECOND_ROOT]}, "units.0.parent", "'hq2'"),
    ("new-root-above-the-old-one",
     {"units": [{"key": "group", "name": "Group", "parent": None},
                {"key": "hq", "name": "Head office", "parent": "group"}]},
     "units.1.parent", "'hq'"),
    ("cycle-made-by-moving-existing-units",
     {"units": [{"key": "north", "name": "Region North", "parent": "lille"}]},
     "units.0.parent", "'north' -> 'lille' -> 'north'"),
    ("longer-cycle-through-the-database",
     {"units": [{"key": "cs", "name": "Customer service", "parent": "roubaix"}]},
     "units.0.parent", "'cs' -> 'roubaix' -> 'north' -> 'cs'"),
    ("unknown-parent", {"units": [{"key": "lens", "name": "Lens", "parent": "artois"}]},
     "units.0.parent", "'artois'"),
    ("new-unit-without-parent-is-a-second-root", {"units": [{"key": "lens", "name": "Lens"}]},
     "units.0.parent", "'lens'"),
    ("user-in-an-unknown-unit",
     {"units": [], "users": [{"email": "x@example.com", "name": "X", "unit": "lens",
                              "role": "agent", "password": "long-enough"}]},
     "users.0.unit", "'lens'"),
    ("bad-role-for-an-existing-user",
     {"units": [], "users": [{"email": "admin@example.com", "name": "Adam", "unit": "hq",
                              "role": "superuser"}]},
     "users.0.role", "'superuser'"),
]


@pytest.mark.parametrize(
    ("data", "path", "text"),
    [case[1:] for case in REFUSED_AGAINST_THE_DATABASE],
    ids=[case[0] for case in REFUSED_AGAINST_THE_DATABASE],
)
def test_a_file_that_breaks_the_tree_in_the_database_is_refused_and_changes_nothing(
    db, org, data, path, text
):
    before = (export_org(), row_counts(), current_org_version())

    with pytest.raises(InvalidInput) as refused:
        import_org(data)

    assert text in " ".join(refused.value.field_errors[path])
    db.session.expire_all()
    assert (export_org(), row_counts(), current_org_version()) == before


def test_an_existing_user_needs_no_password_in_the_file(db, org):
    change = {"units": [], "users": [{"email": "admin@example.com", "name": "Adam Admin",
                                      "unit": "hq", "role": "director"}]}

    report = import_org(change)

    assert (report.users_updated, report.changed) == (1, True)


def test_default_root_causes_have_french_and_english_labels():
    assert all(set(cause) == {"key", "fr", "en"} for cause in DEFAULT_ROOT_CAUSES)
    assert [cause["key"] for cause in DEFAULT_ROOT_CAUSES] == ROOT_CAUSE_KEYS
