"""`/v1/streams/optimizations/{id}/events`: an optimization's live progress (see
`api.stream_follow`).

Each entry has a `type` (`progress`, `candidate`, `finished`, …) and JSON fields such as
`calls`, `max_metric_calls`, `best_score`, `front_size`, `cost_usd` and `status`.
"""

from __future__ import annotations

from api.stream_follow import resource_stream
from api.streams import RUN_ID_PATTERN


def events_key(optimization_id: str) -> str:
    """The Redis Stream holding an optimization's progress events (the engine's key)."""
    from engine.optimization import stream_key

    return stream_key(optimization_id)


router = resource_stream(
    "/optimizations",
    "optimization",
    id_name="optimization_id",
    pattern=RUN_ID_PATTERN,
    key_of=events_key,
    owner_hook=lambda services: services.optimization_owner,
    what="events",
    example='id: 1764237600000-0\nevent: progress\ndata: {"type":"progress","calls":120,'
    '"max_metric_calls":300,"best_score":0.8,"front_size":2,"cost_usd":0.004}\n\n',
)
