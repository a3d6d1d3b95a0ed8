"""The one place flow errors are made: a `ValidationError` naming the step at fault.

Reasons (stable codes): ``invalid-flow``, ``invalid-step``, ``duplicate-step``,
``unknown-step``, ``unknown-variable``, ``flow-cycle``, ``unbounded-loop``,
``unbounded-map``, ``unbounded-conversation``, ``flow-type-error``, ``unknown-tool``,
``unknown-prompt``, ``not-a-flow``.
"""

from __future__ import annotations

from domain.errors import ValidationError

FLOW_REASONS = (
    "invalid-flow",
    "invalid-step",
    "duplicate-step",
    "unknown-step",
    "unknown-variable",
    "flow-cycle",
    "unbounded-loop",
    "unbounded-map",
    "unbounded-conversation",
    "flow-type-error",
    "unknown-tool",
    "unknown-prompt",
    "not-a-flow",
)


def flow_error(message: str, reason: str, step: str | None = None) -> ValidationError:
    """A `ValidationError` with ``reason`` and, when a step is at fault, ``step``."""
    assert reason in FLOW_REASONS, reason
    details = {} if step is None else {"step": step}
    return ValidationError(message, reason=reason, **details)
