"""Which executor hosts an engine's actors: Ray workers, or one loop of its own process.

A local Ray costs ~4.3 s to start and ~1.2 s to stop on two cores, and each actor is a
fresh process importing our code: more than a whole cold 1,000-cell run. So `auto` (the
default) uses Ray only when there is a cluster to use; otherwise the actors run inline
(`actors.inline_scheduler`). Ray pays on many cores and for long runs: set
``AUTOFORGE_EXECUTOR=ray`` (or keep an engine running) for those.
"""

from __future__ import annotations

import sys
from typing import Literal

from engine.data_dir import PublishedServices
from engine.logs import get_logger
from engine.settings import Settings

log = get_logger(__name__)
Executor = Literal["inline", "ray"]


def choose_executor(settings: Settings, owner: PublishedServices | None) -> Executor:
    """``ray`` or ``inline`` for an engine with ``settings`` on a data dir whose live owner
    (another process) published ``owner`` (None: this process owns it).

    A guest follows the owner: Ray when it publishes a Ray address, else inline (it works
    no runs itself, see `engine.sdk.hosting`). An owner takes ``settings.executor``; `auto`
    picks Ray when a Ray address is given (``Engine(address=…)``, ``ray_address``,
    ``RAY_ADDRESS``) or Ray is already initialised in this process (a test cluster, a Serve
    replica), else inline.
    """
    chosen, reason = _choice(settings, owner)
    log.debug("executor chosen", executor=chosen, reason=reason)
    return chosen


def _choice(settings: Settings, owner: PublishedServices | None) -> tuple[Executor, str]:
    if owner is not None:  # a guest works where the owner does, never beside it
        if owner.ray_address:
            return "ray", f"the data dir's owner (pid {owner.pid}) runs Ray"
        return "inline", f"the data dir's owner (pid {owner.pid}) works its runs inline"
    if settings.executor != "auto":
        return settings.executor, f"AUTOFORGE_EXECUTOR={settings.executor}"
    if settings.ray_address:
        return "ray", "a Ray address is given"
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        return "ray", "Ray is initialised in this process"
    return "inline", "no Ray cluster to use"
