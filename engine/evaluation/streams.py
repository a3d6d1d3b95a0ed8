"""Redis Stream names and payload encoding for runs, and how long a stopped run keeps them."""

from __future__ import annotations

import json
from typing import Any

GROUP = "recorder"
WATCHED_RUNS = "af:recorder:runs"
FINISHED_RUN_TTL_S = 24 * 3600
"""Life of a stopped run's streams after its last flush: long enough for a late follower to
see how it ended and for an operator to read its dead letters; its results are in the DB."""


def results_stream(run_id: str) -> str:
    return f"af:run:{run_id}:results"


def events_stream(run_id: str) -> str:
    return f"af:run:{run_id}:events"


def dead_letter_stream(run_id: str) -> str:
    return f"af:run:{run_id}:dead"


def run_streams(run_id: str) -> tuple[str, str, str]:
    """Every stream of one run: results, events, dead letters."""
    return results_stream(run_id), events_stream(run_id), dead_letter_stream(run_id)


def run_of(stream: str) -> str:
    return stream.split(":")[2]


def encode(payload: dict[str, Any]) -> dict[str, str]:
    return {"d": json.dumps(payload, separators=(",", ":"), default=str)}


def decode(fields: dict[Any, Any]) -> dict[str, Any]:
    raw = fields.get("d", fields.get(b"d"))
    if isinstance(raw, bytes):
        raw = raw.decode()
    if not isinstance(raw, str):
        raise ValueError("stream entry has no payload")
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("stream payload is not an object")
    return value
