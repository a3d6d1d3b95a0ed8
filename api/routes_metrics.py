"""`GET /metrics`: Prometheus' text exposition of the API's and the engine's metrics.

For operators, not users: the engine's metrics span every user's runs and spend, and our JWTs
carry no operator role. So `AUTOFORGE_METRICS=token` (the default) serves them to the bearer
of `AUTOFORGE_METRICS_TOKEN` (a static secret, as Prometheus' `authorization` block sends),
and, with auth off, to loopback callers as every route is; `public` serves anyone (a
network that only Prometheus reaches); `off` removes the route.
"""

from __future__ import annotations

import hmac

import anyio
from fastapi import Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from api.auth import is_loopback
from api.config import ApiSettings
from api.openapi import api_router
from api.ratelimit import (
    client_address,
    count_failed_authentication,
    enforce_anonymous_limit,
    refuse_blocked_address,
)
from domain.errors import AuthError

router = api_router(tags=["operations"], dependencies=[Depends(enforce_anonymous_limit)])


def scrape_allowed(api: ApiSettings, authorization: str | None, client_host: str | None) -> bool:
    """Whether this caller may read `/metrics` under ``api.metrics``."""
    if api.metrics == "public":
        return True
    scheme, _, token = (authorization or "").partition(" ")
    expected = api.metrics_token.get_secret_value() if api.metrics_token else ""
    if expected and scheme.lower() == "bearer":
        if hmac.compare_digest(token.strip().encode(), expected.encode()):
            return True
    return api.auth_mode == "none" and is_loopback(client_host)


async def _authorize(request: Request) -> None:
    api: ApiSettings = request.app.state.services.api
    address = client_address(request.scope, api.trusted_proxies)
    await refuse_blocked_address(request, address)
    host = request.client.host if request.client else None
    if not scrape_allowed(api, request.headers.get("authorization"), host):
        await count_failed_authentication(request, address)
        raise AuthError(
            "metrics need the operator's bearer token (AUTOFORGE_METRICS_TOKEN)",
            bearer_error="invalid_token",
        )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: API requests, runs, cells, cache, providers, queues."""
    await _authorize(request)
    registry: CollectorRegistry = request.app.state.metrics.registry
    # The engine's collector reads the database and Redis synchronously: off the loop.
    body = await anyio.to_thread.run_sync(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
