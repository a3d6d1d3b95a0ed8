"""The two ends of the control channel as an `Engine` wires them.

The owner of a data dir answers joiners with its own scheduler client and holds the
gateways of the runs they submit (a gateway a joiner created would die with the joiner).
A joiner reaches the owner's scheduler through a `ControlClient` and writes prompts
straight to the store, so it never starts Ray, actors or LiteLLM.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.control import ControlServer, control_tag

if TYPE_CHECKING:
    from engine.runtime import Runtime
    from engine.sdk.evaluations import Evaluations


class OwnerBackend:
    """What the owner does for a joiner's request (see `engine.control.ControlBackend`)."""

    def __init__(self, evaluations: Callable[[], Evaluations], data_dir: Path) -> None:
        self._evaluations = evaluations
        self._data_dir = data_dir
        self.started = time.time()
        self.daemon = False
        self.pool_ready = False

    def submit(self, context: Any) -> None:
        evaluations = self._evaluations()
        evaluations.own_gateways(context)
        evaluations.scheduler().submit(context)

    def cancel(self, run_id: str) -> bool:
        return self._evaluations().scheduler().cancel(run_id)

    def recover(self, run_id: str) -> None:
        self._evaluations().scheduler().recover(run_id)

    def progress(self, run_id: str) -> dict[str, Any] | None:
        return self._evaluations().scheduler().progress(run_id)

    def status(self) -> dict[str, Any]:
        scheduler = self._evaluations().scheduler()
        return {
            "pid": os.getpid(),
            "data_dir": str(self._data_dir),
            "started_at": self.started,
            "uptime_s": round(time.time() - self.started, 1),
            "daemon": self.daemon,
            "pool_ready": self.pool_ready,
            "active_runs": scheduler.active_runs() if scheduler.started else [],
        }


def serve_joiners(
    rt: Runtime, evaluations: Callable[[], Evaluations]
) -> tuple[ControlServer, OwnerBackend]:
    """Start answering the control channel of the deployment `rt` owns."""
    assert rt.redis_url is not None, "the runtime is started"
    backend = OwnerBackend(evaluations, rt.settings.data_dir)
    tag = control_tag(rt.settings.effective_database_url)
    return ControlServer(rt.redis_url, tag, backend).start(), backend
