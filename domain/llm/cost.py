"""Tokens, what they cost, and a budget that stops a run at its cap instead of past it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import ConflictError, ValidationError
from domain.llm.specs import ModelSpec

_USD_SLACK = 1e-9  # float sums of prices must not refuse a call that fits exactly
_MESSAGE_OVERHEAD = 4  # role and separators, per message (OpenAI's chat format)
_REPLY_PRIMING = 3


@dataclass(frozen=True)
class Usage:
    """Tokens one call used."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __post_init__(self) -> None:
        if self.prompt_tokens < 0 or self.completion_tokens < 0:
            raise ValidationError(f"token counts must be >= 0, got {self}")

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


def cost_of(usage: Usage, spec: ModelSpec) -> float | None:
    """USD for ``usage`` at the prices in ``spec``; ``None`` if it has none (ask LiteLLM)."""
    if spec.input_cost_per_token is None or spec.output_cost_per_token is None:
        return None
    return (
        usage.prompt_tokens * spec.input_cost_per_token
        + usage.completion_tokens * spec.output_cost_per_token
    )


def estimate_tokens(text: str) -> int:
    """Rough token count of ``text``: one per four characters, rounded up."""
    return math.ceil(len(text) / 4)


def estimate_messages_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """Rough prompt tokens of chat ``messages`` (text parts of multi-part content included)."""
    total = _REPLY_PRIMING
    for message in messages:
        content = message.get("content") or ""
        if not isinstance(content, str):
            content = " ".join(
                str(part.get("text", "")) for part in content if isinstance(part, Mapping)
            )
        total += _MESSAGE_OVERHEAD + estimate_tokens(content)
    return total


@dataclass(frozen=True)
class Budget:
    """A spending cap in USD."""

    limit_usd: float

    def __post_init__(self) -> None:
        if not self.limit_usd >= 0:
            raise ValidationError(f"limit_usd must be >= 0, got {self.limit_usd}")

    def forecast(self, spent: float, reserved: float, estimated_next: float) -> bool:
        """Whether a call estimated at ``estimated_next`` still fits under the cap."""
        return spent + reserved + estimated_next <= self.limit_usd + _USD_SLACK


class BudgetLedger:
    """Reserves an estimate before each call and settles the real cost after it.

    Reservations count against the cap at once, so concurrent callers cannot all pass the
    check and overshoot together. Every operation is idempotent per ``call_id``.

    Examples:
        >>> ledger = BudgetLedger(Budget(1.0))
        >>> ledger.reserve("c1", 0.6), ledger.reserve("c2", 0.6)
        (True, False)
        >>> ledger.settle("c1", 0.5), ledger.settle("c1", 0.5), ledger.spent
        (True, False, 0.5)
    """

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self._reserved: dict[str, float] = {}
        self._settled: dict[str, float] = {}
        self._spent = 0.0

    @property
    def spent(self) -> float:
        """USD settled so far."""
        return self._spent

    @property
    def reserved(self) -> float:
        """USD held by calls not yet settled."""
        return sum(self._reserved.values())

    @property
    def remaining(self) -> float:
        """USD still free to reserve."""
        return max(0.0, self.budget.limit_usd - self._spent - self.reserved)

    def reserve(self, call_id: str, estimate_usd: float) -> bool:
        """Hold ``estimate_usd`` for ``call_id`` if it fits; False means do not make the call.

        Reserving an id already held returns True without holding more.

        Raises:
            ConflictError: ``call_id`` was already settled.
        """
        if not estimate_usd >= 0:
            raise ValidationError(f"estimate must be >= 0, got {estimate_usd}", call_id=call_id)
        if call_id in self._settled:
            raise ConflictError(f"call {call_id!r} is already settled", call_id=call_id)
        if call_id in self._reserved:
            return True
        if not self.budget.forecast(self._spent, self.reserved, estimate_usd):
            return False
        self._reserved[call_id] = estimate_usd
        return True

    def settle(self, call_id: str, actual_usd: float | None) -> bool:
        """Record the real cost of ``call_id`` and free its reservation.

        Args:
            call_id: The call, reserved or not (an unreserved call that happened still costs).
            actual_usd: Real cost; ``None`` when unknown, which charges the reserved estimate.

        Returns:
            False if ``call_id`` was already settled (nothing is counted twice).
        """
        if call_id in self._settled:
            return False
        cost = self._reserved.get(call_id, 0.0) if actual_usd is None else actual_usd
        if not cost >= 0:
            raise ValidationError(f"cost must be >= 0, got {cost}", call_id=call_id)
        self._reserved.pop(call_id, None)
        self._settled[call_id] = cost
        self._spent += cost
        return True

    def cancel(self, call_id: str) -> bool:
        """Free the reservation of a call that was never made; False if none was held."""
        return self._reserved.pop(call_id, None) is not None
