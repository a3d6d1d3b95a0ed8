"""Plain dataclasses that cross process and actor boundaries: requests, results, usage records.

Nothing here holds a LiteLLM object: results are built from the provider's answer inside the
client, so they pickle across Ray and serialise to JSON for the response cache.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from domain.llm import FallbackPolicy, ToolCall, Usage, tool_calls_from_dicts

Routing = Literal["fixed", "cheapest-that-qualifies", "lowest-latency"]
ROUTINGS: tuple[str, ...] = ("fixed", "cheapest-that-qualifies", "lowest-latency")


def new_call_id() -> str:
    """A fresh, unique call id."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class CompletionRequest:
    """One chat completion to make.

    Args:
        model: LiteLLM model name from the catalogue, e.g. ``openai/sim-small``.
        messages: Chat messages, OpenAI format.
        params: Answer-shaping parameters passed to LiteLLM (``temperature``, ``max_tokens``...).
        repeat_index: Which repeat of an identical request this is; part of the cache key.
        call_id: Idempotency id for the ledger and budgets; a fresh one when omitted.
        run_id: Run the call belongs to; budget scope ``run:<id>`` and ledger scope.
        user_id: User the call is made for; budget scope ``user:<id>``.
        cache: False neither reads nor writes the response cache.
        routing: ``fixed`` calls ``model``; ``cheapest-that-qualifies`` and
            ``lowest-latency`` choose among ``candidates`` (the whole chat catalogue if empty).
        candidates: Model names routing may choose from.
        min_skill: Least `ModelSpec.skill` for ``cheapest-that-qualifies``.
        tags: Tags a routed model must carry.
        fallback: Fallback chain overriding the catalogue's for the chosen model.
        on_delta: Stream the answer: each piece of text is handed to it as it arrives, and
            None when an attempt starts (a retry or a fallback: what came before is void).
            A cached answer is not streamed. Not for calls that cross a process.

    Examples:
        >>> CompletionRequest("openai/sim-small", [{"role": "user", "content": "hi"}]).cache
        True
    """

    model: str
    messages: Sequence[Mapping[str, Any]]
    params: Mapping[str, Any] = field(default_factory=dict)
    repeat_index: int = 0
    call_id: str = field(default_factory=new_call_id)
    run_id: str | None = None
    user_id: str | None = None
    cache: bool = True
    routing: Routing = "fixed"
    candidates: tuple[str, ...] = ()
    min_skill: float = 0.0
    tags: tuple[str, ...] = ()
    fallback: FallbackPolicy | None = None
    on_delta: Callable[[str | None], Awaitable[None]] | None = field(
        default=None, repr=False, compare=False
    )


@dataclass(frozen=True)
class CallError:
    """Why a call produced no answer.

    Attributes:
        kind: One of `domain.llm.KINDS` (``budget`` when a budget refused the call).
        message: The provider's own message (or ours for ``budget``).
        status: HTTP status of the last failed attempt, if any.
        retryable: Whether the same call may succeed later.
        attempts: Provider requests made for the call, all models together.
    """

    kind: str
    message: str
    status: int | None
    retryable: bool
    attempts: int


@dataclass(frozen=True)
class CompletionResult:
    """The outcome of one `CompletionRequest`; provider failures are in ``error``, never raised.

    Attributes:
        call_id: The request's call id.
        model: Model requested (before routing and fallback).
        model_used: Model that answered; ``None`` when none did.
        content: Text of the first choice.
        finish_reason: The provider's finish reason of the first choice.
        usage: Tokens used by the answering call (the cached call's, on a hit).
        cost_usd: USD spent by this call over every attempt; 0 on a cache hit.
        latency_ms: How long the provider took to answer: the last attempt only, from
            request to parsed answer (a failed call: its last attempt; a cache hit: the
            lookup; a refused budget: 0).
        queue_ms: The rest of the call's time: budget reservation, permit waits, earlier
            attempts and retry backoff (0 on a cache hit).
        attempts: Provider requests made (0 on a cache hit or a refused budget).
        rate_limited: 429 answers seen on the way.
        cached: Served from the response cache.
        fallback_model: The model that answered when it is not the routed primary.
        error: Why there is no answer, or ``None``.
        logprobs: Log-probability of each token of ``content``, when the request's params
            asked for ``logprobs`` and the provider gave them.
        tool_calls: The function calls of the first choice, in the model's order (its
            ``finish_reason`` is then usually ``"tool_calls"`` and ``content`` often None).
    """

    call_id: str
    model: str
    model_used: str | None = None
    content: str | None = None
    finish_reason: str | None = None
    usage: Usage = Usage()
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    queue_ms: float = 0.0
    attempts: int = 0
    rate_limited: int = 0
    cached: bool = False
    fallback_model: str | None = None
    error: CallError | None = None
    logprobs: tuple[float, ...] | None = None
    tool_calls: tuple[ToolCall, ...] = field(default=(), hash=False)

    @property
    def ok(self) -> bool:
        """True when the call has an answer."""
        return self.error is None

    def to_cache(self) -> dict[str, Any]:
        """What the response cache stores: the answer, never the error or bookkeeping."""
        entry: dict[str, Any] = {
            "model_used": self.model_used,
            "content": self.content,
            "finish_reason": self.finish_reason,
            "usage": [self.usage.prompt_tokens, self.usage.completion_tokens],
            "fallback_model": self.fallback_model,
        }
        if self.logprobs is not None:
            entry["logprobs"] = list(self.logprobs)
        if self.tool_calls:
            entry["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        return entry

    @classmethod
    def from_cache(
        cls, data: Mapping[str, Any], call_id: str, model: str, latency_ms: float
    ) -> CompletionResult:
        """A cache hit for ``call_id``: the stored answer, no attempts and no cost."""
        prompt, completion = data["usage"]
        return cls(
            call_id=call_id,
            model=model,
            model_used=data["model_used"],
            content=data["content"],
            finish_reason=data["finish_reason"],
            usage=Usage(prompt, completion),
            latency_ms=latency_ms,
            cached=True,
            fallback_model=data["fallback_model"],
            logprobs=None if data.get("logprobs") is None else tuple(data["logprobs"]),
            tool_calls=tool_calls_from_dicts(data.get("tool_calls")),
        )


@dataclass(frozen=True)
class SingleModelResult:
    """What the result of a call on one model without fallback (embeddings, moderation)
    says besides its answer; failures are in ``error``, never raised.

    ``latency_ms`` and ``queue_ms`` split its time as in `CompletionResult`.
    """

    call_id: str
    model: str
    usage: Usage = Usage()
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    queue_ms: float = 0.0
    attempts: int = 0
    rate_limited: int = 0
    cached: bool = False
    model_used: str | None = None
    error: CallError | None = None

    @property
    def ok(self) -> bool:
        """True when the call has an answer."""
        return self.error is None


@dataclass(frozen=True)
class EmbeddingResult(SingleModelResult):
    """The outcome of one `LLMClient.embed` call: ``vectors``, one per text."""

    vectors: list[list[float]] = field(default_factory=list)

    def to_cache(self) -> dict[str, Any]:
        """What the response cache stores."""
        usage = [self.usage.prompt_tokens, self.usage.completion_tokens]
        return {"model_used": self.model_used, "vectors": self.vectors, "usage": usage}

    @classmethod
    def from_cache(
        cls, data: Mapping[str, Any], call_id: str, model: str, latency_ms: float
    ) -> EmbeddingResult:
        """A cache hit for ``call_id``: the stored vectors, no attempts and no cost."""
        prompt, completion = data["usage"]
        return cls(
            call_id=call_id,
            model=model,
            vectors=data["vectors"],
            usage=Usage(prompt, completion),
            latency_ms=latency_ms,
            cached=True,
            model_used=data["model_used"],
        )


@dataclass(frozen=True)
class ModerationResult(SingleModelResult):
    """The outcome of one `LLMClient.moderate` call.

    Attributes:
        flagged: The moderation model flagged the text in some category.
        categories: Category name (OpenAI's, e.g. ``violence``, ``self-harm``) → flagged.
        category_scores: Category name → the model's confidence within [0, 1].
    """

    flagged: bool = False
    categories: dict[str, bool] = field(default_factory=dict)
    category_scores: dict[str, float] = field(default_factory=dict)

    def to_cache(self) -> dict[str, Any]:
        """What the response cache stores."""
        return {
            "model_used": self.model_used,
            "flagged": self.flagged,
            "categories": self.categories,
            "category_scores": self.category_scores,
        }

    @classmethod
    def from_cache(
        cls, data: Mapping[str, Any], call_id: str, model: str, latency_ms: float
    ) -> ModerationResult:
        """A cache hit for ``call_id``: the stored verdict, no attempts and no cost."""
        return cls(
            call_id=call_id,
            model=model,
            flagged=data["flagged"],
            categories=data["categories"],
            category_scores=data["category_scores"],
            latency_ms=latency_ms,
            cached=True,
            model_used=data["model_used"],
        )


@dataclass(frozen=True)
class UsageRecord:
    """What one call did on one model, as reported to that model's gateway.

    ``id`` is unique per call and model (``<call_id>/<model>``) so a report delivered twice
    is counted once.
    """

    id: str
    call_id: str
    model: str
    run_id: str | None
    requests: int
    errors: int
    rate_limited: int
    ok: bool
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    user_id: str | None = None
