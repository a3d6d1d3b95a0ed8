"""Keys and payloads of the control channel, shared by its server and its clients.

A request is a pickle under its own key with a short TTL, its id pushed on the deployment's
queue; the server reads and deletes it at once (GETDEL). A run's context carries the owner's
provider keys: they are in Redis only between the hand-over and that read, or until the TTL
drops a request nobody read. Pickles are trusted as Ray trusts its cluster: whoever can
write to the deployment's Redis (a 0700 unix socket when embedded) is the deployment's user.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any, Protocol

QUEUE_PREFIX = "af:control"
REQUEST_TTL_S = 30
"""How long an unread request (with any provider key it carries) may stay in Redis."""
REPLY_TTL_S = 60
MAX_REQUEST_BYTES = 64 * 1024 * 1024
"""A run's context holds its cases: 64 MiB is far beyond 100,000 ordinary cases."""


def control_tag(database_url: str) -> str:
    """The deployment a channel serves, named by the database it writes (no secret in it)."""
    return hashlib.blake2b(database_url.encode(), digest_size=8).hexdigest()


def queue_key(tag: str) -> str:
    return f"{QUEUE_PREFIX}:{tag}:queue"


def request_key(request_id: str) -> str:
    return f"{QUEUE_PREFIX}:request:{request_id}"


def reply_key(request_id: str) -> str:
    return f"{QUEUE_PREFIX}:reply:{request_id}"


def encode(value: Any, *, by_value: bool = False) -> bytes:
    """A pickle of `value`; ``by_value`` (a run with custom Python scorers) pickles
    functions by value with cloudpickle, as Ray sends them: a scorer defined in a script's
    ``__main__`` does not exist in the owner. Only such a run pays cloudpickle's import."""
    if by_value:
        import ray.cloudpickle as cloudpickle

        data: bytes = cloudpickle.dumps(value)  # type: ignore[no-untyped-call]
        return data
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def decode(data: bytes) -> Any:
    return pickle.loads(data)  # noqa: S301 - see the module docstring


class ControlBackend(Protocol):
    """What the owner does for a joiner: the run scheduler's calls, and its own status."""

    def submit(self, context: Any) -> None: ...

    def cancel(self, run_id: str) -> bool: ...

    def recover(self, run_id: str) -> None: ...

    def progress(self, run_id: str) -> dict[str, Any] | None: ...

    def status(self) -> dict[str, Any]: ...


OPERATIONS = frozenset({"submit", "cancel", "recover", "progress", "status"})
