"""AutoForge Nexus' engine: the SDK facade (`engine.sdk`), the CLI (`engine.cli`) and,
below the actors, the runtime, settings, stores, streams, LLM client and simulator.

Imports stay light here: Ray and LiteLLM load only when a command needs them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Engine", "Runtime", "Settings", "load_settings"]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from engine.sdk import Engine

        return Engine
    if name == "Runtime":
        from engine.runtime import Runtime

        return Runtime
    if name in ("Settings", "load_settings"):
        from engine import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
