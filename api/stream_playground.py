"""`/v1/streams/playground/{id}/events`: a playground session's turns as they happen (see
`api.stream_follow`).

Entries (`type`): `turn.started` {turn, models, prompt_version}; `delta` {turn, model, text}
— a piece of a model's answer; `restart` {turn, model} — a retry or a fallback starts that
answer afresh; `answer` {turn, model, content, error, latency_ms, …}; `turn.done` {turn}.
"""

from __future__ import annotations

from api.stream_follow import resource_stream
from engine.playground import events_key

router = resource_stream(
    "/playground",
    "playground session",
    id_name="session_id",
    pattern=r"^pg_[0-9a-f]{1,64}$",
    key_of=events_key,
    owner_hook=lambda services: services.playground_owner,
    what="turns, answer by answer, piece by piece",
    example='id: 1764237600000-0\nevent: delta\ndata: {"type":"delta","turn":1,'
    '"model":"openai/sim-small","text":"Tides "}\n\n',
)
