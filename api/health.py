"""Liveness and readiness probes: no auth, limited per client address."""

from __future__ import annotations

from typing import Literal

import anyio
from fastapi import Depends, Request
from pydantic import BaseModel, Field
from redis.asyncio import Redis
from sqlalchemy import text

from api.openapi import api_router, problem_responses
from api.ratelimit import enforce_anonymous_limit
from api.services import ApiServices, ServicesDep
from domain.errors import ServiceUnavailableError

router = api_router(
    tags=["health"],
    dependencies=[Depends(enforce_anonymous_limit)],
    responses=problem_responses(429),
)
CHECK_TIMEOUT_S = 2.0


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Every dependency answered."""

    status: Literal["ready"] = "ready"
    checks: dict[str, str] = Field(examples=[{"database": "ok", "redis": "ok"}])


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness: the API process is up."""
    return Health()


@router.get("/ready", response_model=Readiness, responses=problem_responses(503))
async def ready(request: Request, services: ServicesDep) -> Readiness:
    """Readiness: the database and Redis both answer."""
    checks = {"database": "ok", "redis": "ok"}
    try:
        with anyio.fail_after(CHECK_TIMEOUT_S):
            await anyio.to_thread.run_sync(_ping_database, services, abandon_on_cancel=True)
    except Exception:
        checks["database"] = "unreachable"
    redis: Redis = request.app.state.redis
    try:
        with anyio.fail_after(CHECK_TIMEOUT_S):
            await redis.ping()
    except Exception:
        checks["redis"] = "unreachable"
    if any(value != "ok" for value in checks.values()):
        raise ServiceUnavailableError("a dependency is not reachable", checks=checks)
    return Readiness(checks=checks)


def _ping_database(services: ApiServices) -> None:
    with services.db.connect() as connection:
        connection.execute(text("SELECT 1"))
