"""RFC 9457 problem details: the one shape of every error the API returns.

`type` is ``https://autoforge.dev/problems/<code>`` where ``code`` is the stable code of our
`NexusError` (or of the HTTP status for framework errors); `request_id` matches the
`X-Request-ID` response header and the logs.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.routing import Match
from starlette.websockets import WebSocket, WebSocketState

from api.scope import request_id_of
from domain.errors import NexusError
from engine.logs import get_logger

log = get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://autoforge.dev/problems/"
BEARER_REALM = 'Bearer realm="autoforge"'

TITLES = {
    "validation": "Request is invalid",
    "malformed-request": "Request is malformed",
    "unauthorized": "Authentication required",
    "forbidden": "Forbidden",
    "code-not-allowed": "Code execution not allowed",
    "not-found": "Resource not found",
    "method-not-allowed": "Method not allowed",
    "conflict": "Conflict",
    "payload-too-large": "Request body too large",
    "unsupported-media-type": "Unsupported media type",
    "rate-limited": "Too many requests",
    "budget-exceeded": "Budget exceeded",
    "provider-error": "Model provider failed",
    "service-unavailable": "Service unavailable",
    "internal": "Internal server error",
}
STATUS_CODES = {
    400: "malformed-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "rate-limited",
    500: "internal",
    503: "service-unavailable",
}
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_RESERVED = {"type", "title", "status", "detail", "instance", "request_id", "errors"}


class Problem(BaseModel):
    """An RFC 9457 problem; extension members carry the error's details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[f"{PROBLEM_BASE}not-found"])
    title: str = Field(examples=["Resource not found"])
    status: int = Field(examples=[404])
    detail: str | None = Field(default=None, examples=["no key stored for this provider"])
    instance: str | None = Field(default=None, examples=["/v1/provider-keys/openai"])
    request_id: str | None = Field(default=None, examples=["5f0c6a1e9b3d4f7a8c2e1d0b9a8f7e6d"])


class FieldError(BaseModel):
    """One invalid field: where, what and the validator's error type."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationProblem(Problem):
    """A 422 problem listing every invalid field."""

    errors: list[FieldError] = Field(default_factory=list)


def problem_type(code: str | None) -> str:
    """The `type` URI of a problem code (`about:blank` for a bare HTTP status)."""
    return f"{PROBLEM_BASE}{code}" if code else "about:blank"


def problem_title(status: int, code: str | None) -> str:
    """A short, stable title: ours for known codes, else the code or the HTTP phrase."""
    if code in TITLES:
        return TITLES[code]
    return code.replace("-", " ").capitalize() if code else HTTPStatus(status).phrase


def problem_body(
    status: int,
    code: str | None,
    detail: str | None,
    conn: HTTPConnection | None,
    **extensions: Any,
) -> dict[str, Any]:
    """The JSON members of a problem for the request ``conn``."""
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": problem_title(status, code),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if conn is not None:
        body["instance"] = conn.url.path
        body["request_id"] = request_id_of(conn.scope)
    body.update(extensions)
    return body


def problem_response(
    status: int,
    code: str | None,
    detail: str | None = None,
    conn: HTTPConnection | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A `application/problem+json` response."""
    body = problem_body(status, code, detail, conn, **extensions)
    return JSONResponse(body, status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def code_for_status(status: int) -> str | None:
    """Our problem code for a bare HTTP status (None: plain `about:blank`)."""
    return STATUS_CODES.get(status, "internal" if status >= 500 else None)


async def _respond(
    conn: HTTPConnection, status: int, code: str | None, detail: str | None, **kwargs: Any
) -> JSONResponse | None:
    if conn.scope["type"] == "websocket":
        await _close_websocket(conn, status, code)
        return None
    return problem_response(status, code, detail, conn, **kwargs)


async def _close_websocket(conn: HTTPConnection, status: int, code: str | None) -> None:
    # Accept, then close with 4000 + HTTP status: a refused handshake reaches clients only as
    # a bare 403, whereas a close code tells 401 from 404 from 429.
    if not isinstance(conn, WebSocket):
        return
    if conn.client_state == WebSocketState.CONNECTING:
        await conn.accept()
    if conn.client_state == WebSocketState.CONNECTED:
        await conn.close(code=4000 + status, reason=problem_title(status, code)[:120])


async def nexus_error_handler(conn: HTTPConnection, exc: Exception) -> JSONResponse | None:
    """Our own errors: their code, status, message and details."""
    assert isinstance(exc, NexusError)
    if exc.status >= 500 and exc.status not in (502, 503):
        log.error("request failed", code=exc.code, error=exc.message)
        return await _respond(conn, 500, "internal", "the server could not complete the request")
    headers: dict[str, str] = {}
    if exc.status == 401:
        error = exc.details.get("bearer_error")
        headers["WWW-Authenticate"] = f'{BEARER_REALM}, error="{error}"' if error else BEARER_REALM
    if "retry_after" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after"])
    extensions = {
        key: _json_safe(value)
        for key, value in exc.details.items()
        if key not in _RESERVED and key != "bearer_error"
    }
    return await _respond(conn, exc.status, exc.code, exc.message, headers=headers, **extensions)


def allowed_methods(conn: HTTPConnection) -> list[str]:
    """Every method some route accepts at this path (Starlette names only the first route's)."""
    routes = conn.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**conn.scope, "method": method})[0] == Match.FULL for route in routes)
    ]


def _json_safe(value: Any) -> Any:
    try:
        return jsonable_encoder(value)
    except (TypeError, ValueError):
        return str(value)


async def http_error_handler(conn: HTTPConnection, exc: Exception) -> JSONResponse | None:
    """Framework HTTP errors: unknown route, wrong method, oversized or unreadable body."""
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = "no such resource"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(conn))
    return await _respond(conn, exc.status_code, code_for_status(exc.status_code), detail,
                          headers=headers or None)  # fmt: skip


async def validation_error_handler(conn: HTTPConnection, exc: Exception) -> JSONResponse | None:
    """Request validation: 400 for unparsable JSON, 422 listing every invalid field."""
    assert isinstance(exc, RequestValidationError | WebSocketRequestValidationError)
    raw = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in raw):
        return await _respond(conn, 400, "malformed-request", "the body is not valid JSON")
    # `input` and `ctx` are left out on purpose: they echo what was sent (an API key, say).
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type"))}
        for e in raw
    ]
    return await _respond(conn, 422, "validation", "the request has invalid fields", errors=errors)


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error raised below the edge middleware to a problem."""
    handlers: list[tuple[type[Exception], Any]] = [
        # Each handler serves HTTP requests and WebSockets alike, hence `Any`.
        (NexusError, nexus_error_handler),
        (HTTPException, http_error_handler),
        (RequestValidationError, validation_error_handler),
        (WebSocketRequestValidationError, validation_error_handler),
    ]
    for error, handler in handlers:
        app.add_exception_handler(error, handler)
