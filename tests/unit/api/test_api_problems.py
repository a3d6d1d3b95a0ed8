"""Every error leaves as RFC 9457 problem+json with a request id; security headers on all."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from api.app import base_app
from api.config import ApiSettings
from api.problems import PROBLEM_BASE, PROBLEM_MEDIA_TYPE, TITLES
from domain import errors
from domain.errors import NexusError

ALL_ERRORS = [
    errors.ValidationError,
    errors.NotFoundError,
    errors.ConflictError,
    errors.AuthError,
    errors.RateLimitedError,
    errors.BudgetExceededError,
    errors.ProviderError,
    errors.ServiceUnavailableError,
]


class Body(BaseModel):
    name: str = Field(min_length=2)
    secret: str


def _app(**api: object) -> FastAPI:
    app = base_app(ApiSettings(max_body_bytes=1000, **api), title="test")  # type: ignore[arg-type]

    @app.get("/raise/{code}")
    def raise_error(code: str) -> None:
        error = next(cls for cls in ALL_ERRORS if cls.code == code)
        raise error("it went wrong", thing="x")

    @app.get("/retry")
    def retry() -> None:
        raise errors.RateLimitedError("slow down", retry_after=7)

    @app.get("/config")
    def config() -> None:
        raise errors.ConfigurationError("database password is hunter2")

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret stack detail")

    @app.post("/body")
    async def body(payload: Body) -> dict[str, str]:
        return {"name": payload.name}

    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(_app(), raise_server_exceptions=False) as client:
        yield client


def _is_problem(response: object, status: int, code: str | None) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert body["type"] == (f"{PROBLEM_BASE}{code}" if code else "about:blank")
    assert body["request_id"] == response.headers["x-request-id"]  # type: ignore[attr-defined]
    return body


@pytest.mark.parametrize("error", ALL_ERRORS, ids=lambda cls: cls.code)
def test_nexus_errors_map_by_code(client: TestClient, error: type[NexusError]) -> None:
    body = _is_problem(client.get(f"/raise/{error.code}"), error.status, error.code)
    assert body["title"] == TITLES[error.code]
    assert body["detail"] == "it went wrong"
    assert body["instance"] == f"/raise/{error.code}"
    assert body["thing"] == "x"


def test_every_domain_error_code_has_a_title() -> None:
    assert {cls.code for cls in ALL_ERRORS} <= set(TITLES)


def test_unauthorized_carries_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/raise/unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_rate_limited_carries_retry_after(client: TestClient) -> None:
    response = client.get("/retry")
    _is_problem(response, 429, "rate-limited")
    assert response.headers["retry-after"] == "7"


def test_internal_errors_hide_their_message(client: TestClient) -> None:
    body = _is_problem(client.get("/config"), 500, "internal")
    assert "hunter2" not in str(body)


def test_unexpected_exception_is_a_bare_500(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.get("/boom", headers={"X-Request-ID": "req-42"})
    body = _is_problem(response, 500, "internal")
    assert body["request_id"] == "req-42"
    assert "secret stack detail" not in response.text and "Traceback" not in response.text
    assert any("unhandled error" in str(record.msg) for record in caplog.records)


def test_validation_errors_list_fields_without_echoing_input(client: TestClient) -> None:
    response = client.post("/body", json={"name": "a", "secret": 12345678})
    body = _is_problem(response, 422, "validation")
    fields = {tuple(error["loc"]) for error in body["errors"]}  # type: ignore[attr-defined]
    assert fields == {("body", "name"), ("body", "secret")}
    assert "12345678" not in response.text


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/body", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    _is_problem(response, 400, "malformed-request")


def test_unknown_route_is_404(client: TestClient) -> None:
    _is_problem(client.get("/v1/nothing-here"), 404, "not-found")


def test_wrong_method_is_405_with_allow(client: TestClient) -> None:
    response = client.delete("/body")
    _is_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "POST"


def test_declared_oversized_body_is_413(client: TestClient) -> None:
    response = client.post("/body", content=b"x" * 1001, headers={"content-type": "text/plain"})
    body = _is_problem(response, 413, "payload-too-large")
    assert body["max_bytes"] == 1000


def test_streamed_oversized_body_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"y" * 300

    response = client.post("/body", content=chunks(), headers={"content-type": "text/plain"})
    _is_problem(response, 413, "payload-too-large")


def test_body_at_the_limit_passes(client: TestClient) -> None:
    payload = b'{"name": "ab", "secret": "' + b"s" * 960 + b'"}'
    assert len(payload) <= 1000
    response = client.post("/body", content=payload, headers={"content-type": "application/json"})
    assert response.status_code == 200


def test_request_id_is_accepted_or_generated(client: TestClient) -> None:
    assert client.get("/docs", headers={"X-Request-ID": "abc-1"}).headers["x-request-id"] == "abc-1"
    generated = client.get("/docs", headers={"X-Request-ID": "bad id; " + "x" * 200})
    assert len(generated.headers["x-request-id"]) == 32


def test_security_headers_and_strict_csp(client: TestClient) -> None:
    headers = client.get("/v1/nothing-here").headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert headers["content-security-policy"].startswith("default-src 'none'")
    docs_csp = client.get("/docs").headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in docs_csp and "frame-ancestors 'none'" in docs_csp


def test_no_cors_headers_without_an_allow_list(client: TestClient) -> None:
    response = client.get("/docs", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_only_listed_origins() -> None:
    with TestClient(_app(cors_allow_origins=["https://app.example"])) as client:
        preflight = client.options(
            "/body",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        other = client.get("/docs", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_cors_wildcard_is_refused() -> None:
    with pytest.raises(ValueError, match="explicitly"):
        ApiSettings(cors_allow_origins=["*"])
