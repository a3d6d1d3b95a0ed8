"""The event stream of one kind of resource (an optimization, a playground session, an
annotation queue), served exactly as a run's events are (`api.streams`): SSE or a WebSocket
on `/v1/streams/<prefix>/{id}/events`, replay after `Last-Event-ID` / `?from=`, then live
entries from one shared reader, until the token ends. Only ids in the caller's workspace
are followed; any other answers 404, whether it exists or not."""

# No `from __future__ import annotations`: the routes below are closures whose annotations
# name locals (`Owned`), which FastAPI cannot resolve from strings.
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import StreamingResponse
from starlette.websockets import WebSocket

from api.acting import StreamReader
from api.auth import StreamUser
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.services import ApiServices, RunOwnership, ServicesDep
from api.streams import StartAfter, follow_socket, follow_sse
from domain.errors import NotFoundError


def resource_stream(
    prefix: str,
    noun: str,
    *,
    id_name: str,
    pattern: str,
    key_of: Callable[[str], str],
    owner_hook: Callable[[ApiServices], RunOwnership],
    what: str,
    example: str,
) -> APIRouter:
    """A router following ``noun``'s events at `/{prefix}/{id}/events`.

    Args:
        prefix: The path below `/v1/streams`, e.g. ``/queues``.
        noun: What is followed, in messages (``annotation queue``).
        id_name: The path parameter's name (``queue_id``).
        pattern: The ids' pattern (anything else is a 422 before any lookup).
        key_of: The Redis stream of an id.
        owner_hook: The services' hook saying whether an id is in a workspace.
        what: What the events tell, for the route's summary (``answers and skips``).
        example: One SSE frame, for the OpenAPI document.
    """
    router = api_router(
        prefix=prefix, tags=["streams"], responses={**AUTHENTICATED, **problem_responses(404)}
    )
    Id = Annotated[str, Path(alias=id_name, pattern=pattern, description=f"The {noun} to follow.")]

    async def owned(resource_id: Id, acting: StreamReader, services: ServicesDep) -> str:
        if not await owner_hook(services)(acting.workspace_id, resource_id):
            raise NotFoundError(f"no such {noun}", id=resource_id)
        return resource_id

    Owned = Annotated[str, Depends(owned)]

    async def events(
        request: Request, resource_id: Owned, after: StartAfter, user: StreamUser
    ) -> StreamingResponse:
        return follow_sse(request, key_of(resource_id), after, user)

    async def events_socket(
        websocket: WebSocket, resource_id: Owned, after: StartAfter, user: StreamUser
    ) -> None:
        await follow_socket(websocket, key_of(resource_id), after, user)

    name = noun.replace(" ", "_")
    path = f"/{{{id_name}}}/events"
    router.add_api_route(
        path,
        events,
        methods=["GET"],
        response_class=StreamingResponse,
        name=f"{name}_events",
        summary=f"Follow a {noun}'s {what}",
        description=f"SSE; resume with `Last-Event-ID` or `?from=`. {_SOCKET}",
        responses={
            200: {
                "description": "Server-Sent Events; a WebSocket upgrade on the same path gets "
                'JSON messages `{"id", "event", "data"}`.',
                "content": {"text/event-stream": {"example": example}},
            }
        },
    )
    router.add_api_websocket_route(path, events_socket, name=f"{name}_events_socket")
    return router


_SOCKET = "A WebSocket on the same path gets the same entries (resume with `?from=`)."
