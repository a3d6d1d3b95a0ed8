"""`/v1/streams/runs/{run_id}/events`: a run's progress events as SSE or over a WebSocket.

Events come from the Redis Stream ``af:run:{run_id}:events``. A client names the last event
id it saw (`Last-Event-ID` header, as EventSource sends on reconnect, or `?from=`); we replay
every later entry and then follow live entries, so a reconnecting client misses nothing.
Without an id the whole retained stream is replayed. Live entries come from one shared
reader per run (`api.stream_hub`), not one `XREAD BLOCK` per follower.

A stream lives no longer than the token that opened it: at its `exp` the SSE response ends
and the WebSocket closes with 4401, and the client reconnects with a fresh token and the
last id it saw.

Streams live under their own prefix because Serve routes by path prefix only: this router
runs in its own deployment, where a long-lived connection cannot starve the REST API.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Header, Path, Query, Request
from fastapi.responses import StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.acting import StreamReader
from api.auth import StreamUser, User
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.services import ServicesDep
from api.stream_hub import SlowFollower, StreamHub
from domain.errors import NotFoundError, ValidationError
from engine.evaluation.streams import decode

STREAMS_PREFIX = "/v1/streams"
RUN_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_STREAM_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")
_EVENT_NAME = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
SSE_HEARTBEAT = ": keep-alive\n\n"
TOKEN_EXPIRED_CLOSE = 4401
T = TypeVar("T")

router = api_router(
    prefix="/runs", tags=["streams"], responses={**AUTHENTICATED, **problem_responses(404)}
)

RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="The run to follow.")]


def events_key(run_id: str) -> str:
    """The Redis Stream holding a run's progress events."""
    return f"af:run:{run_id}:events"


async def start_after(  # async: no thread-pool hop (see api.services)
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", description="Last event id received.")
    ] = None,
    from_: Annotated[
        str | None, Query(alias="from", description="Same as `Last-Event-ID`, for URLs.")
    ] = None,
) -> str:
    """The stream id to replay after (`0-0`: from the start)."""
    value = (last_event_id or from_ or "0-0").strip()
    if not _STREAM_ID.match(value):
        raise ValidationError("an event id looks like 1764237600000-0", parameter="from")
    return value


async def owned_run(run_id: RunId, acting: StreamReader, services: ServicesDep) -> str:
    """The run id, if the run is in the caller's workspace (else 404, whether it exists or
    not)."""
    if not await services.run_owner(acting.workspace_id, run_id):
        raise NotFoundError("no such run", run_id=run_id)
    return run_id


OwnedRun = Annotated[str, Depends(owned_run)]
StartAfter = Annotated[str, Depends(start_after)]


def _payload(fields: dict[str, Any]) -> dict[str, Any]:
    # Engine events carry one JSON field `d` (see engine.evaluation.streams); others are flat.
    if "d" in fields:
        try:
            return decode(fields)
        except ValueError:
            return fields
    return fields


def event_name(fields: dict[str, Any]) -> str:
    """The entry's `type` field when it is a safe SSE event name, else `message`."""
    name = str(fields.get("type", ""))
    return name if _EVENT_NAME.match(name) else "message"


def sse_frame(entry_id: str, fields: dict[str, Any]) -> str:
    """One Server-Sent Event carrying the entry's fields as JSON."""
    data = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return f"id: {entry_id}\nevent: {event_name(fields)}\ndata: {data}\n\n"


def socket_message(entry_id: str, fields: dict[str, Any]) -> str:
    """One WebSocket message: ``{"id", "event", "data"}`` as JSON text."""
    message = {"id": entry_id, "event": event_name(fields), "data": fields}
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


_SSE_EXAMPLE = 'id: 1764237600000-0\nevent: cell.done\ndata: {"type":"cell.done","done":"3"}\n\n'


@router.get(
    "/{run_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events; a WebSocket upgrade on the same path gets "
            'JSON messages `{"id", "event", "data"}`.',
            "content": {"text/event-stream": {"example": _SSE_EXAMPLE}},
        }
    },
)
async def run_events(
    request: Request, run_id: OwnedRun, after: StartAfter, user: StreamUser
) -> StreamingResponse:
    """Follow a run's events (SSE; resume with `Last-Event-ID` or `?from=`)."""
    return follow_sse(request, events_key(run_id), after, user)


def follow_sse(request: Request, key: str, after: str, user: User) -> StreamingResponse:
    """The entries of Redis stream ``key`` after ``after``, then live ones, as SSE, until
    the caller's token expires."""

    async def frames() -> AsyncIterator[str]:
        hub = _hub(request.app)
        async for item in until_expiry(hub.follow(key, after), seconds_left(user)):
            yield SSE_HEARTBEAT if item is None else hub.frame("sse", key, item, sse_frame)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)


@router.websocket("/{run_id}/events")
async def run_events_socket(
    websocket: WebSocket, run_id: OwnedRun, after: StartAfter, user: StreamUser
) -> None:
    """Follow a run's events over a WebSocket (resume with `?from=`; 4401 once the token ends)."""
    await follow_socket(websocket, events_key(run_id), after, user)


async def follow_socket(websocket: WebSocket, key: str, after: str, user: User) -> None:
    """The entries of Redis stream ``key`` after ``after``, then live ones, as JSON messages
    `{"id", "event", "data"}`; closed with 4401 when the caller's token expires."""
    await websocket.accept()
    async with anyio.create_task_group() as group:
        group.start_soon(_cancel_when_client_leaves, websocket, group.cancel_scope)
        hub = _hub(websocket.app)
        try:
            async for item in until_expiry(hub.follow(key, after), seconds_left(user)):
                if item is not None:
                    await websocket.send_text(hub.frame("socket", key, item, socket_message))
            if seconds_left(user) <= 0:
                await websocket.close(TOKEN_EXPIRED_CLOSE, reason="the token has expired")
        except (WebSocketDisconnect, RuntimeError, OSError, SlowFollower):
            pass
        group.cancel_scope.cancel()


def seconds_left(user: User) -> float:
    """Seconds until the caller's token expires (`inf` without one, e.g. auth off)."""
    expires = user.claims.get("exp")
    if not isinstance(expires, int | float):
        return math.inf
    return float(expires) - time.time()


async def until_expiry(items: AsyncIterator[T], seconds: float) -> AsyncIterator[T]:
    """``items`` for at most ``seconds``, even while none arrives; then ``items`` is closed."""
    deadline = anyio.current_time() + max(0.0, seconds)
    finished = object()
    try:
        while True:
            item: Any = finished
            # The scope wraps one `anext`, never a `yield`: a cancel scope left open across
            # a yield of an async generator would cancel its consumer instead.
            with anyio.move_on_after(deadline - anyio.current_time()):
                item = await anext(items, finished)
            if item is finished:
                return
            yield item
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


def _hub(app: Any) -> StreamHub:
    hub: StreamHub | None = getattr(app.state, "stream_hub", None)
    if hub is None:
        block_ms = app.state.services.api.stream_block_ms
        hub = app.state.stream_hub = StreamHub(app.state.redis, block_ms, _payload)
    return hub


async def _cancel_when_client_leaves(websocket: WebSocket, scope: anyio.CancelScope) -> None:
    # Client messages are not used; reading them is how a disconnect is noticed while the
    # stream is quiet.
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        scope.cancel()
