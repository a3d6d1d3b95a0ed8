"""`/v1/streams/queues/{id}/events`: an annotation queue's live progress (see
`api.stream_follow`).

Each entry has a `type` (`answered` or `skipped`) and JSON fields `queue_id`, `position`,
`annotator`, `item_remaining` (answers the item still needs) and `answers` (given so far).
"""

from __future__ import annotations

from api.stream_follow import resource_stream
from api.streams import RUN_ID_PATTERN
from engine.evaluation.queues import stream_key

router = resource_stream(
    "/queues",
    "queue",
    id_name="queue_id",
    pattern=RUN_ID_PATTERN,
    key_of=stream_key,
    owner_hook=lambda services: services.queue_owner,
    what="answers and skips",
    example='id: 1764237600000-0\nevent: answered\ndata: {"type":"answered","queue_id":"q_1",'
    '"position":3,"annotator":"ann","item_remaining":1,"answers":12}\n\n',
)
