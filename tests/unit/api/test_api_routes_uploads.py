"""Dataset files read from a request (raw or multipart), and bad rows as a 422 problem."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException
from starlette.requests import Request

from api.app import base_app
from api.config import ApiSettings
from api.problems import PROBLEM_MEDIA_TYPE
from api.routes_dataset_import import Upload, read_upload, row_errors_handler
from domain.errors import ValidationError

JSONL = '{"q": "2+2?", "expected": "4"}\n'


def _request(content_type: str | None, body: bytes) -> Request:
    headers = [(b"content-type", content_type.encode())] if content_type else []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": b""}
    return Request(scope, receive)


def _multipart(filename: str, content: bytes, media_type: str, field: str = "file") -> Request:
    built = httpx.Request("POST", "http://t/", files={field: (filename, content, media_type)})
    return _request(built.headers["content-type"], built.read())


async def test_a_raw_body_is_read_by_its_content_type() -> None:
    upload = await read_upload(_request("application/x-ndjson; charset=utf-8", JSONL.encode()))
    assert upload == Upload(JSONL, "jsonl")
    assert (
        await read_upload(_request("text/csv", b"\xef\xbb\xbfq,expected\n"))
    ).text == "q,expected\n"


async def test_a_multipart_file_is_read_by_type_or_extension() -> None:
    by_type = await read_upload(_multipart("x", b"q,expected\r\n1,2\r\n", "text/csv"))
    assert by_type == Upload("q,expected\r\n1,2\r\n", "csv")
    by_name = await read_upload(
        _multipart("cases.ndjson", JSONL.encode(), "application/octet-stream")
    )
    assert by_name.format == "jsonl"


async def test_other_types_are_unsupported() -> None:
    requests = [
        _request("application/json", b"[]"),
        _request(None, b"x"),
        _multipart("cases.txt", b"x", "text/plain"),
    ]
    for request in requests:
        with pytest.raises(HTTPException) as caught:
            await read_upload(request)
        assert caught.value.status_code == 415


async def test_a_multipart_body_without_a_file_field_is_invalid() -> None:
    with pytest.raises(ValidationError, match="no `file` field"):
        await read_upload(_multipart("cases.csv", b"q\n1\n", "text/csv", field="upload"))


async def test_text_must_be_utf8() -> None:
    with pytest.raises(ValidationError, match="not UTF-8"):
        await read_upload(_request("text/csv", b"q\n\xff\n"))


def _client() -> TestClient:
    app = base_app(ApiSettings(), title="t")
    app.add_exception_handler(ValidationError, row_errors_handler)

    @app.get("/rows")
    def rows() -> None:
        errors = [{"line": 3, "message": "expected 2 columns, got 3"}]
        raise ValidationError("1 bad row in dataset: line 3: …", reason="bad-rows", errors=errors)

    @app.get("/field")
    def field() -> None:
        raise ValidationError("name must not be empty", reason="empty", field="name")

    return TestClient(app)


def test_bad_rows_become_field_errors_located_by_line() -> None:
    response = _client().get("/rows")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["reason"] == "bad-rows" and body["type"].endswith("/validation")
    [error] = body["errors"]
    assert error == {
        "loc": ["body", "line", 3],
        "msg": "expected 2 columns, got 3",
        "type": "bad-row",
        "line": 3,
    }


def test_other_validation_errors_are_problems_as_before() -> None:
    body = _client().get("/field").json()
    assert body["status"] == 422 and body["field"] == "name" and "errors" not in body
