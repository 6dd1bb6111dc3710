"""S12, the slow part: injection through sort, order and filters, and arrays where a scalar is
expected, on every list of the API and on the pages that search (SQLite and PostgreSQL:
`make check-slow` runs it on both).

tests/api/test_bad_input.py holds the fast cases (a few parameters of GET /irritants);
this file crosses every list endpoint with every parameter and every payload:

- `sort`, `order`, `order_by`, `orderBy`, `direction` are not parameters of any list: any
  value is ignored (same answer as without it) or refused by name (422, /gaps), never
  reflected, never slow;
- a key filter holding SQL or LIKE metacharacters matches nothing (no widening to every
  row) and a choice filter holding them is a 422;
- every declared parameter given as `name[]=`, `name[0]=`, `name[$ne]=` or twice is a 422
  on that parameter;
- page searches (admin users and units, insights unit search) escape LIKE wildcards;
- the tables are intact afterwards (same rows as before).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from irritants.extensions import db
from irritants.models import User
from irritants.services.intake import log_irritant
from tests.web.conftest import sign_in

pytestmark = pytest.mark.slow

DIRECTOR = "director@example.com"
SQL = [
    "' OR '1'='1", "lille' OR 1=1--", "x') OR ('1'='1", "1;SELECT pg_sleep(3)--",
    "late-delivery'; DROP TABLE irritant;--", "x' UNION SELECT email FROM \"user\"--",
    "' || (SELECT pg_sleep(3)) || '", "x\\' OR 1=1#", "%", "_", "%%", "lille%", "l_lle", "*",
    "$ne", "{\"$gt\": \"\"}", "NULL", "\u202elille", "lille\u0000",
]
ORDERING = [
    "id;DROP TABLE irritant", "created_at desc; SELECT pg_sleep(3)", "(SELECT 1)",
    "id,(CASE WHEN 1=1 THEN id ELSE due_at END)", "1 desc", "-id", "../../etc/passwd",
    "<script>alert(1)</script>",
]
ORDER_PARAMETERS = ["sort", "order", "order_by", "orderBy", "direction", "sort[]"]
# (path, its declared query parameters, which of them are keys matched exactly)
LISTS: list[tuple[str, list[str], list[str]]] = [
    ("/api/v1/irritants", ["status", "severity", "assignee", "origin_unit", "category",
                           "root_cause", "page", "per_page"],
     ["assignee", "origin_unit", "category", "root_cause"]),
    ("/api/v1/units", ["page", "per_page"], []),
    ("/api/v1/categories", ["page", "per_page"], []),
    ("/api/v1/units/lille/queue", ["page", "per_page"], []),
    ("/api/v1/gaps", ["since", "until"], []),
]
VALID = {"status": "open", "severity": "high", "assignee": "lille", "origin_unit": "lille",
         "category": "rude-service", "root_cause": "other", "page": "1", "per_page": "5",
         "since": "2026-01-01T00:00:00Z", "until": "2036-01-01T00:00:00Z"}
SLOW = 2.0  # seconds: a pg_sleep(3) that ran would show


def table_rows() -> dict[str, int]:
    db.session.rollback()
    return {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            for table in db.metadata.sorted_tables}


@pytest.fixture
def director(client: FlaskClient, org: dict[str, Any]) -> dict[str, str]:
    """Bearer headers of the director (sees every irritant), with some irritants to list."""
    users = {user.email: user for user in db.session.scalars(sa.select(User))}
    for email, category, unit in (("agent.lille@example.com", "rude-service", None),
                                  ("agent.lille@example.com", "late-delivery", None),
                                  ("agent.marseille@example.com", "faulty-product", None),
                                  (DIRECTOR, "billing-error", "roubaix")):
        log_irritant(users[email], category=category, severity="high",
                     description="Injection test", origin_unit=unit)
    passwords = {user["email"]: user["password"] for user in org["users"]}
    response = client.post("/api/v1/tokens", json={"email": DIRECTOR,
                                                    "password": passwords[DIRECTOR]})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def timed_get(client: FlaskClient, url: str, headers: dict[str, str]) -> tuple[Any, float]:
    started = time.monotonic()
    response = client.get(url, headers=headers)
    return response, time.monotonic() - started


@pytest.mark.parametrize("path", [item[0] for item in LISTS])
def test_sort_and_order_parameters_are_ignored_never_reflected_never_slow(
    client: FlaskClient, director: dict[str, str], path: str
) -> None:
    before = table_rows()
    baseline = client.get(path, headers=director)
    assert baseline.status_code == 200
    for name in ORDER_PARAMETERS:
        for value in ORDERING:
            response, seconds = timed_get(client, f"{path}?{name}={quote(value)}", director)

            if response.status_code == 422:  # /gaps refuses unknown parameters by name
                assert list(response.get_json()["errors"]) == [name]
            else:
                assert response.status_code == 200, (name, value, response.get_json())
                assert response.get_json() == baseline.get_json(), (name, value)
            assert value not in response.get_data(as_text=True)
            assert seconds < SLOW
    assert table_rows() == before


@pytest.mark.parametrize("payload", SQL)
def test_a_key_filter_with_sql_or_like_metacharacters_matches_nothing(
    client: FlaskClient, director: dict[str, str], payload: str
) -> None:
    before = table_rows()
    for name in LISTS[0][2]:
        response, seconds = timed_get(client, f"/api/v1/irritants?{name}={quote(payload)}",
                                      director)

        if response.status_code == 422:  # e.g. a NUL byte: refused on that field
            assert list(response.get_json()["errors"]) == [name]
        else:
            assert response.status_code == 200, (name, response.get_json())
            assert (response.get_json()["total"], response.get_json()["items"]) == (0, []), name
        assert seconds < SLOW
    assert table_rows() == before


@pytest.mark.parametrize("payload", SQL)
def test_a_choice_filter_with_sql_is_a_422_on_its_field(
    client: FlaskClient, director: dict[str, str], payload: str
) -> None:
    for name in ("status", "severity"):
        response, seconds = timed_get(client, f"/api/v1/irritants?{name}={quote(payload)}",
                                      director)

        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == [name]
        assert seconds < SLOW


SHAPES: list[tuple[str, Callable[[str, str], str]]] = [
    ("name[]", lambda name, value: f"{name}[]={quote(value)}"),
    ("name[0]", lambda name, value: f"{name}[0]={quote(value)}"),
    ("name[$ne]", lambda name, value: f"{name}[$ne]={quote(value)}"),
    ("name[a][b]", lambda name, value: f"{name}[a][b]={quote(value)}"),
    ("twice", lambda name, value: f"{name}={quote(value)}&{name}={quote(value)}"),
    ("twice, one bracketed", lambda name, value: f"{name}={quote(value)}&{name}[]=x"),
]


@pytest.mark.parametrize(("path", "parameters"), [item[:2] for item in LISTS],
                         ids=[item[0] for item in LISTS])
@pytest.mark.parametrize(("shape", "build"), SHAPES, ids=[shape for shape, _ in SHAPES])
def test_an_array_or_object_where_a_scalar_is_expected_is_a_422_on_that_parameter(
    client: FlaskClient, director: dict[str, str], path: str, parameters: list[str],
    shape: str, build: Callable[[str, str], str],
) -> None:
    for name in parameters:
        response = client.get(f"{path}?{build(name, VALID[name])}", headers=director)

        assert response.status_code == 422, (name, shape, response.get_json())
        # The parameter as named (`since`), or as sent when unknown fields are refused
        # (`since[]`), and nothing else.
        fields = list(response.get_json()["errors"])
        assert fields, (name, shape)
        assert all(field == name or field.startswith(f"{name}[") for field in fields), fields


WILDCARDS = ["%", "_", "\\", "%%%", "a%", "\\%", "%_%", "' OR '1'='1"]


def test_admin_searches_treat_like_wildcards_as_plain_text(
    client: FlaskClient, org: dict[str, Any]
) -> None:
    from irritants.services.org_edit import search_units
    from irritants.services.users_admin import list_users

    passwords = {user["email"]: user["password"] for user in org["users"]}
    sign_in(client, "admin@example.com", passwords["admin@example.com"])
    # Plain text finds what it names...
    assert search_units("lil").total == 1
    assert list_users("lille").total == 2
    for payload in WILDCARDS:
        # ...a wildcard finds nothing (no key, name or email holds one)...
        assert (search_units(payload).total, list_users(payload).total) == (0, 0), payload
        # ...and the pages that search answer normally.
        for page in ("/admin/users", "/admin/units"):
            response = client.get(f"{page}?q={quote(payload)}")
            assert response.status_code == 200, (page, payload)


def test_the_director_unit_search_escapes_wildcards(client: FlaskClient,
                                                    org: dict[str, Any]) -> None:
    from irritants.services.dashboards import search_units

    director = db.session.scalar(sa.select(User).where(User.email == DIRECTOR))
    assert [row["key"] for row in search_units(actor=director, text="lille")] == ["lille"]
    for payload in ("%", "_", "\\", "%_%", "' OR '1'='1"):
        assert search_units(actor=director, text=payload) == [], payload
