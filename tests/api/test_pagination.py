"""Every list is paginated the same way: ?page=1&per_page=50, at most 500 (api.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

AGENT = "agent.lille@example.com"
DIRECTOR = "director@example.com"
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def seven(log_via_api: Callable[..., dict[str, Any]]) -> list[int]:
    """Seven irritants at lille (assigned to lille), oldest first."""
    return [log_via_api(AGENT, category="rude-service", severity="low",
                        description=f"Number {n}")["id"] for n in range(7)]


def test_pages_split_the_list_newest_first_with_the_total(
    client: FlaskClient, auth_headers: Headers, seven: list[int]
) -> None:
    headers = auth_headers(DIRECTOR)
    pages = [client.get(f"/api/v1/irritants?page={page}&per_page=3", headers=headers)
             for page in (1, 2, 3)]

    assert [page.status_code for page in pages] == [200, 200, 200]
    bodies = [page.get_json() for page in pages]
    assert [(b["page"], b["per_page"], b["total"]) for b in bodies] == [
        (1, 3, 7), (2, 3, 7), (3, 3, 7)]
    assert [item["id"] for b in bodies for item in b["items"]] == list(reversed(seven))


def test_a_page_past_the_end_has_no_items(client: FlaskClient, auth_headers: Headers,
                                          seven: list[int]) -> None:
    response = client.get("/api/v1/irritants?page=4&per_page=3", headers=auth_headers(DIRECTOR))

    assert response.status_code == 200
    assert response.get_json() == {"items": [], "page": 4, "per_page": 3, "total": 7}


def test_an_enormous_page_number_is_past_the_end_not_an_error(
    client: FlaskClient, auth_headers: Headers, seven: list[int]
) -> None:
    page = 10**20
    response = client.get(f"/api/v1/irritants?page={page}&per_page=500",
                          headers=auth_headers(DIRECTOR))

    assert response.status_code == 200
    assert response.get_json() == {"items": [], "page": page, "per_page": 500, "total": 7}


def test_defaults_are_page_1_and_50_per_page(client: FlaskClient, auth_headers: Headers,
                                             seven: list[int]) -> None:
    body = client.get("/api/v1/irritants", headers=auth_headers(DIRECTOR)).get_json()

    assert (body["page"], body["per_page"], body["total"], len(body["items"])) == (1, 50, 7, 7)


@pytest.mark.parametrize(("per_page", "status"), [(500, 200), (501, 422), (1, 200), (0, 422)])
def test_per_page_is_at_most_500(client: FlaskClient, auth_headers: Headers, seven: list[int],
                                 per_page: int, status: int) -> None:
    response = client.get(f"/api/v1/irritants?per_page={per_page}",
                          headers=auth_headers(DIRECTOR))

    assert response.status_code == status
    if status == 422:
        assert list(response.get_json()["errors"]) == ["per_page"]


@pytest.mark.parametrize("path", ["/api/v1/units/lille/queue", "/api/v1/units",
                                  "/api/v1/categories"])
def test_queues_units_and_categories_are_paginated_the_same_way(
    client: FlaskClient, auth_headers: Headers, seven: list[int], path: str
) -> None:
    headers = auth_headers(DIRECTOR)
    first = client.get(f"{path}?page=1&per_page=2", headers=headers).get_json()
    total = first["total"]
    pages = [client.get(f"{path}?page={page}&per_page=2", headers=headers).get_json()
             for page in range(1, (total + 1) // 2 + 2)]

    assert total >= 5
    assert [len(page["items"]) for page in pages[:-1]] == [2] * (total // 2) + [1] * (total % 2)
    assert pages[-1]["items"] == []
    keys = [item.get("id", item.get("key")) for page in pages for item in page["items"]]
    assert len(keys) == len(set(keys)) == total
    assert client.get(f"{path}?per_page=501", headers=headers).status_code == 422
