"""`ControlClient`: a joiner's handle on the owner's scheduler, through the control channel.

It answers what `actors.scheduler_client.SchedulerClient` answers, so `Evaluations` and
`Run` use either. A dead owner is noticed within a second of a call (its pid is gone, or
its Redis with it), never waited on.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, cast

import redis

from domain.errors import ServiceUnavailableError, ValidationError
from engine.control.protocol import (
    MAX_REQUEST_BYTES,
    REQUEST_TTL_S,
    decode,
    encode,
    queue_key,
    reply_key,
    request_key,
)
from engine.data_dir import process_alive
from engine.redis_client import sync_redis

SUBMIT_TIMEOUT_S = 300.0
"""A first submit waits for the owner's actor pool: ~10 s here, minutes on a loaded machine."""
CALL_TIMEOUT_S = 60.0
PROGRESS_TIMEOUT_S = 10.0
POLL_S = 1


class ControlClient:
    """Calls on the engine process `owner_pid` that serves deployment `tag`.

    Args:
        redis_url: The deployment's Redis.
        tag: The deployment (`control_tag` of its database URL).
        owner_pid: The serving process, watched while a call waits.
    """

    def __init__(self, redis_url: str, tag: str, owner_pid: int) -> None:
        self._redis = sync_redis(redis_url, decode_responses=False)
        self._queue = queue_key(tag)
        self.owner_pid = owner_pid

    def warm(self) -> None:
        """Nothing to do: the owner creates and keeps its own pool."""

    def submit(self, context: Any) -> None:
        """Hand a validated run to the owner's scheduler (the owner holds its gateways)."""
        by_value = bool(getattr(context, "custom_scorers", ()))
        self.call("submit", context, timeout=SUBMIT_TIMEOUT_S, by_value=by_value)

    def cancel(self, run_id: str) -> bool:
        """Stop dispatching ``run_id``; False when the owner's scheduler does not work it."""
        return bool(self.call("cancel", run_id))

    def recover(self, run_id: str) -> None:
        """Continue ``run_id`` on the owner, or have it marked `interrupted`."""
        self.call("recover", run_id)

    def progress(self, run_id: str) -> dict[str, Any] | None:
        """Live counters of ``run_id``; None when nobody works it or the owner cannot say."""
        try:
            progress: dict[str, Any] | None = self.call(
                "progress", run_id, timeout=PROGRESS_TIMEOUT_S
            )
        except ServiceUnavailableError:
            return None
        return progress

    def status(self) -> dict[str, Any]:
        """The owner's pid, data dir, uptime, active runs and whether its pool is ready."""
        status: dict[str, Any] = self.call("status", timeout=PROGRESS_TIMEOUT_S)
        return status

    def call(
        self,
        operation: str,
        *args: Any,
        timeout: float = CALL_TIMEOUT_S,
        by_value: bool = False,
    ) -> Any:
        """Send one request and wait for its reply, raising the owner's error as its own.

        Raises:
            ServiceUnavailableError: the owner died, lost its Redis, or did not answer in time.
            ValidationError: the request is larger than the channel takes.
        """
        payload = encode((operation, args), by_value=by_value)
        if len(payload) > MAX_REQUEST_BYTES:
            raise ValidationError(
                f"the request is {len(payload)} bytes, more than the engine takes "
                f"({MAX_REQUEST_BYTES})",
                reason="request-too-large",
            )
        request_id = secrets.token_hex(16)
        try:
            with self._redis.pipeline() as pipe:
                pipe.set(request_key(request_id), payload, ex=REQUEST_TTL_S)
                pipe.rpush(self._queue, request_id)
                pipe.execute()
            status, value = self._reply(request_id, timeout)
        except redis.RedisError as exc:
            raise ServiceUnavailableError(
                f"lost the running engine's Redis (pid {self.owner_pid}): {type(exc).__name__}",
                reason="engine-gone",
            ) from None
        if status == "error":
            raise value
        return value

    def _reply(self, request_id: str, timeout: float) -> tuple[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            item = self._redis.blpop([reply_key(request_id)], timeout=POLL_S)
            if item is not None:
                reply: tuple[str, Any] = decode(cast(bytes, item[1]))  # a bytes client
                return reply
            gone = not process_alive(self.owner_pid)
            if gone or time.monotonic() > deadline:
                self._redis.delete(request_key(request_id))  # nobody will read its keys
                why = "exited" if gone else f"did not answer within {timeout:.0f} s"
                raise ServiceUnavailableError(
                    f"the engine process {self.owner_pid} serving this data dir {why}",
                    reason="engine-gone" if gone else "timeout",
                )
