"""A large organisation's unit fields: a text input of "Name (key)" with suggestions.

PICKER_FROM is lowered to 3 here, so that the small organisation is "large": its 12 open
units (the intake's origin, the queue's origin filter, the reassign form) and Region
North's 4 (the queue's team of lead.north) get the picker; lead.lille's and the agents'
one-unit queue scope stays a select (not shown). Tree order of the open units: hq,
cs, north, lille, roubaix, north-bo, south, marseille, nice, logistics, digital,
app-support.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from wtforms.fields.choices import SelectChoice

from irritants.extensions import db
from irritants.models import Irritant, IrritantEvent
from irritants.services import org_edit
from irritants.web import unit_select
from tests.web.irritant_fixtures import input_of, log_as, page_text, value_of

AGENT = "agent.lille@example.com"
NORTH_LEAD = "lead.north@example.com"
NBSP, NNBSP = "\u00a0", "\u202f"
LOG = {"category": "faulty-product", "severity": "medium", "description": "The kettle leaks"}


@pytest.fixture(autouse=True)
def large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unit_select, "PICKER_FROM", 3)


@pytest.fixture
def sign_in(app: Flask, login_as: Callable[..., FlaskClient]) -> Callable[..., FlaskClient]:
    """A fresh session for that user, asking for pages in `lang`."""

    def signed_in(email: str, lang: str = "en") -> FlaskClient:
        client = login_as(email, app.test_client())
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
        return client

    return signed_in


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def errors_of(html: str, field_id: str) -> str:
    errors = re.search(rf'<ul class="field__errors" id="{field_id}-errors">(.*?)</ul>', html,
                       re.S)
    assert errors is not None, html
    return page_text(errors.group(1))


def suggested(client: FlaskClient, among: str, text: str) -> list[str]:
    response = client.get("/units/suggest", query_string={"among": among, "q": text})
    assert response.status_code == 200
    return [item["key"] for item in response.get_json()["items"]]


def ambiguous_roubaix() -> None:
    """Two open units named "Store Roubaix": roubaix, and nice renamed."""
    org_edit.rename_unit("nice", "Store Roubaix", actor=None)


def closed_app_support() -> None:
    org_edit.close_unit("app-support", actor=None)


# -- the intake form ---------------------------------------------------------------------------


def test_the_origin_is_a_text_input_of_the_agents_unit_not_a_select_of_every_unit(
    sign_in: Callable[..., FlaskClient],
) -> None:
    html = sign_in(AGENT).get("/irritants/new").get_data(as_text=True)

    assert input_of(html, "origin_unit") == (
        '<input aria-describedby="origin_unit-help" autocapitalize="off" autocomplete="off" '
        'class="field__input" data-unit-picker="/units/suggest?among=open" id="origin_unit" '
        'name="origin_unit" spellcheck="false" type="text" value="Store Lille (lille)">')
    assert '<label class="field__label" for="origin_unit">Where it happened</label>' in html
    assert "<select" not in html.split('name="channel"')[1]  # no select of units
    assert 'value="roubaix"' not in html


@pytest.mark.parametrize("picker_from", [12, 13])
def test_the_picker_takes_over_from_picker_from_units(
    sign_in: Callable[..., FlaskClient], monkeypatch: pytest.MonkeyPatch, picker_from: int,
) -> None:
    monkeypatch.setattr(unit_select, "PICKER_FROM", picker_from)  # 12 open units

    html = sign_in(AGENT).get("/irritants/new").get_data(as_text=True)

    has_select = '<select aria-describedby="origin_unit-help" class="field__input" ' \
                 'data-filter="Search a team by name" id="origin_unit" name="origin_unit">' in html
    has_input = 'data-unit-picker="/units/suggest?among=open" id="origin_unit"' in html
    assert (has_input, has_select) == (picker_from == 12, picker_from == 13)


@pytest.mark.parametrize(
    ("typed", "origin"),
    [
        ("Store Roubaix (roubaix)", "roubaix"),  # as the suggestions put it
        ("roubaix", "roubaix"),
        ("ROUBAIX", "roubaix"),
        ("store roubaix", "roubaix"),
        ("  Store   ROUBAIX ", "roubaix"),
        ("Region North (north)", "north"),
        ("north back-office", "north-bo"),
        ("Store Lille (lille)", "lille"),
    ],
)
def test_the_origin_may_be_typed_as_name_and_key_key_or_name(
    sign_in: Callable[..., FlaskClient], typed: str, origin: str,
) -> None:
    response = sign_in(AGENT).post("/irritants/new", data={**LOG, "origin_unit": typed})

    assert response.status_code == 303, errors_of(response.get_data(as_text=True),
                                                  "origin_unit")
    assert db.session.scalars(select(Irritant)).one().origin_unit.key == origin


def test_names_match_without_accents_case_or_curly_apostrophes(
    sign_in: Callable[..., FlaskClient],
) -> None:
    org_edit.rename_unit("nice", "Store Nîmes l’Étoile", actor=None)
    agent = sign_in(AGENT)

    response = agent.post("/irritants/new", data={**LOG, "origin_unit": "store nimes l'etoile"})

    assert response.status_code == 303
    assert db.session.scalars(select(Irritant)).one().origin_unit.key == "nice"
    html = agent.get("/irritants/new").get_data(as_text=True)
    assert value_of(html, "origin_unit") == "Store Lille (lille)"


@pytest.mark.parametrize(
    ("lang", "typed", "message"),
    [
        ("en", "Store Atlantis", "No team matches “Store Atlantis”."),
        ("fr", "Store Atlantis", f"Aucune équipe ne correspond à «{NBSP}Store Atlantis{NBSP}»."),
        ("en", "atlantis (atlantis)", "No team matches “atlantis (atlantis)”."),
        ("en", "  store  roubaix ", "Several teams are named “store roubaix”: type its key."),
        ("fr", "store roubaix",
         f"Plusieurs équipes s’appellent «{NBSP}store roubaix{NBSP}»{NBSP}: tapez sa clé."),
        ("en", "", "Choose a team."),
        ("fr", "  ", "Choisissez une équipe."),
    ],
)
def test_an_unknown_or_ambiguous_origin_is_refused_beside_the_field_and_writes_nothing(
    sign_in: Callable[..., FlaskClient], lang: str, typed: str, message: str,
) -> None:
    ambiguous_roubaix()

    response = sign_in(AGENT, lang).post("/irritants/new", data={**LOG, "origin_unit": typed})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert errors_of(html, "origin_unit") == message
    assert value_of(html, "origin_unit") == typed  # as typed, to be corrected
    assert 'aria-invalid="true"' in input_of(html, "origin_unit")
    assert '<details class="more" open>' in html
    assert (count(Irritant), count(IrritantEvent)) == (0, 0)


@pytest.mark.parametrize(("typed", "origin"), [("Store Roubaix (nice)", "nice"),
                                               ("roubaix", "roubaix")])
def test_two_units_of_the_same_name_are_told_apart_by_their_key(
    sign_in: Callable[..., FlaskClient], typed: str, origin: str,
) -> None:
    ambiguous_roubaix()

    response = sign_in(AGENT).post("/irritants/new", data={**LOG, "origin_unit": typed})

    assert response.status_code == 303
    assert db.session.scalars(select(Irritant)).one().origin_unit.key == origin


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("app-support", "Not a valid choice."),  # as the select refuses it
        ("App support team (app-support)", "Not a valid choice."),
        ("App support team", "No team matches “App support team”."),
    ],
)
def test_a_closed_unit_is_refused_as_the_select_refuses_it(
    sign_in: Callable[..., FlaskClient], typed: str, message: str,
) -> None:
    closed_app_support()

    response = sign_in(AGENT).post("/irritants/new", data={**LOG, "origin_unit": typed})

    assert response.status_code == 422
    assert errors_of(response.get_data(as_text=True), "origin_unit") == message
    assert count(Irritant) == 0


def test_the_duplicate_hint_reads_the_origin_as_the_picker_shows_it(
    sign_in: Callable[..., FlaskClient],
) -> None:
    found = log_as(AGENT, category="faulty-product", origin_unit="marseille")
    agent = sign_in(AGENT)

    for origin in ("Store Marseille (marseille)", "marseille"):
        response = agent.get("/irritants/similar", query_string={
            "category": "faulty-product", "origin": origin})
        assert [item["id"] for item in response.get_json()["items"]] == [found.id]


# -- the queue's filters -----------------------------------------------------------------------


@pytest.fixture
def queue(org: dict[str, Any]) -> dict[str, int]:
    """One irritant at Store Roubaix, one at Store Lille (both logged at Lille), one at
    Store Marseille."""
    roubaix = log_as(AGENT, category="faulty-product", amount=80)
    lille = log_as(AGENT)
    marseille = log_as("agent.marseille@example.com")
    assert (roubaix.assignee.key, lille.assignee.key, marseille.assignee.key) == (
        "roubaix", "lille", "marseille")
    return {"roubaix": roubaix.id, "lille": lille.id, "marseille": marseille.id}


def listed(html: str) -> list[int]:
    return [int(number) for number in re.findall(r'class="queue-item__link" href="/irritants/'
                                                 r'(\d+)"', html)]


def test_the_queue_s_team_and_origin_are_text_inputs_for_a_lead_of_a_large_subtree(
    sign_in: Callable[..., FlaskClient], queue: dict[str, int],
) -> None:
    html = sign_in(NORTH_LEAD).get("/queue").get_data(as_text=True)

    assert input_of(html, "unit") == (
        '<input autocapitalize="off" autocomplete="off" class="field__input" '
        'data-unit-picker="/units/suggest?among=queue" id="unit" name="unit" '
        'spellcheck="false" type="text" value="Region North (north)">')
    assert input_of(html, "origin") == (
        '<input autocapitalize="off" autocomplete="off" class="field__input" '
        'data-unit-picker="/units/suggest?among=open" id="origin" name="origin" '
        'placeholder="Anywhere" spellcheck="false" type="text" value="">')
    assert listed(html) == [queue["roubaix"], queue["lille"]]


@pytest.mark.parametrize(
    ("query", "expected", "title"),
    [
        ({"unit": "Store Roubaix (roubaix)"}, ["roubaix"], "Store Roubaix"),
        ({"unit": "roubaix"}, ["roubaix"], "Store Roubaix"),
        ({"unit": "store LILLE"}, ["lille"], "Store Lille"),
        ({"origin": "Store Lille (lille)"}, ["roubaix", "lille"], "Region North"),
        ({"origin": "store marseille"}, [], "Region North"),
        ({"origin": ""}, ["roubaix", "lille"], "Region North"),
    ],
)
def test_the_queue_s_filters_take_a_typed_unit(
    sign_in: Callable[..., FlaskClient], queue: dict[str, int], query: dict[str, str],
    expected: list[str], title: str,
) -> None:
    response = sign_in(NORTH_LEAD).get("/queue", query_string=query)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert listed(html) == [queue[name] for name in expected]
    assert f"<h1>Queue of {title}</h1>" in html
    name = next(iter(query))
    shown = {"": "", "roubaix": "Store Roubaix (roubaix)", "store LILLE": "Store Lille (lille)",
             "store marseille": "Store Marseille (marseille)"}
    assert value_of(html, name) == shown.get(query[name], query[name])


@pytest.mark.parametrize(
    ("lang", "query", "field", "message"),
    [
        ("en", {"unit": "Store Atlantis"}, "unit", "No team matches “Store Atlantis”."),
        ("fr", {"unit": "Store Atlantis"}, "unit",
         f"Aucune équipe ne correspond à «{NBSP}Store Atlantis{NBSP}»."),
        # A unit outside the lead's subtree is no team of theirs.
        ("en", {"unit": "Region South"}, "unit", "No team matches “Region South”."),
        ("en", {"origin": "Store Atlantis"}, "origin", "No team matches “Store Atlantis”."),
    ],
)
def test_an_unknown_team_in_the_queue_s_filters_is_422_with_the_error_beside_it(
    sign_in: Callable[..., FlaskClient], queue: dict[str, int], lang: str,
    query: dict[str, str], field: str, message: str,
) -> None:
    response = sign_in(NORTH_LEAD, lang).get("/queue", query_string=query)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert errors_of(html, field) == message
    assert value_of(html, field) == query[field]
    assert listed(html) == []


@pytest.mark.parametrize("unit", ["south", "Region South (south)"])
def test_the_key_of_a_queue_outside_the_lead_s_subtree_is_404_as_with_the_select(
    sign_in: Callable[..., FlaskClient], queue: dict[str, int], unit: str,
) -> None:
    assert sign_in(NORTH_LEAD).get("/queue", query_string={"unit": unit}).status_code == 404


def test_a_director_types_any_unit_as_the_queue(
    sign_in: Callable[..., FlaskClient], queue: dict[str, int],
) -> None:
    response = sign_in("director@example.com").get("/queue?unit=region+south")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert listed(html) == [queue["marseille"]]
    assert value_of(html, "unit") == "Region South (south)"


def test_a_lead_of_a_small_subtree_keeps_the_select_of_the_queue_s_team(
    sign_in: Callable[..., FlaskClient], queue: dict[str, int],
) -> None:
    html = sign_in("lead.northbo@example.com").get("/queue").get_data(as_text=True)

    assert 'name="unit"' not in html  # one unit: nothing to choose
    assert 'data-unit-picker="/units/suggest?among=open" id="origin"' in html


# -- the reassign form -------------------------------------------------------------------------


def reassigned(irritant_id: int) -> list[dict[str, Any]]:
    return [e.data for e in db.session.scalars(select(IrritantEvent).where(
        IrritantEvent.irritant_id == irritant_id, IrritantEvent.type == "reassigned")).all()]


def test_the_reassign_form_s_team_is_a_text_input(sign_in: Callable[..., FlaskClient]) -> None:
    irritant = log_as(AGENT, category="faulty-product", amount=80)

    html = sign_in(NORTH_LEAD).get(f"/irritants/{irritant.id}").get_data(as_text=True)

    assert input_of(html, "unit") == (
        '<input autocapitalize="off" autocomplete="off" class="field__input" '
        'data-unit-picker="/units/suggest?among=open" id="unit" name="unit" '
        'placeholder="Choose…" required spellcheck="false" type="text" value="">')


@pytest.mark.parametrize("typed", ["North back-office (north-bo)", "north-bo",
                                   "NORTH BACK-OFFICE"])
def test_reassigning_to_a_typed_unit(sign_in: Callable[..., FlaskClient], typed: str) -> None:
    irritant = log_as(AGENT, category="faulty-product", amount=80)

    response = sign_in(NORTH_LEAD).post(f"/irritants/{irritant.id}/reassign",
                                        data={"unit": typed, "reason": "They know it"})

    assert response.status_code == 303
    assert db.session.get(Irritant, irritant.id).assignee.key == "north-bo"
    assert reassigned(irritant.id) == [{"reason": "They know it", "from": "roubaix"}]


@pytest.mark.parametrize(
    ("lang", "typed", "message"),
    [
        ("en", "Store Atlantis", "No team matches “Store Atlantis”."),
        ("fr", "Store Atlantis", f"Aucune équipe ne correspond à «{NBSP}Store Atlantis{NBSP}»."),
        ("en", "Store Roubaix", "Several teams are named “Store Roubaix”: type its key."),
        ("en", "app-support", "Not a valid choice."),
        ("en", "", "Choose a team."),
    ],
)
def test_reassigning_to_an_unknown_ambiguous_or_closed_unit_is_422_and_changes_nothing(
    sign_in: Callable[..., FlaskClient], lang: str, typed: str, message: str,
) -> None:
    irritant = log_as(AGENT, category="faulty-product", amount=80)
    ambiguous_roubaix()
    closed_app_support()

    response = sign_in(NORTH_LEAD, lang).post(f"/irritants/{irritant.id}/reassign",
                                              data={"unit": typed, "reason": "x"})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert errors_of(html, "unit") == message
    assert value_of(html, "unit") == typed
    assert reassigned(irritant.id) == []
    db.session.expire_all()
    assert db.session.get(Irritant, irritant.id).assignee.key == "roubaix"


# -- the suggestions -----------------------------------------------------------------------------


def test_the_suggestions_need_sign_in(client: FlaskClient, org: dict[str, Any]) -> None:
    response = client.get("/units/suggest?among=open&q=store")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_the_suggestions_are_name_key_and_label_best_first(
    sign_in: Callable[..., FlaskClient],
) -> None:
    response = sign_in(AGENT).get("/units/suggest?among=open&q=di")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    # "Digital division" starts with "di"; then the names with a word starting with it,
    # in tree order.
    assert response.get_json() == {"items": [
        {"key": "digital", "name": "Digital division", "label": "Digital division (digital)"},
        {"key": "cs", "name": "Customer service division",
         "label": "Customer service division (cs)"},
        {"key": "logistics", "name": "Logistics division",
         "label": "Logistics division (logistics)"},
    ]}


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("store", ["lille", "roubaix", "marseille", "nice"]),
        ("STORE", ["lille", "roubaix", "marseille", "nice"]),
        ("RÉGION", ["north", "south"]),  # accents ignored
        ("lille store", ["lille"]),  # every word, in any order
        ("north-b", ["north-bo"]),  # the key too
        ("rth", ["north", "north-bo"]),  # anywhere in the name
        ("s", []),  # at least 2 characters
        ("", []),
        ("atlantis", []),
        ("%", []),
    ],
)
def test_the_suggestions_match_the_name_or_key_case_and_accents_ignored(
    sign_in: Callable[..., FlaskClient], text: str, keys: list[str],
) -> None:
    assert suggested(sign_in(AGENT), "open", text) == keys


def test_the_suggestions_leave_closed_units_out_and_are_at_most_suggestions(
    sign_in: Callable[..., FlaskClient], monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed_app_support()
    agent = sign_in(AGENT)

    assert suggested(agent, "open", "app") == []
    monkeypatch.setattr(unit_select, "SUGGESTIONS", 2)
    assert suggested(agent, "open", "store") == ["lille", "roubaix"]


@pytest.mark.parametrize(
    ("email", "keys"),
    [
        (AGENT, ["lille"]),  # an agent's queue: their unit
        ("lead.lille@example.com", ["lille"]),
        (NORTH_LEAD, ["lille", "roubaix"]),  # a lead's: their subtree
        ("director@example.com", ["lille", "roubaix", "marseille", "nice"]),
        ("admin@example.com", ["lille", "roubaix", "marseille", "nice"]),
    ],
)
def test_the_queue_s_suggestions_are_the_units_whose_queue_the_user_may_open(
    sign_in: Callable[..., FlaskClient], email: str, keys: list[str],
) -> None:
    client = sign_in(email)

    assert suggested(client, "queue", "store") == keys
    assert suggested(client, "open", "store") == ["lille", "roubaix", "marseille", "nice"]


def test_the_suggestions_of_an_unknown_set_are_404(sign_in: Callable[..., FlaskClient]) -> None:
    agent = sign_in(AGENT)

    assert agent.get("/units/suggest?among=everything&q=store").status_code == 404
    assert agent.get("/units/suggest?q=store").status_code == 404


def test_the_suggestions_are_the_same_in_french_and_english(
    sign_in: Callable[..., FlaskClient],
) -> None:
    french, english = sign_in(NORTH_LEAD, "fr"), sign_in(NORTH_LEAD, "en")

    for among in ("open", "queue"):
        assert suggested(french, among, "région") == suggested(english, among, "région")
    assert suggested(french, "queue", "région") == ["north"]


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run while the test runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_suggestion_reads_no_unit_row_once_the_org_is_cached(
    sign_in: Callable[..., FlaskClient], statements: list[str],
) -> None:
    agent = sign_in(AGENT)
    suggested(agent, "open", "st")  # the org and its choices cached
    statements.clear()

    assert suggested(agent, "open", "store") == ["lille", "roubaix", "marseille", "nice"]
    assert [s for s in statements if re.search(r"\bFROM unit\b", s)] == []


def test_the_suggestions_are_those_of_a_plain_loop_over_the_units() -> None:
    # unit_suggestions searches the index's texts; this loop says what it must find.
    names = ["Magasin 1-1", "Magasin 1-12", "Région 1", "Back-office 1", "Magasin 12-1",
             "Store Nîmes l’Étoile", "Région Île-de-France", "Île", "Ma maison", "Sud",
             "Magasin du Sud", "Sud-Ouest", "a b", "ab", "b a", "Étoile du Nord"]
    units = [SelectChoice("", "Anywhere")] + [
        SelectChoice(f"u{number}-{name.split()[0].lower()}", "\u00a0\u00a0" + name)
        for number, name in enumerate(names)]

    def reference(text: str, limit: int) -> list[str]:
        typed = unit_select.plain_text(text)
        if len(typed) < unit_select.SUGGEST_FROM:
            return []
        words = typed.split()
        found = []
        for position, choice in enumerate(units[1:]):
            name, key = unit_select.plain_text(str(choice.label)), choice.value
            if not all(word in f"{name} {key}" for word in words):
                continue
            if name.startswith(typed) or key.startswith(typed):
                rank = 0
            elif any(word.startswith(words[0]) for word in name.split()):
                rank = 1
            else:
                rank = 2
            found.append((rank, position, key))
        return [key for _rank, _position, key in sorted(found)[:limit]]

    texts = ["ma", "magasin 1", "1-1", "sud", "ile", "ÎLE", "etoile", "l'etoile", "u1", "a b",
             "b a", "ab", "in", "gion", "ud", "de", "1 magasin", "zz", "o", "-1", "u"]
    alphabet = "abdegilmnorsu1- "
    generator = random.Random(7)
    texts += ["".join(generator.choice(alphabet) for _ in range(generator.randint(2, 6)))
              for _ in range(300)]
    for limit in (1, 3, 20):
        for text in texts:
            found = [item["key"] for item in unit_select.unit_suggestions(text, units, limit)]
            assert found == reference(text, limit), (text, limit)
