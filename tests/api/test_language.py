"""One language per answer (irritants.api's "Language"): Accept-Language when it names fr or
en, else the token holder's stored language, else French; marshmallow's messages, the fixed
error messages and the services' messages all in it, numbers written as it writes them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from marshmallow import validate

from irritants.api.messages import RANGE_MESSAGES, Message
from irritants.api.schemas import IrritantCreateSchema
from irritants.extensions import db
from irritants.models import User

AGENT = "agent.lille@example.com"
DIRECTOR = "director@example.com"
Headers = Callable[[str], dict[str, str]]
NNBSP = "\u202f"  # French groups digits with a narrow no-break space

# A body marshmallow refuses (a wrong type, a missing field, an unknown field), and one it
# accepts but the service refuses (no such category): the service runs only on a body that
# passed the schema, so the two kinds never meet in one answer.
SCHEMA_BAD = {"category": 5, "description": "Parcel late", "colour": "red"}
SERVICE_BAD = {"category": "teleportation", "severity": "high", "description": "Parcel late"}
MESSAGES = {
    "fr": (
        {"category": ["Texte non valide."], "severity": ["Champ obligatoire manquant."],
         "colour": ["Champ inconnu."]},
        {"category": ["Catégorie inconnue."]},
    ),
    "en": (
        {"category": ["Not a valid string."], "severity": ["Missing data for required field."],
         "colour": ["Unknown field."]},
        {"category": ["Unknown category."]},
    ),
}


def set_locale(email: str, locale: str | None) -> None:
    """The user's stored language (what the pages' language switch sets)."""
    db.session.execute(sa.update(User).where(User.email == email).values(locale=locale))
    db.session.commit()


def agent_headers(auth_headers: Headers, stored: str | None, asked: str | None
                  ) -> dict[str, str]:
    """The agent's token headers, their stored language `stored`, asking for `asked`."""
    set_locale(AGENT, stored)
    headers = auth_headers(AGENT)
    if asked is not None:
        headers["Accept-Language"] = asked
    return headers


@pytest.mark.parametrize(
    ("stored", "asked", "language"),
    [
        ("fr", None, "fr"),
        ("fr", "en", "en"),
        ("en", None, "en"),
        ("en", "fr-FR,fr;q=0.9", "fr"),
        (None, None, "fr"),
        ("en", "de", "en"),  # names neither language: the stored one
        ("en", "*", "en"),  # any language: the stored one
    ],
    ids=["fr user", "fr user asking en", "en user", "en user asking fr", "no language",
         "en user asking de", "en user asking any"],
)
def test_schema_and_service_errors_speak_one_language(
    client: FlaskClient, auth_headers: Headers, stored: str | None, asked: str | None,
    language: str,
) -> None:
    headers = agent_headers(auth_headers, stored, asked)

    schema = client.post("/api/v1/irritants", json=SCHEMA_BAD, headers=headers)
    service = client.post("/api/v1/irritants", json=SERVICE_BAD, headers=headers)

    assert (schema.status_code, service.status_code) == (422, 422)
    assert (schema.get_json()["errors"], service.get_json()["errors"]) == MESSAGES[language]


UNAUTHORIZED = {"fr": "Un jeton d’API valide est requis.",
                "en": "A valid bearer token is required."}
FORBIDDEN = {"fr": "Votre rôle ne permet pas de faire cela.", "en": "Your role may not do this."}
NOT_FOUND = {"fr": "Introuvable.", "en": "Not found."}


@pytest.mark.parametrize("asked", [None, "fr", "en"])
def test_401_without_a_token_follows_accept_language_else_french(
    client: FlaskClient, org: dict[str, Any], asked: str | None
) -> None:
    response = client.get("/api/v1/units",
                          headers={"Accept-Language": asked} if asked else {})

    assert response.status_code == 401
    assert response.get_json() == {"code": 401, "status": "Unauthorized",
                                   "message": UNAUTHORIZED[asked or "fr"]}


@pytest.mark.parametrize(
    ("stored", "asked", "language"),
    [(None, None, "fr"), ("en", None, "en"), ("fr", "en", "en"), ("en", "fr", "fr")],
)
def test_403_and_404_speak_the_language_of_the_call(
    client: FlaskClient, auth_headers: Headers, stored: str | None, asked: str | None,
    language: str,
) -> None:
    headers = agent_headers(auth_headers, stored, asked)

    forbidden = client.get("/api/v1/gaps", headers=headers)  # agents: 403
    missing = client.get("/api/v1/irritants/999999", headers=headers)

    assert forbidden.get_json() == {"code": 403, "status": "Forbidden",
                                    "message": FORBIDDEN[language]}
    assert missing.get_json() == {"code": 404, "status": "Not Found",
                                  "message": NOT_FOUND[language]}


@pytest.mark.parametrize(
    ("language", "too_long", "too_large", "per_page"),
    [
        ("fr", f"La longueur doit être comprise entre 1 et 10{NNBSP}000.",
         f"Doit être inférieur à 1{NNBSP}000{NNBSP}000{NNBSP}000{NNBSP}000.",
         "Doit être supérieur ou égal à 1 et inférieur ou égal à 500."),
        ("en", "Length must be between 1 and 10,000.",
         "Must be less than 1,000,000,000,000.",
         "Must be greater than or equal to 1 and less than or equal to 500."),
    ],
)
def test_numbers_in_messages_are_written_as_the_language_writes_them(
    client: FlaskClient, auth_headers: Headers, language: str, too_long: str, too_large: str,
    per_page: str,
) -> None:
    set_locale(AGENT, language)
    headers = auth_headers(AGENT)

    logged = client.post("/api/v1/irritants", headers=headers, json={
        "category": "late-delivery", "severity": "high", "description": "x" * 10_001,
        "amount": 1_000_000_000_000})
    listed = client.get("/api/v1/irritants?per_page=501", headers=headers)

    assert logged.get_json() == {"errors": {"description": [too_long], "amount": [too_large]}}
    assert listed.get_json() == {"errors": {"per_page": [per_page]}}


def test_a_huge_number_sent_is_not_written_out_only_the_bounds(
    client: FlaskClient, auth_headers: Headers
) -> None:
    response = client.get(f"/api/v1/irritants?per_page={10**100}", headers=auth_headers(AGENT))

    assert response.get_json() == {"errors": {"per_page": [
        "Doit être supérieur ou égal à 1 et inférieur ou égal à 500."]}}


def test_the_blueprint_and_header_messages_follow_the_language(
    client: FlaskClient, auth_headers: Headers
) -> None:
    set_locale(AGENT, "en")
    headers = auth_headers(AGENT)

    english = client.post("/api/v1/irritants", data=b"{", content_type="application/json",
                          headers=headers)
    french = client.post("/api/v1/irritants", data=b"x", content_type="text/plain",
                         headers={**headers, "Accept-Language": "fr"})
    key = client.post("/api/v1/irritants", json=SERVICE_BAD,
                      headers={**headers, "Idempotency-Key": "é", "Accept-Language": "fr"})

    assert english.get_json() == {"errors": {"body": ["Invalid JSON body."]}}
    assert french.get_json() == {"errors": {"body": ["Envoyez le corps en application/json."]}}
    assert key.get_json() == {"errors": {
        "Idempotency-Key": ["Doit compter de 1 à 200 caractères ASCII imprimables."]}}


def test_the_language_is_chosen_after_the_token_is_read(
    client: FlaskClient, auth_headers: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flask_babel import get_locale

    from irritants.api import auth

    set_locale(AGENT, "en")
    headers = auth_headers(AGENT)
    read_token = auth._bearer_token

    def locale_asked_first() -> str | None:
        get_locale()  # something asked for the language before the token was read
        return read_token()

    monkeypatch.setattr(auth, "_bearer_token", locale_asked_first)

    response = client.post("/api/v1/irritants", json=SCHEMA_BAD, headers=headers)

    assert response.get_json()["errors"] == MESSAGES["en"][0]


def test_a_database_outage_is_answered_in_the_token_holder_language(
    client: FlaskClient, auth_headers: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from irritants.services import queues

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))

    set_locale(DIRECTOR, "en")
    headers = auth_headers(DIRECTOR)
    monkeypatch.setattr(queues, "visible_irritants", unreachable)

    response = client.get("/api/v1/irritants", headers=headers)

    assert response.status_code == 503
    assert response.get_json()["message"] == (
        "The service is temporarily unavailable; try again in a few seconds.")


def test_outside_a_request_the_messages_are_english_with_plain_numbers() -> None:
    errors = IrritantCreateSchema().validate({"category": 5, "description": "x" * 10_001,
                                              "colour": "red"})

    assert errors == {"category": ["Not a valid string."],
                      "severity": ["Missing data for required field."],
                      "description": ["Length must be between 1 and 10000."],
                      "colour": ["Unknown field."]}


@pytest.mark.parametrize("min_inclusive", [True, False])
@pytest.mark.parametrize("max_inclusive", [True, False])
def test_every_sentence_range_composes_is_in_the_catalogue(min_inclusive: bool,
                                                           max_inclusive: bool) -> None:
    bounds = {"min_inclusive": min_inclusive, "max_inclusive": max_inclusive}
    composed = [validate.Range(min=1, max=2, **bounds).message_all,
                validate.Range(min=1, **bounds).message_min,
                validate.Range(max=2, **bounds).message_max]

    assert all(isinstance(message, Message) for message in composed)
    assert set(composed) <= set(RANGE_MESSAGES)
