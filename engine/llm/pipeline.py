"""The steps every call shares around its walk: cache, budget, usage records, cache write."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from engine.llm.attempts import Walk
from engine.llm.budget import BudgetStore
from engine.llm.cache import ResponseCache
from engine.llm.results import records
from engine.llm.types import CompletionResult, EmbeddingResult, ModerationResult, UsageRecord

R = TypeVar("R", CompletionResult, EmbeddingResult, ModerationResult)
Report = Callable[[str, UsageRecord], None]
"""Queues a usage record for an account's gateway."""


@dataclass(frozen=True)
class Steps(Generic[R]):
    """What differs between a chat, an embeddings and a moderation call."""

    call_id: str
    run_id: str | None
    user_id: str | None
    scopes: Sequence[str]
    use_cache: bool
    """False: neither read nor write the response cache (no key is even computed)."""
    key: Callable[[], str]
    estimate: Callable[[], float]
    walk: Callable[[], Awaitable[Walk]]
    hit: Callable[[Mapping[str, Any], float], R]
    refused: Callable[[float], R]
    build: Callable[[Walk, float], R]


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


async def execute(
    steps: Steps[R],
    started: float,
    cache: ResponseCache | None,
    budgets: BudgetStore | None,
    report: Report,
) -> R:
    """Cache lookup → budget reservation → walk → usage records → settlement → cache write.

    A call the budget refuses returns ``steps.refused`` without any provider call; one that
    only waits for calls in flight to settle waits (see `BudgetStore.admit`).
    """
    if not steps.use_cache:
        cache = None
    key = steps.key() if cache is not None else None
    if cache is not None and key is not None:
        cached = await cache.get(key)
        if cached is not None:
            return steps.hit(cached, _ms(started))
    scopes = await budgets.capped(steps.scopes) if budgets is not None and steps.scopes else []
    budget = budgets if scopes else None
    if budget is not None and not await budget.admit(scopes, steps.call_id, steps.estimate):
        return steps.refused(_ms(started))
    settled = False
    try:
        walk = await steps.walk()
        result = steps.build(walk, _ms(started))
        for account, record in records(walk, steps.call_id, steps.run_id, steps.user_id):
            report(account, record)
        if budget is not None:
            await budget.settle(scopes, steps.call_id, result.cost_usd)
            settled = True
    finally:
        if budget is not None and not settled:
            # Cancelled or crashed mid-call: the cost is unknown, charge the reservation.
            await asyncio.shield(budget.settle(scopes, steps.call_id, None))
    if cache is not None and key is not None and result.ok:
        cache.put_later(key, result.to_cache())
    return result
