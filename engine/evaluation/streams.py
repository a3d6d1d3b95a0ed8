"""Redis Stream names and payload encoding for runs."""

from __future__ import annotations

import json
from typing import Any

GROUP = "recorder"
WATCHED_RUNS = "af:recorder:runs"


def results_stream(run_id: str) -> str:
    return f"af:run:{run_id}:results"


def events_stream(run_id: str) -> str:
    return f"af:run:{run_id}:events"


def dead_letter_stream(run_id: str) -> str:
    return f"af:run:{run_id}:dead"


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
