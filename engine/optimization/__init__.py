"""Prompt optimization, the adapter: the store of optimizations and their event logs, the
loop that works them in the background of the engine's process (evaluations are engine
runs, reflection calls go through the gateways), and the live Redis stream."""

from __future__ import annotations


def stream_key(optimization_id: str) -> str:
    """The Redis stream of an optimization's live progress events.

    Examples:
        >>> stream_key("opt-1")
        'af:optimization:opt-1:events'
    """
    return f"af:optimization:{optimization_id}:events"


def alive_key(optimization_id: str) -> str:
    """The Redis key a working loop keeps fresh (its absence: nobody works it)."""
    return f"af:optimization:{optimization_id}:alive"


BEST_LABEL_SUFFIX = "best"


def best_label(optimization_id: str) -> str:
    """The label the loop moves to the best candidate: ``opt/<id>/best``."""
    return f"opt/{optimization_id}/{BEST_LABEL_SUFFIX}"


def branch_name(optimization_id: str) -> str:
    """The branch candidates are committed on: ``opt/<id>``."""
    return f"opt/{optimization_id}"
