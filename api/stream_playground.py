"""`/v1/streams/playground/{id}/events`: a playground session's turns as they happen, as SSE
or over a WebSocket, exactly as a run's events are served (`api.streams`): replay after
`Last-Event-ID` / `?from=`, then live entries from one shared reader, until the token ends.

Entries (`type`): `turn.started` {turn, models, prompt_version}; `delta` {turn, model, text}
— a piece of a model's answer; `restart` {turn, model} — a retry or a fallback starts that
answer afresh; `answer` {turn, model, content, error, latency_ms, …}; `turn.done` {turn}.
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
from api.streams import StartAfter, follow_socket, follow_sse
from domain.errors import NotFoundError

router = api_router(
    prefix="/playground",
    tags=["streams"],
    responses={**AUTHENTICATED, **problem_responses(404)},
)

SessionId = Annotated[
    str, Path(pattern=r"^pg_[0-9a-f]{1,64}$", description="The session to follow.")
]


def events_key(session_id: str) -> str:
    """The Redis Stream holding a session's events (the engine's key)."""
    from engine.playground import events_key as key

    return key(session_id)


async def owned_session(session_id: SessionId, acting: StreamReader, services: ServicesDep) -> str:
    """The id, if the session is in the caller's workspace (else 404, whether it exists or
    not)."""
    if not await services.playground_owner(acting.workspace_id, session_id):
        raise NotFoundError("no such playground session", session=session_id)
    return session_id


OwnedSession = Annotated[str, Depends(owned_session)]
_SSE_EXAMPLE = (
    'id: 1764237600000-0\nevent: delta\ndata: {"type":"delta","turn":1,'
    '"model":"openai/sim-small","text":"Tides "}\n\n'
)


@router.get(
    "/{session_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events; a WebSocket upgrade on the same path gets "
            'JSON messages `{"id", "event", "data"}`.',
            "content": {"text/event-stream": {"example": _SSE_EXAMPLE}},
        }
    },
)
async def playground_events(
    request: Request, session_id: OwnedSession, after: StartAfter, user: StreamUser
) -> StreamingResponse:
    """Follow a playground session's turns (SSE; resume with `Last-Event-ID` or `?from=`)."""
    return follow_sse(request, events_key(session_id), after, user)


@router.websocket("/{session_id}/events")
async def playground_events_socket(
    websocket: WebSocket, session_id: OwnedSession, after: StartAfter, user: StreamUser
) -> None:
    """Follow a playground session's turns over a WebSocket (resume with `?from=`)."""
    await follow_socket(websocket, events_key(session_id), after, user)
