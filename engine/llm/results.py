"""Building results and usage records from a finished walk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from domain.llm import Usage
from engine.llm.attempts import Walk
from engine.llm.plan import Plan
from engine.llm.types import (
    CallError,
    CompletionResult,
    EmbeddingResult,
    ModerationResult,
    UsageRecord,
)

R = TypeVar("R", CompletionResult, EmbeddingResult, ModerationResult)
BUDGET_MESSAGE = "budget exceeded: the call's forecast cost does not fit under a cap"


def _error(walk: Walk) -> CallError | None:
    if walk.answer is not None or walk.failure is None:
        return None
    outcome = walk.failure.outcome
    return CallError(
        outcome.kind, walk.failure.message, outcome.status, outcome.retryable, walk.attempts
    )


def _usage(walk: Walk) -> Usage:
    total = Usage()
    for leg in walk.legs:
        total += leg.usage
    return total


def completion_result(
    walk: Walk, call_id: str, model: str, plan: Plan, elapsed_ms: float
) -> CompletionResult:
    """The result of a chat call's walk that took ``elapsed_ms`` in all."""
    answer = walk.answer
    used = walk.model_used
    return CompletionResult(
        call_id=call_id,
        model=model,
        model_used=used,
        content=answer.content if answer else None,
        finish_reason=answer.finish_reason if answer else None,
        usage=_usage(walk),
        cost_usd=walk.cost_usd,
        latency_ms=walk.latency_ms,
        queue_ms=_queued(walk, elapsed_ms),
        attempts=walk.attempts,
        rate_limited=walk.rate_limited,
        fallback_model=used if used is not None and used != plan.primary.name else None,
        error=_error(walk),
        logprobs=answer.logprobs if answer else None,
        tool_calls=answer.tool_calls if answer else (),
    )


def embedding_result(walk: Walk, call_id: str, model: str, elapsed_ms: float) -> EmbeddingResult:
    """The result of an embeddings call's walk that took ``elapsed_ms`` in all."""
    vectors = walk.answer.vectors if walk.answer else []
    return EmbeddingResult(call_id, model, vectors=vectors, **_bookkeeping(walk, elapsed_ms))


def moderation_result(walk: Walk, call_id: str, model: str, elapsed_ms: float) -> ModerationResult:
    """The result of a moderation call's walk that took ``elapsed_ms`` in all."""
    answer = walk.answer
    return ModerationResult(
        call_id,
        model,
        flagged=answer.flagged if answer else False,
        categories=dict(answer.categories) if answer else {},
        category_scores=dict(answer.category_scores) if answer else {},
        **_bookkeeping(walk, elapsed_ms),
    )


def _bookkeeping(walk: Walk, elapsed_ms: float) -> dict[str, Any]:
    """What a single-model call's result says of its walk besides the answer."""
    return {
        "usage": _usage(walk),
        "cost_usd": walk.cost_usd,
        "latency_ms": walk.latency_ms,
        "queue_ms": _queued(walk, elapsed_ms),
        "attempts": walk.attempts,
        "rate_limited": walk.rate_limited,
        "model_used": walk.model_used,
        "error": _error(walk),
    }


def budget_refused(cls: type[R], call_id: str, model: str, elapsed_ms: float) -> R:
    """The result of a call a budget refused after ``elapsed_ms``: no provider call was made."""
    error = CallError("budget", BUDGET_MESSAGE, None, False, 0)
    return cls(call_id=call_id, model=model, queue_ms=elapsed_ms, error=error)


def _queued(walk: Walk, elapsed_ms: float) -> float:
    return max(0.0, elapsed_ms - walk.latency_ms)


def records(
    walk: Walk, call_id: str, run_id: str | None, user_id: str | None = None
) -> Iterator[tuple[str, UsageRecord]]:
    """(account, record) per model the call reached; record ids are ``<call_id>/<model>``."""
    for leg in walk.legs:
        yield (
            leg.account,
            UsageRecord(
                id=f"{call_id}/{leg.model}",
                call_id=call_id,
                model=leg.model,
                run_id=run_id,
                requests=leg.requests,
                errors=leg.errors,
                rate_limited=leg.rate_limited,
                ok=leg.ok,
                prompt_tokens=leg.usage.prompt_tokens,
                completion_tokens=leg.usage.completion_tokens,
                cost_usd=leg.cost_usd,
                user_id=user_id,
            ),
        )
