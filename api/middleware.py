"""Pure ASGI middleware at the edge of the app: request ids, headers, last-resort errors, body size.

Pure ASGI (not `BaseHTTPMiddleware`) so streamed responses and WebSockets pass untouched.
"""

from __future__ import annotations

import re
import time
import traceback
import uuid
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import RequestMetrics, route_template
from api.problems import problem_response
from api.ratelimit import RateLimitState
from api.scope import RATE_LIMIT, REQUEST_ID, request_state, route_path
from engine import tracing
from engine.logs import bound, get_logger

log = get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI loads its bundle from jsDelivr and boots from an inline script.
DOCS_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.jsdelivr.net; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)


def incoming_request_id(scope: Scope) -> str | None:
    """The caller's `X-Request-ID` when it is safe to log and echo, else None."""
    value = Headers(scope=scope).get(REQUEST_ID_HEADER)
    return value if value and _SAFE_REQUEST_ID.match(value) else None


class EdgeMiddleware:
    """Request id (accepted or generated, bound into logs, echoed), security and rate-limit
    headers on every response, a 500 problem for anything unexpected, and request metrics.

    Args:
        echo_request_id: add `X-Request-ID` to responses; off behind Serve's proxy, which
            already sets the header on requests and echoes it on responses.
        metrics: where HTTP requests are counted and timed (WebSockets are not).
    """

    def __init__(
        self, app: ASGIApp, echo_request_id: bool = True, metrics: RequestMetrics | None = None
    ) -> None:
        self.app = app
        self.echo_request_id = echo_request_id
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope) or uuid.uuid4().hex
        state = request_state(scope)
        state[REQUEST_ID] = request_id
        with bound(request_id=request_id):
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)
                return
            if tracing.enabled():
                await self._traced(scope, receive, send, state, request_id)
            else:
                await self._served(scope, receive, send, state, request_id)

    async def _served(
        self, scope: Scope, receive: Receive, send: Send, state: Any, request_id: str
    ) -> None:
        if self.metrics is None:
            await self._http(scope, receive, send, state, request_id)
        else:
            await self._measured(scope, receive, send, state, request_id, self.metrics)

    async def _traced(
        self, scope: Scope, receive: Receive, send: Send, state: Any, request_id: str
    ) -> None:
        method, path = scope.get("method", ""), route_path(scope)
        with tracing.server_span(f"{method} {path}", Headers(scope=scope)) as span:

            async def noted_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    tracing.mark(span, **{"http.response.status_code": int(message["status"])})
                await send(message)

            try:
                await self._served(scope, receive, noted_send, state, request_id)
            finally:
                if span is not None:  # named by the route that served it: ids are attributes
                    span.update_name(f"{method} {route_template(scope)}")
                attributes = {"http.request.method": method, "url.path": path}
                tracing.mark(span, **attributes, **{"autoforge.request_id": request_id})

    async def _measured(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        state: Any,
        request_id: str,
        metrics: RequestMetrics,
    ) -> None:
        status = 500  # what the client sees when the app fails before it answers

        async def noted_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        metrics.in_flight.inc()
        began = time.perf_counter()
        try:
            await self._http(scope, receive, noted_send, state, request_id)
        finally:
            metrics.in_flight.dec()
            metrics.observe(scope, status, time.perf_counter() - began)

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, state: Any, request_id: str
    ) -> None:
        started = False

        async def decorated_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                if self.echo_request_id:
                    headers[REQUEST_ID_HEADER] = request_id
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
                docs = route_path(scope) in DOCS_PATHS
                headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else API_CSP)
                for name, value in _rate_limit_headers(state.get(RATE_LIMIT)):
                    headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, decorated_send)
        except Exception as exc:
            # A plain traceback: rich's console renderer would print frame locals (secrets).
            trace = "".join(traceback.format_exception(exc))
            log.error(
                "unhandled error", method=scope.get("method"), path=route_path(scope), trace=trace
            )
            if started:
                raise
            detail = "the server could not complete the request"
            response = problem_response(500, "internal", detail, HTTPConnection(scope))
            await response(scope, receive, decorated_send)


def _rate_limit_headers(limit: RateLimitState | None) -> list[tuple[str, str]]:
    if limit is None:
        return []
    return [
        ("RateLimit-Limit", str(limit.limit)),
        ("RateLimit-Remaining", str(limit.remaining)),
        ("RateLimit-Reset", str(limit.reset_after)),
    ]


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with a 413 problem, whether the size is
    declared (`Content-Length`) or only discovered while a chunked body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    if not started:
                        await self._too_large(scope, receive, send)
                    # The app sees a vanished client and stops reading; its reply is dropped.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body exceeds {self.max_bytes} bytes"
        response = problem_response(
            413, "payload-too-large", detail, HTTPConnection(scope), max_bytes=self.max_bytes
        )
        await response(scope, receive, send)
