"""`ControlServer`: the owner's side of the control channel, a thread per engine.

Each request is answered on a small thread pool, so a `submit` waiting for the actor pool
does not hold up a `cancel` or a `progress` behind it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis

from domain.errors import NexusError, ServiceUnavailableError, ValidationError
from engine.control.protocol import (
    MAX_REQUEST_BYTES,
    OPERATIONS,
    REPLY_TTL_S,
    ControlBackend,
    decode,
    encode,
    queue_key,
    reply_key,
    request_key,
)
from engine.logs import get_logger

log = get_logger(__name__)
POLL_S = 0.5
"""BLPOP's timeout: how long a stopping server may take to notice."""
WORKERS = 8


class ControlServer:
    """Serves a deployment's control requests with `backend` until `stop`.

    Args:
        redis_url: The deployment's Redis.
        tag: The deployment (`control_tag` of its database URL).
        backend: What answers the requests (the owner's scheduler and status).
    """

    def __init__(self, redis_url: str, tag: str, backend: ControlBackend) -> None:
        # No reconnecting retries: a stopping engine's Redis goes first, and the loop itself
        # waits and asks again when its Redis restarts.
        self._redis = redis.Redis.from_url(redis_url)
        self._queue = queue_key(tag)
        self._backend = backend
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="control")
        self._thread = threading.Thread(target=self._serve, name="control-server", daemon=True)

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop taking requests; the ones being answered finish on their threads."""
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                item = self._redis.blpop([self._queue], timeout=POLL_S)
                if item is None:
                    continue
                request_id = _text(item[1])
                payload: Any = self._redis.getdel(request_key(request_id))
            except redis.RedisError as exc:
                if self._stopping.is_set():
                    return
                log.warning("control channel: Redis failed", error=type(exc).__name__)
                self._stopping.wait(POLL_S)
                continue
            if payload is None:  # expired before we read it: its client gave up
                continue
            try:
                self._pool.submit(self._answer, request_id, payload)
            except RuntimeError:  # stopping
                return

    def _answer(self, request_id: str, payload: bytes) -> None:
        try:
            result: tuple[str, Any] = ("ok", self._call(payload))
        except NexusError as exc:
            result = ("error", exc)
        except Exception as exc:
            log.exception("control request failed", request_id=request_id)
            result = ("error", ServiceUnavailableError(f"the engine failed: {type(exc).__name__}"))
        try:
            key = reply_key(request_id)
            with self._redis.pipeline() as pipe:
                pipe.rpush(key, encode(result))
                pipe.expire(key, REPLY_TTL_S)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("control reply lost", request_id=request_id, error=type(exc).__name__)

    def _call(self, payload: bytes) -> Any:
        if len(payload) > MAX_REQUEST_BYTES:
            raise ValidationError("control request too large", reason="request-too-large")
        operation, args = decode(payload)
        if operation not in OPERATIONS:
            raise ValidationError(f"unknown control operation {operation!r}", reason="internal")
        return getattr(self._backend, operation)(*args)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
