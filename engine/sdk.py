"""`Engine`: the SDK facade for notebooks, scripts, the CLI and the API.

It wires the runtime (database, Redis, Ray) to the services of each bounded context and
holds no business rules of its own.

Examples:
    >>> from engine import Engine
    >>> with Engine() as engine:                                  # doctest: +SKIP
    ...     prompt = engine.prompts.create("greeter", "Say hello to {{name}}")
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from engine.runtime import Runtime
from engine.settings import Settings, load_settings

if TYPE_CHECKING:
    from engine.prompts import Prompts

DEFAULT_OWNER = "local"


class Engine:
    """One connection to AutoForge Nexus, with embedded services by default.

    Args:
        address: a Ray cluster address to join; `None` starts a local Ray (or uses
            `RAY_ADDRESS` from the environment).
        settings: explicit settings; read from the environment when omitted.
        owner: the user every call acts as (the API passes the authenticated user).
        **overrides: individual settings, e.g. `data_dir=...`.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        settings: Settings | None = None,
        owner: str = DEFAULT_OWNER,
        **overrides: Any,
    ) -> None:
        if settings is None:
            if address is not None:
                overrides["ray_address"] = address
            settings = load_settings(**overrides)
        self.settings = settings
        self.owner = owner
        self.runtime = Runtime(settings).start()

    @cached_property
    def prompts(self) -> Prompts:
        """Prompt versioning: create, commit, log, diff, revert, branch, merge, label."""
        from engine.prompts import Prompts

        return Prompts.for_engine(self)

    def close(self) -> None:
        """Stop what this engine started; safe to call twice."""
        self.runtime.stop()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
