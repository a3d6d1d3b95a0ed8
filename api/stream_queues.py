"""`/v1/streams/queues/{id}/events`: an annotation queue's live progress, as SSE or over a
WebSocket, exactly as a run's events are served (`api.streams`): replay after
`Last-Event-ID` / `?from=`, then live entries from one shared reader, until the token ends.

Each entry has a `type` (`answered` or `skipped`) and JSON fields `queue_id`, `position`,
`annotator`, `item_remaining` (answers the item still needs) and `answers` (given so far).
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
from engine.evaluation.queues import stream_key

router = api_router(
    prefix="/queues", tags=["streams"], responses={**AUTHENTICATED, **problem_responses(404)}
)

QueueId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="The queue to follow.")]


async def owned_queue(queue_id: QueueId, acting: StreamReader, services: ServicesDep) -> str:
    """The id, if the queue is in the caller's workspace (else 404, whether it exists or not)."""
    if not await services.queue_owner(acting.workspace_id, queue_id):
        raise NotFoundError("no such queue", queue_id=queue_id)
    return queue_id


OwnedQueue = Annotated[str, Depends(owned_queue)]
_SSE_EXAMPLE = (
    'id: 1764237600000-0\nevent: answered\ndata: {"type":"answered","queue_id":"q_1",'
    '"position":3,"annotator":"ann","item_remaining":1,"answers":12}\n\n'
)


@router.get(
    "/{queue_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events; a WebSocket upgrade on the same path gets "
            'JSON messages `{"id", "event", "data"}`.',
            "content": {"text/event-stream": {"example": _SSE_EXAMPLE}},
        }
    },
)
async def queue_events(
    request: Request, queue_id: OwnedQueue, after: StartAfter, user: StreamUser
) -> StreamingResponse:
    """Follow a queue's answers and skips (SSE; resume with `Last-Event-ID` or `?from=`)."""
    return follow_sse(request, stream_key(queue_id), after, user)


@router.websocket("/{queue_id}/events")
async def queue_events_socket(
    websocket: WebSocket, queue_id: OwnedQueue, after: StartAfter, user: StreamUser
) -> None:
    """Follow a queue's answers and skips over a WebSocket (resume with `?from=`)."""
    await follow_socket(websocket, stream_key(queue_id), after, user)
