"""`/v1/streams/optimizations/{id}/events`: an optimization's live progress, as SSE or over a
WebSocket, exactly as a run's events are served (`api.streams`): replay after
`Last-Event-ID` / `?from=`, then live entries from one shared reader, until the token ends.

Each entry has a `type` (`progress`, `candidate`, `finished`, …) and JSON fields such as
`calls`, `max_metric_calls`, `best_score`, `front_size`, `cost_usd` and `status`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.responses import StreamingResponse
from starlette.websockets import WebSocket

from api.acting import StreamReader
from api.auth import StreamUser
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.services import ServicesDep
from api.streams import RUN_ID_PATTERN, StartAfter, follow_socket, follow_sse
from domain.errors import NotFoundError

router = api_router(
    prefix="/optimizations",
    tags=["streams"],
    responses={**AUTHENTICATED, **problem_responses(404)},
)

OptimizationId = Annotated[
    str, Path(pattern=RUN_ID_PATTERN, description="The optimization to follow.")
]


def events_key(optimization_id: str) -> str:
    """The Redis Stream holding an optimization's progress events (the engine's key)."""
    from engine.optimization import stream_key

    return stream_key(optimization_id)


async def owned_optimization(
    optimization_id: OptimizationId, acting: StreamReader, services: ServicesDep
) -> str:
    """The id, if the optimization is in the caller's workspace (else 404, whether it exists
    or not)."""
    if not await services.optimization_owner(acting.workspace_id, optimization_id):
        raise NotFoundError("no such optimization", optimization_id=optimization_id)
    return optimization_id


OwnedOptimization = Annotated[str, Depends(owned_optimization)]
_SSE_EXAMPLE = (
    'id: 1764237600000-0\nevent: progress\ndata: {"type":"progress","calls":120,'
    '"max_metric_calls":300,"best_score":0.8,"front_size":2,"cost_usd":0.004}\n\n'
)


@router.get(
    "/{optimization_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events; a WebSocket upgrade on the same path gets "
            'JSON messages `{"id", "event", "data"}`.',
            "content": {"text/event-stream": {"example": _SSE_EXAMPLE}},
        }
    },
)
async def optimization_events(
    request: Request, optimization_id: OwnedOptimization, after: StartAfter, user: StreamUser
) -> StreamingResponse:
    """Follow an optimization's events (SSE; resume with `Last-Event-ID` or `?from=`)."""
    return follow_sse(request, events_key(optimization_id), after, user)


@router.websocket("/{optimization_id}/events")
async def optimization_events_socket(
    websocket: WebSocket, optimization_id: OwnedOptimization, after: StartAfter, user: StreamUser
) -> None:
    """Follow an optimization's events over a WebSocket (resume with `?from=`)."""
    await follow_socket(websocket, events_key(optimization_id), after, user)
