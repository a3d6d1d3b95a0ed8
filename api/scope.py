"""Per-request facts kept in the ASGI scope, shared by middleware, dependencies and handlers.

The scope (not a contextvar) carries them because sync dependencies run in worker threads
whose context changes never reach the middleware that writes the response headers.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from starlette.types import Scope

REQUEST_ID = "autoforge.request_id"
RATE_LIMIT = "autoforge.rate_limit"


def request_state(scope: Scope) -> MutableMapping[str, Any]:
    """The request's mutable state dict (what `request.state` writes into)."""
    state: MutableMapping[str, Any] = scope.setdefault("state", {})
    return state


def request_id_of(scope: Scope) -> str | None:
    """The id the edge middleware gave this request."""
    value = request_state(scope).get(REQUEST_ID)
    return value if isinstance(value, str) else None


def route_path(scope: Scope) -> str:
    """The path below the app's mount point (Serve's route prefix is the root path)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
