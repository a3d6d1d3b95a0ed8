"""What a failed model call means, and how long to wait before trying again."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from domain.errors import BudgetExceededError, NexusError, ProviderError, ValidationError
from domain.llm.specs import RetryPolicy

KINDS = (
    "rate_limit",
    "timeout",
    "connection",
    "server",
    "auth",
    "bad_request",
    "not_found",
    "context_window",
    "content_policy",
    "budget",
    "unknown",
)
"""Failure kinds the adapter maps provider exceptions onto."""

# kind -> (retryable: the same call may succeed later, fallback: another model may succeed)
_RULES: dict[str, tuple[bool, bool]] = {
    "rate_limit": (True, True),
    "timeout": (True, True),
    "connection": (True, True),
    "server": (True, True),
    "unknown": (True, True),
    "auth": (False, True),
    "not_found": (False, True),
    "context_window": (False, True),
    "content_policy": (False, True),
    "bad_request": (False, False),
    "budget": (False, False),
}
# Kinds that say more than a status code can; the generic ones defer to the status.
_GENERIC = frozenset({"server", "bad_request", "unknown"})


@dataclass(frozen=True)
class Outcome:
    """The verdict on one failed call.

    Attributes:
        kind: One of `KINDS`.
        retryable: Trying the same call again may succeed.
        fallback: Trying another model (per the fallback policy) may succeed.
        status: The HTTP status, if there was one.
    """

    kind: str
    retryable: bool
    fallback: bool
    status: int | None = None

    def to_error(self, message: str, **details: Any) -> NexusError:
        """Our own, picklable error for this outcome (LiteLLM's must not cross actors)."""
        if self.kind == "budget":
            return BudgetExceededError(message, **details)
        return ProviderError(
            message, retryable=self.retryable, kind=self.kind, status=self.status, **details
        )


def _kind_of_status(status: int) -> str:
    if status == 429:
        return "rate_limit"
    if status in (408, 504):
        return "timeout"
    if status >= 500:
        return "server"
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status == 413:
        return "context_window"
    return "bad_request" if status >= 400 else "unknown"


def classify(status: int | None, kind: str) -> Outcome:
    """Classify a failure from its HTTP status and the adapter's kind.

    A specific kind (``context_window``, ``timeout``...) wins; a generic one (``server``,
    ``bad_request``, ``unknown``, or any unrecognised string) defers to the status code.

    Examples:
        >>> classify(429, "unknown").retryable
        True
        >>> classify(401, "auth").retryable
        False
    """
    if kind not in _RULES:
        kind = "unknown"
    if kind in _GENERIC and status is not None:
        kind = _kind_of_status(status)
    retryable, fallback = _RULES[kind]
    return Outcome(kind, retryable, fallback, status)


class Random(Protocol):
    """What `backoff_delay` needs of a random source (``random.Random`` fits)."""

    def random(self) -> float: ...


def backoff_delay(
    attempt: int, policy: RetryPolicy, rng: Random, retry_after_s: float | None = None
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    Exponential (``base_delay_s * 2**(attempt-1)``, capped at ``max_delay_s``), shortened by
    a random fraction up to ``policy.jitter`` so callers spread out, and never shorter than
    the provider's ``retry_after_s``.
    """
    if attempt < 1:
        raise ValidationError(f"attempt must be >= 1, got {attempt}", attempt=attempt)
    base, cap = policy.base_delay_s, policy.max_delay_s
    # Compare exponents first: 2.0 ** attempt overflows long before attempts run out.
    if base == 0:
        ceiling = 0.0
    elif attempt - 1 < math.log2(cap / base):
        ceiling = math.ldexp(base, attempt - 1)
    else:
        ceiling = cap
    delay = ceiling * (1.0 - policy.jitter * rng.random())
    return max(delay, retry_after_s or 0.0)


def should_retry(outcome: Outcome, attempt: int, policy: RetryPolicy) -> bool:
    """Whether failed attempt number ``attempt`` may be followed by another on the same model."""
    return outcome.retryable and attempt < policy.max_attempts
