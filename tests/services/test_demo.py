"""The demo organisation and its played history; flask demo load / demo accounts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from irritants.models import (
    ROLES,
    Category,
    Irritant,
    IrritantEvent,
    Notification,
    OutboxMessage,
    Unit,
    User,
)
from irritants.seed.demo import (
    COMMENTS,
    DEMO_ORG_FILE,
    DESCRIPTIONS,
    ESCALATION_REASONS,
    PRODUCTS,
    RESOLUTIONS,
    Product,
    demo_accounts,
    demo_org_data,
    load_demo,
    sentence_of,
)
from irritants.services.org_admin import import_org

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def count(db: Any, model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def depth_of(units: dict[str, dict[str, Any]], key: str) -> int:
    depth = 0
    while units[key]["parent"] is not None:
        key, depth = units[key]["parent"], depth + 1
    return depth


def fingerprint(db: Any) -> list[tuple[Any, ...]]:
    rows = db.session.execute(
        select(Irritant.id, Irritant.status, Irritant.assignee_id, Irritant.created_at,
               Irritant.due_at, Irritant.escalation_level, Irritant.description)
        .order_by(Irritant.id))
    return [tuple(row) for row in rows]


# -- the organisation file --------------------------------------------------------------


def test_the_demo_organisation_is_a_french_retailer_of_at_least_40_units_over_4_levels():
    data = demo_org_data()
    units = {unit["key"]: unit for unit in data["units"]}

    assert len(units) >= 40
    assert max(depth_of(units, key) for key in units) >= 4
    assert units["siege"]["name"] == "Siège Maison Lumière"
    assert {"service-client", "logistique", "digital", "reseau"} <= {
        key for key, unit in units.items() if unit["parent"] == "siege"}
    assert len(data["categories"]) >= 8


def test_the_demo_labels_name_every_competency_authority_and_tool_in_both_languages():
    data = demo_org_data()
    used = {"competencies": set(), "authorities": set(), "tools": set()}
    for unit in data["units"]:
        used["competencies"] |= set(unit["competencies"])
        used["authorities"] |= set(unit["authorities"])
        used["tools"] |= set(unit["tools"])
    for category in data["categories"]:
        used["competencies"].add(category["competency"])
        used["tools"] |= set(category["tools"])
        if category["authority"]:
            used["authorities"].add(category["authority"])

    for section, keys in used.items():
        assert set(data["labels"][section]) == keys
        assert all(set(label) == {"fr", "en"} for label in data["labels"][section].values())


def french_texts_of(value: Any) -> list[str]:
    """The French labels ("fr") of the demo file, the unit names with them."""
    if isinstance(value, list):
        return [text for item in value for text in french_texts_of(item)]
    if not isinstance(value, dict):
        return []
    own = [value[key] for key in ("fr", "name") if isinstance(value.get(key), str)]
    return own + [text for key, item in value.items() if key not in ("fr", "name", "users")
                  for text in french_texts_of(item)]


def test_the_demo_writes_the_french_apostrophe_as_the_catalogue_does():
    # « Centre d’appels », « l’interrupteur »: ’ (U+2019), as tests/web/test_catalogues.py
    # wants of the French messages beside which these texts show.
    texts = [*french_texts_of(demo_org_data()), *(p.name for p in PRODUCTS),
             *(word for p in PRODUCTS for word in p.words().values()),
             *(t for templates in DESCRIPTIONS.values() for t in templates), *COMMENTS,
             *(t for texts in RESOLUTIONS.values() for t in texts),
             *ESCALATION_REASONS.values()]

    assert "Centre d’appels de Villeneuve-d’Ascq" in texts
    assert [text for text in texts if "'" in text] == []


def test_demo_accounts_give_one_account_per_role_with_its_password():
    accounts = demo_accounts()

    assert [account["role"] for account in accounts] == list(ROLES)
    assert accounts[0] == {"role": "agent", "email": "camille.durand@maison-lumiere.fr",
                           "password": "lille-accueil-59", "unit": "lille"}
    assert len(demo_accounts(one_per_role=False)) == len(demo_org_data()["users"])


# -- load_demo --------------------------------------------------------------------------


def test_demo_load_plays_a_history_in_every_state_within_30_seconds(db):
    started = time.monotonic()
    report = load_demo(now=NOW)
    elapsed = time.monotonic() - started

    assert elapsed < (30 if db.engine.dialect.name == "sqlite" else 60)
    assert report.skipped_actions == 0
    assert count(db, Unit) >= 40
    assert count(db, Category) >= 8
    assert {role for (role,) in db.session.execute(select(User.role))} == set(ROLES)
    assert report.irritants_created == count(db, Irritant) >= 200
    assert {status for (status,) in db.session.execute(select(Irritant.status))} == {
        "open", "in_progress", "resolved"}
    unresolved = (Irritant.status != "resolved",)
    assert count(db, Irritant, *unresolved, Irritant.due_at < NOW) >= 3  # overdue
    assert count(db, Irritant, Irritant.escalation_level > 0) >= 10  # SLA-escalated
    assert count(db, Irritant, Irritant.occurrences > 1) >= 10  # "it happened again"
    assert count(db, Irritant, Irritant.unroutable.is_(True)) >= 1
    assert count(db, Irritant, Irritant.root_cause.is_not(None)) == count(
        db, Irritant, Irritant.status == "resolved")
    for kind, at_least in (("routed", 200), ("taken", 50), ("commented", 50),
                           ("sla_escalated", 10), ("reassigned", 5), ("resolved", 150),
                           ("occurred_again", 10)):
        assert count(db, IrritantEvent, IrritantEvent.type == kind) >= at_least, kind
    manual = [e for e in db.session.scalars(
        select(IrritantEvent).where(IrritantEvent.type == "routed")) if e.data.get("reason")]
    assert len(manual) >= 5  # manually escalated


def test_demo_history_lies_in_the_last_90_days_and_mails_nobody(db):
    load_demo(now=NOW)

    first, last = db.session.execute(
        select(func.min(IrritantEvent.at), func.max(IrritantEvent.at))).one()
    assert NOW - timedelta(days=90) <= first < NOW - timedelta(days=60)
    assert NOW - timedelta(hours=2) < last < NOW
    assert count(db, Irritant, Irritant.resolved_at > NOW) == 0
    assert count(db, OutboxMessage) > 0
    assert count(db, OutboxMessage, OutboxMessage.done_at.is_(None)) == 0
    assert count(db, Notification, Notification.created_at > NOW) == 0
    old = NOW - timedelta(days=3)
    assert count(db, Notification, Notification.created_at < old,
                 Notification.read_at.is_(None)) == 0
    assert count(db, Notification, Notification.read_at.is_(None)) > 0


def test_demo_load_is_deterministic_for_a_seed(db):
    from tests.conftest import empty_tables

    load_demo(now=NOW, seed=3)
    first = fingerprint(db)
    db.session.remove()
    empty_tables()

    load_demo(now=NOW, seed=3)

    assert fingerprint(db) == first


def test_demo_load_again_keeps_the_history_and_what_users_changed(db):
    load_demo(now=NOW)
    irritants = count(db, Irritant)
    user = db.session.scalars(
        select(User).where(User.email == "camille.durand@maison-lumiere.fr")).one()
    user.password_hash = PasswordHasher().hash("changed-by-camille")
    db.session.commit()

    report = load_demo(now=NOW + timedelta(days=1))

    assert (report.irritants_created, report.org.changed) == (0, False)
    assert count(db, Irritant) == irritants
    db.session.expire_all()
    assert PasswordHasher().verify(
        db.session.get(User, user.id).password_hash, "changed-by-camille")


# -- the commands -----------------------------------------------------------------------


def test_demo_load_if_empty_loads_an_empty_database(runner, db):
    result = runner.invoke(args=["demo", "load", "--if-empty"])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Demo loaded. Organisation imported: units 48 created")
    assert count(db, Irritant) >= 200


def test_demo_load_if_empty_on_a_database_with_an_organisation_changes_nothing(runner, db, org):
    before = (count(db, Unit), count(db, User), count(db, Category), count(db, Irritant))

    result = runner.invoke(args=["demo", "load", "--if-empty"])

    assert result.exit_code == 0
    assert result.stdout == "The database already has an organisation: demo not loaded.\n"
    assert (count(db, Unit), count(db, User), count(db, Category), count(db, Irritant)) == before


def test_demo_load_into_another_organisation_is_refused(runner, db, org):
    result = runner.invoke(args=["demo", "load"])

    assert result.exit_code == 1
    assert "'siege'" in result.stderr
    assert count(db, Unit) == 12


def test_demo_accounts_prints_where_to_sign_in_and_a_table(runner, db, monkeypatch):
    monkeypatch.delenv("PORT", raising=False)

    result = runner.invoke(args=["demo", "accounts"])

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == ("Irritants: http://127.0.0.1:5000  "
                        "(demo accounts, sign in with one of these)")
    assert lines[1].split() == ["role", "email", "password", "unit"]
    assert [line.split()[0] for line in lines[3:]] == list(ROLES)
    assert lines[3].split() == ["agent", "camille.durand@maison-lumiere.fr",
                                "lille-accueil-59", "lille"]


def test_demo_accounts_follow_the_port(runner, db, monkeypatch):
    monkeypatch.setenv("PORT", "8123")

    result = runner.invoke(args=["demo", "accounts", "--all"])

    assert result.stdout.startswith("Irritants: http://127.0.0.1:8123")
    assert len(result.stdout.splitlines()) == 3 + len(demo_org_data()["users"])


@pytest.mark.parametrize("account", demo_accounts(one_per_role=False),
                         ids=lambda account: account["email"])
def test_every_demo_account_signs_in_with_its_printed_password(db, account):
    from irritants.services.accounts import authenticate

    import_org(demo_org_data())

    user = authenticate(account["email"], account["password"])

    assert user is not None
    assert (user.role, user.unit.key) == (account["role"], account["unit"])


def test_the_demo_file_is_utf8_json():
    assert DEMO_ORG_FILE.read_bytes().decode("utf-8").startswith("{")


# Words that agree with a product, by gender: none of the other gender's may touch its name.
ARTICLES = {True: ("la ", "une ", "sa ", "d’une ", "de la "),
            False: ("le ", "un ", "du ", "d’un ")}
FEMININE_ENDINGS = ("ée", "euse")  # achetée, affichée, défectueuse
MASCULINE_ENDINGS = ("é", "eux")  # acheté, affiché, défectueux
VALUES = {"order": "CMD-1234567", "carrier": "DPD", "days": 3, "day": "05/12", "minutes": 20,
          "price": "19.90", "amount": "10", "points": 100}


def every_description() -> list[tuple[Product, str]]:
    return [(product, sentence_of(template, product, **VALUES))
            for templates in DESCRIPTIONS.values() for template in templates
            for product in PRODUCTS]


@pytest.mark.parametrize(("product", "text"), every_description())
def test_demo_descriptions_agree_with_the_product_s_gender(product: Product, text: str):
    name = product.name
    before = text.split(name)[0].lower() if name in text else ""
    after = text.split(name, 1)[1].split() if name in text else []
    next_word = after[0].strip(".,") if after else ""

    assert text[0].isupper() or text[0].isdigit(), text
    assert not before.endswith(ARTICLES[not product.feminine]), text
    if product.name[0] not in "aeiouéè":  # "son ampoule" is right
        assert not before.endswith(("son ", "sa ")[not product.feminine]), text
    agrees = not next_word.endswith(MASCULINE_ENDINGS if product.feminine
                                    else FEMININE_ENDINGS)
    assert agrees, text
    assert "{" not in text, text


def test_a_demo_description_reads_as_french():
    miroir, ampoule = PRODUCTS[12], PRODUCTS[3]
    template = "Deuxième {product} {faulty} du même lot en une semaine pour ce client."

    assert sentence_of(template, miroir, **VALUES).startswith("Deuxième miroir lumineux "
                                                             "défectueux")
    assert sentence_of("{product} affiché{e} disponible", ampoule, **VALUES) == (
        "Ampoule connectée E27 affichée disponible")
    assert sentence_of("Le client voulait être remboursé de {their_product}", ampoule,
                       **VALUES).endswith("de son ampoule connectée E27")
    assert sentence_of("Verre {of_the_product} brisé", miroir, **VALUES) == (
        "Verre du miroir lumineux brisé")
