"""Optimization events: the source of truth. An optimization's state is the fold of its
events (`domain.optimization.aggregate.Optimization.replay`).

Events are plain JSON-able values so the log can be stored, streamed and shown as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

EventType = Literal[
    "started",
    "generation-planned",
    "candidate-proposed",
    "candidate-skipped",
    "candidate-evaluated",
    "candidate-accepted",
    "candidate-rejected",
    "generation-finished",
    "promoted",
    "finished",
    "failed",
    "cancelled",
    "interrupted",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
"""Every event type, in the order they usually come.

``started``: config, split, branch, baseline version. ``generation-planned``: a
generation's slots (each one's parent and minibatch), drawn and sized to the calls left
when it began (a resumed generation works the same slots). ``candidate-proposed``: a candidate
was committed (content, parents, rationale, the reflection call's reply and cost).
``candidate-skipped``: a proposal step gave nothing new (its reflection calls still count).
``candidate-evaluated``: one evaluation run of a candidate on some cases (``phase`` train,
val or test; per-case scores, evidence, cells, cost). ``candidate-accepted`` /
``candidate-rejected``: the minibatch verdict. ``generation-finished``: a generation's
results are applied. ``promoted``: a promotion attempt (granted or refused).
``finished`` / ``failed`` / ``cancelled`` / ``interrupted``: how the loop stopped.
"""

Phase = Literal["train", "val", "test"]


@dataclass(frozen=True)
class Event:
    """One recorded fact of an optimization.

    Attributes:
        type: One of `EVENT_TYPES`.
        data: The event's JSON-able fields.
        seq: Its position in the optimization's log, from 0 (-1 until stored).
        at: When it was stored (ISO 8601, UTC; "" until stored).
    """

    type: str
    data: Mapping[str, Any] = field(default_factory=dict)
    seq: int = -1
    at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "at": self.at, **dict(self.data)}
