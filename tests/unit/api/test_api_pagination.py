"""Opaque cursors and the shared `limit`/`cursor` query parameters."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from api.app import base_app
from api.config import ApiSettings
from api.pagination import Page, PageDep, decode_cursor, encode_cursor, paginate
from domain.errors import ValidationError


def test_cursor_round_trips_and_is_url_safe() -> None:
    position = {"after": "open/ai+?", "n": 3}
    cursor = encode_cursor(position)
    assert decode_cursor(cursor) == position
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        "bm90IGpzb24",  # "not json"
        base64.urlsafe_b64encode(b"[1, 2]").decode(),  # JSON, but not an object
        "A" * 2000,
    ],
)
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(ValidationError, match="invalid cursor"):
        decode_cursor(cursor)


def test_paginate_reports_a_next_cursor_only_when_more_rows_exist() -> None:
    rows = ["a", "b", "c"]
    page = paginate(rows, 2, lambda row: {"after": row}, str.upper)
    assert page.items == ["A", "B"]
    assert page.next_cursor is not None and decode_cursor(page.next_cursor) == {"after": "b"}
    last = paginate(rows[:2], 2, lambda row: {"after": row}, str.upper)
    assert last.next_cursor is None


def _client() -> TestClient:
    app = base_app(ApiSettings(), title="test")

    @app.get("/items", response_model=Page[int])
    def items(page: PageDep) -> Page[int]:
        start = int(page.position["after"]) + 1 if page.position else 0
        rows = list(range(start, min(start + page.limit + 1, 120)))
        return paginate(rows, page.limit, lambda row: {"after": row}, int)

    return TestClient(app)


def test_limit_defaults_to_50_and_pages_chain() -> None:
    client = _client()
    first = client.get("/items").json()
    assert first["items"] == list(range(50))
    second = client.get("/items", params={"cursor": first["next_cursor"], "limit": 100}).json()
    assert second["items"] == list(range(50, 120)) and second["next_cursor"] is None


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_limit_outside_1_to_200_is_a_422_problem(limit: int) -> None:
    response = _client().get("/items", params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "limit"]


def test_bad_cursor_is_a_422_problem() -> None:
    response = _client().get("/items", params={"cursor": "garbage!"})
    assert response.status_code == 422
    assert response.json()["type"].endswith("/validation")
