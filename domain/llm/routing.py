"""Which model to call: pure selection strategies and fallback-chain walking."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

from domain.errors import NotFoundError, ValidationError
from domain.llm.cost import Usage, cost_of
from domain.llm.retry import Outcome
from domain.llm.specs import FallbackPolicy, ModelSpec

Price = Callable[[ModelSpec], float | None]
"""USD of a reference call on a model, or ``None`` when unknown."""

_ONE_TOKEN_EACH = Usage(1, 1)


def _names(candidates: Sequence[ModelSpec]) -> str:
    return ", ".join(c.name for c in candidates) or "none"


def fixed(candidates: Sequence[ModelSpec], model: str) -> ModelSpec:
    """The candidate called ``model``; `NotFoundError` if it is not among them."""
    for spec in candidates:
        if spec.name == model:
            return spec
    raise NotFoundError(f"unknown model {model!r} (known: {_names(candidates)})", name=model)


def qualifies(
    spec: ModelSpec, *, min_skill: float = 0.0, tags: Iterable[str] = (), min_context: int = 0
) -> bool:
    """Whether ``spec`` meets every requirement; an unknown skill or window fails a nonzero one."""
    if min_skill > 0 and (spec.skill is None or spec.skill < min_skill):
        return False
    if min_context > 0 and (spec.context_window is None or spec.context_window < min_context):
        return False
    return set(tags) <= spec.tags


def cheapest_that_qualifies(
    candidates: Sequence[ModelSpec],
    *,
    min_skill: float = 0.0,
    tags: Iterable[str] = (),
    min_context: int = 0,
    usage: Usage = _ONE_TOKEN_EACH,
    price: Price | None = None,
) -> ModelSpec:
    """The cheapest candidate meeting the requirements; earlier candidates win ties.

    Args:
        candidates: Models to choose from, in order of preference.
        min_skill: Least `ModelSpec.skill` accepted.
        tags: Tags the model must carry.
        min_context: Least context window (tokens) accepted, e.g. the estimated prompt.
        usage: Reference call the price is computed for (default: one token each way).
        price: Price source for models without prices in the catalogue (e.g. LiteLLM's
            map); defaults to the catalogue prices. Models of unknown price rank last.

    Raises:
        NotFoundError: No candidate qualifies.
    """
    wanted = frozenset(tags)
    ok = [
        c
        for c in candidates
        if qualifies(c, min_skill=min_skill, tags=wanted, min_context=min_context)
    ]
    if not ok:
        raise NotFoundError(
            f"no model qualifies (min_skill={min_skill}, tags={sorted(wanted)}, "
            f"min_context={min_context}) among: {_names(candidates)}"
        )

    def rank(spec: ModelSpec) -> float:
        cost = price(spec) if price is not None else cost_of(usage, spec)
        return math.inf if cost is None else cost

    return min(ok, key=rank)


def lowest_latency(
    candidates: Sequence[ModelSpec],
    observed_latency_ms: Mapping[str, float],
    *,
    unknown_ms: float = math.inf,
) -> ModelSpec:
    """The candidate with the lowest observed latency; earlier candidates win ties.

    Args:
        candidates: Models to choose from, in order of preference.
        observed_latency_ms: Recent latency per model name (e.g. a moving p50).
        unknown_ms: Latency assumed for unobserved models; 0 explores them first.
    """
    if not candidates:
        raise NotFoundError("no candidate models")
    return min(candidates, key=lambda c: observed_latency_ms.get(c.name, unknown_ms))


def next_model(
    policy: FallbackPolicy, failed_model: str, attempts: int, outcome: Outcome | None = None
) -> str | None:
    """The model to try after ``attempts`` consecutive failures of ``failed_model``.

    The same model while attempts remain (``attempts < policy.after_attempts``), then the
    next model of the chain, ``None`` when the chain is exhausted. An ``outcome`` that is not
    retryable moves on at once; one that no other model can fix either ends the walk. The
    caller's `RetryPolicy` still bounds the attempts on each model.

    Examples:
        >>> p = FallbackPolicy(("openai/a", "anthropic/b"), after_attempts=2)
        >>> next_model(p, "openai/a", 1), next_model(p, "openai/a", 2)
        ('openai/a', 'anthropic/b')
        >>> next_model(p, "anthropic/b", 2) is None
        True
    """
    if failed_model not in policy.chain:
        raise ValidationError(
            f"model {failed_model!r} is not in the fallback chain {list(policy.chain)}",
            model=failed_model,
        )
    if outcome is not None and not outcome.fallback:
        return failed_model if outcome.retryable else None
    move_on = attempts >= policy.after_attempts or (outcome is not None and not outcome.retryable)
    if not move_on:
        return failed_model
    i = policy.chain.index(failed_model)
    return policy.chain[i + 1] if i + 1 < len(policy.chain) else None
