"""JSON rendering of reports and comparisons."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from domain.feedback import FeedbackReport
from domain.reports import Comparison, Report
from engine.reports._feedback import feedback_document


def to_json(
    item: Report | Comparison, *, indent: int | None = 2, feedback: FeedbackReport | None = None
) -> str:
    """Render a report or a comparison as JSON.

    The document is the dataclass as a dict plus ``"kind"`` (``"report"`` or
    ``"comparison"``); report groups also carry ``total_tokens``, and ``feedback`` (what
    people's overrides changed, judge alignment) is under ``"feedback"`` when given. Tuples
    become lists and any non-finite float becomes ``null``, so the output is strict JSON.

    Examples:
        >>> json.loads(to_json(summarize(results)))["kind"]  # doctest: +SKIP
        'report'
    """
    document: dict[str, Any] = {"kind": "report" if isinstance(item, Report) else "comparison"}
    document.update(dataclasses.asdict(item))
    if isinstance(item, Report):
        for group, summary in zip(document["groups"], item.groups, strict=True):
            group["total_tokens"] = summary.total_tokens
    if feedback is not None:
        document["feedback"] = feedback_document(feedback)
    return json.dumps(_finite(document), indent=indent, ensure_ascii=False, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
