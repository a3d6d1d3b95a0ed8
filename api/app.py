"""The FastAPI app factory.

`create_app(services)` is the REST API (with the streams too, for single-process hosting);
`create_stream_app(services)` is the streams alone, for their own Serve deployment. Both sit
on `base_app`: edge middleware (request id, security headers, last-resort 500), CORS from an
explicit allow-list, the body size limit, problem+json handlers and the OpenAPI rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware import Middleware

from api import (
    health,
    keys,
    routes_dataset_import,
    routes_datasets,
    routes_feedback,
    routes_flows,
    routes_metrics,
    routes_models,
    routes_optimizations,
    routes_playground,
    routes_prompt_refs,
    routes_prompts,
    routes_queues,
    routes_run_results,
    routes_runs,
    routes_scorers,
    routes_workspaces,
    stream_optimizations,
    stream_playground,
    stream_queues,
    streams,
    ui,
)
from api.acting import WORKSPACE_HEADER
from api.auth import build_authenticator
from api.config import ApiSettings
from api.metrics import RequestMetrics
from api.middleware import REQUEST_ID_HEADER, BodyLimitMiddleware, EdgeMiddleware
from api.openapi import install_openapi, problem_responses
from api.problems import install_problem_handlers
from api.ratelimit import UserRateLimiter
from api.services import ApiServices
from domain.errors import ValidationError
from engine import tracing
from engine.logs import get_logger
from engine.metrics import EngineCollector
from engine.redis_client import async_redis, sync_redis

log = get_logger(__name__)

STREAM_CONNECTIONS = 2_000
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
DESCRIPTION = """Prompt versioning and evaluation engine.

Every route under `/v1` takes `Authorization: Bearer <JWT>`, answers with `RateLimit-*`
headers, and reports errors as RFC 9457 `application/problem+json`. Lists are cursor
paginated: pass `next_cursor` back as `cursor`."""


RESOURCE_ROUTERS = (
    routes_prompts.router,
    routes_prompt_refs.router,
    routes_flows.router,
    routes_datasets.router,
    routes_dataset_import.router,
    routes_runs.router,
    routes_run_results.router,
    routes_feedback.router,
    routes_queues.router,
    routes_optimizations.router,
    routes_playground.router,
    routes_models.router,
    routes_scorers.router,
)
"""Routers of the `/v1` resources; they need the engine, so they are served where one is."""
STREAM_ROUTERS = (
    streams.router,
    stream_optimizations.router,
    stream_playground.router,
    stream_queues.router,
)
"""Routers of `/v1/streams`: they read Redis and ask an ownership hook, no engine."""


def _version() -> str:
    try:
        return version("autoforge-nexus")
    except PackageNotFoundError:
        return "0+unknown"


def base_app(
    api: ApiSettings,
    *,
    title: str,
    lifespan: Lifespan | None = None,
    description: str = "",
    behind_serve: bool = False,
) -> FastAPI:
    """An app with every cross-cutting rule of ours and no routes.

    Args:
        behind_serve: Serve's proxy echoes `X-Request-ID` itself; do not add a second one.
    """
    metrics = RequestMetrics()
    middleware = [Middleware(EdgeMiddleware, echo_request_id=not behind_serve, metrics=metrics)]
    if api.cors_allow_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=api.cors_allow_origins,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "Idempotency-Key",
                    "Last-Event-ID",
                    REQUEST_ID_HEADER,
                    WORKSPACE_HEADER,
                ],
                expose_headers=[
                    REQUEST_ID_HEADER,
                    "RateLimit-Limit",
                    "RateLimit-Remaining",
                    "RateLimit-Reset",
                    "Retry-After",
                    "Location",
                ],
                max_age=600,
            )  # fmt: skip
        )
    middleware.append(Middleware(BodyLimitMiddleware, max_bytes=api.max_body_bytes))
    app = FastAPI(
        title=title,
        version=_version(),
        description=description,
        middleware=middleware,
        lifespan=lifespan,
        docs_url="/docs" if api.docs_enabled else None,
        redoc_url=None,
        openapi_url="/openapi.json" if api.docs_enabled else None,
        responses=problem_responses(500),
    )
    app.state.metrics = metrics
    install_problem_handlers(app)
    install_openapi(app)
    return app


def _lifespan(services: ApiServices) -> Lifespan:
    # Async clients belong to the event loop that serves requests: create them in it.
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each event follower holds one connection in XREAD BLOCK: size the pool for every
        # stream the deployment accepts (redis-py's default of 100 refused the 101st).
        app.state.redis = async_redis(
            services.redis_url,
            decode_responses=True,
            max_connections=STREAM_CONNECTIONS,
            socket_timeout=None,
        )
        app.state.limiter = UserRateLimiter(
            services.redis_url,
            services.api.rate_limit_per_minute,
            auth_failures_per_minute=services.api.auth_failures_per_minute,
            anonymous_per_minute=services.api.anonymous_per_minute,
        )
        try:
            yield
        finally:
            await app.state.limiter.close()
            await app.state.redis.aclose()

    return lifespan


def _wire(app: FastAPI, services: ApiServices) -> None:
    settings = services.api
    app.state.services = services
    app.state.authenticator = build_authenticator(settings)
    app.state.personal_workspaces = set()  # users whose personal workspace exists (api.acting)
    if settings.auth_mode == "jwks" and not settings.auth_allowed_azp:
        log.warning("jwks auth without AUTOFORGE_AUTH_ALLOWED_AZP accepts any authorized party")
    app.include_router(health.router)


def _serve_metrics(app: FastAPI, services: ApiServices) -> None:
    api = services.api
    if api.metrics == "off":
        return
    if api.metrics == "token" and api.metrics_token is None and api.auth_mode != "none":
        log.warning("/metrics refuses every caller until AUTOFORGE_METRICS_TOKEN is set")
    redis = sync_redis(services.redis_url)
    services.on_close.append(redis.close)
    engine = services.engine

    def accounts() -> list[str]:
        return [account.name for account in engine.catalogue.accounts] if engine else []

    app.state.metrics.registry.register(EngineCollector(services.db, redis, accounts))
    app.include_router(routes_metrics.router)


def create_app(
    services: ApiServices, *, include_streams: bool = True, behind_serve: bool = False
) -> FastAPI:
    """The HTTP API on ``services``.

    The `/v1` resources (prompts, datasets, runs, models) are served when ``services``
    carries an engine; without one the app serves health, provider keys and streams.

    Args:
        services: settings, stores and hooks the routes use.
        include_streams: also serve `/v1/streams/...` from this app (single process);
            Serve hosts them in their own deployment instead.
        behind_serve: hosted by a Ray Serve replica (its proxy owns `X-Request-ID`).
    """
    tracing.configure("autoforge-api")
    app = base_app(
        services.api,
        title="AutoForge Nexus API",
        lifespan=_lifespan(services),
        description=DESCRIPTION,
        behind_serve=behind_serve,
    )
    _wire(app, services)
    _serve_metrics(app, services)
    app.include_router(keys.router)
    app.include_router(routes_workspaces.router)
    if services.engine is not None:
        for router in RESOURCE_ROUTERS:
            app.include_router(router)
        row_errors: Any = routes_dataset_import.row_errors_handler  # HTTP and WebSocket alike
        app.add_exception_handler(ValidationError, row_errors)
        ui.install(app)
    if include_streams:
        for router in STREAM_ROUTERS:
            app.include_router(router, prefix=streams.STREAMS_PREFIX)
    return app


def create_stream_app(services: ApiServices, *, behind_serve: bool = True) -> FastAPI:
    """The event streams (runs, optimizations) alone, mounted at `/v1/streams` (Serve's
    route prefix)."""
    app = base_app(
        services.api,
        title="AutoForge Nexus streams",
        lifespan=_lifespan(services),
        description="Long-lived event streams (SSE and WebSocket) of AutoForge Nexus.",
        behind_serve=behind_serve,
    )
    _wire(app, services)
    for router in STREAM_ROUTERS:
        app.include_router(router)
    return app
