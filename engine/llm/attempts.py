"""One call's walk through attempts: permit, request, classify, back off, retry or fall back.

Every attempt takes a permit from its account's lease pool (a retry is a new request and
counts against the limits like any other). Nothing raised by a provider escapes: failures
become `Failure` values; the walk ends with an answer or with the last failure.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field

from domain.llm import (
    Catalogue,
    FallbackPolicy,
    ModelSpec,
    Outcome,
    ProviderAccount,
    RetryPolicy,
    Usage,
    backoff_delay,
    next_model,
    should_retry,
)
from engine import tracing
from engine.llm.failures import Failure, failure_of
from engine.llm.leases import LeasePool
from engine.llm.plan import Plan
from engine.llm.prices import Prices
from engine.llm.provider import Answer

CLIENT = tracing.SpanKind.CLIENT


def _call_attributes(spec: ModelSpec, account: ProviderAccount) -> dict[str, str]:
    return {"gen_ai.request.model": spec.name, "autoforge.account": account.name}


Send = Callable[[ModelSpec, ProviderAccount], Awaitable[Answer]]
"""Makes one provider request for a model on its account."""
_LATENCY_WEIGHT = 0.2  # of the newest sample in the moving latency average


@dataclass
class Leg:
    """What a call did on one model."""

    model: str
    account: str
    requests: int = 0
    errors: int = 0
    rate_limited: int = 0
    usage: Usage = Usage()
    cost_usd: float = 0.0
    ok: bool = False
    latency_ms: float = 0.0
    """How long the provider took over this leg's last request."""


@dataclass
class Walk:
    """The end of a call's attempts: an answer from ``model_used``, or the last failure."""

    legs: list[Leg] = field(default_factory=list)
    answer: Answer | None = None
    model_used: str | None = None
    failure: Failure | None = None

    @property
    def attempts(self) -> int:
        """Provider requests made, every model together."""
        return sum(leg.requests for leg in self.legs)

    @property
    def latency_ms(self) -> float:
        """How long the provider took over the last request (the answer's, when there is
        one); permit waits, backoff and earlier attempts are not in it."""
        return self.legs[-1].latency_ms if self.legs else 0.0

    @property
    def rate_limited(self) -> int:
        """429 answers seen."""
        return sum(leg.rate_limited for leg in self.legs)

    @property
    def cost_usd(self) -> float:
        """USD spent over every attempt."""
        return sum(leg.cost_usd for leg in self.legs)


def next_step(
    policy: FallbackPolicy | None, model: str, attempts: int, outcome: Outcome, retry: RetryPolicy
) -> str | None:
    """The model to try after ``attempts`` failures on ``model``; ``None`` ends the walk.

    The fallback policy says when to move on; the account's retry policy caps the attempts
    on each model, after which a failure another model may fix moves down the chain.
    """
    may_retry = should_retry(outcome, attempts, retry)
    if policy is None:
        return model if may_retry else None
    step = next_model(policy, model, attempts, outcome)
    if step != model or may_retry:
        return step
    if not outcome.fallback:
        return None
    i = policy.chain.index(model)
    return policy.chain[i + 1] if i + 1 < len(policy.chain) else None


class Attempts:
    """Runs walks for one client; keeps the latencies `lowest-latency` routing reads.

    Args:
        catalogue: Models and accounts.
        pool: The lease pool of an account.
        prices: Price source for costs.
        rng: Randomness for backoff jitter.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        pool: Callable[[ProviderAccount], LeasePool],
        prices: Prices,
        rng: random.Random,
    ) -> None:
        self._catalogue = catalogue
        self._pool = pool
        self._prices = prices
        self._rng = rng
        self.latency_ms: MutableMapping[str, float] = {}

    def _observe(self, model: str, ms: float) -> None:
        old = self.latency_ms.get(model)
        self.latency_ms[model] = ms if old is None else old + _LATENCY_WEIGHT * (ms - old)

    async def run(
        self, plan: Plan, send: Send, tokens: int, on_retry: Callable[[], None] | None = None
    ) -> Walk:
        """Attempt ``send`` along ``plan`` until an answer or the end of the chain;
        ``on_retry`` hears of each failed attempt that another one follows."""
        walk = Walk()
        spec = plan.primary
        failures = 0
        while True:
            account = self._catalogue.account_for(spec)
            if not walk.legs or walk.legs[-1].model != spec.name:
                walk.legs.append(Leg(spec.name, account.name))
            leg = walk.legs[-1]
            answer, failure = await self._attempt(spec, account, send, tokens, leg)
            if answer is not None:
                walk.answer, walk.model_used = answer, spec.name
                return walk
            assert failure is not None
            walk.failure = failure
            failures += 1
            step = next_step(plan.fallback, spec.name, failures, failure.outcome, account.retry)
            if step is None:
                return walk
            if on_retry is not None:
                on_retry()
            if step == spec.name:
                delay = backoff_delay(failures, account.retry, self._rng, failure.retry_after_s)
                await asyncio.sleep(delay)
            else:
                spec, failures = self._catalogue.model(step), 0

    async def _attempt(
        self, spec: ModelSpec, account: ProviderAccount, send: Send, tokens: int, leg: Leg
    ) -> tuple[Answer | None, Failure | None]:
        pool = self._pool(account)
        permit = await pool.permit(tokens)
        started = time.monotonic()
        try:
            # After the permit: the span times the call, not the wait for a slot.
            attributes = _call_attributes(spec, account)
            with tracing.span("provider.call", attributes, kind=CLIENT) as span:
                try:
                    answer = await send(spec, account)
                except Exception as exc:
                    if span is not None:  # the kind only: an exception's text is not shown
                        tracing.mark(span, **{"autoforge.outcome": failure_of(exc).outcome.kind})
                    raise
                tracing.mark(span, **{"autoforge.outcome": "ok"})
        except asyncio.CancelledError:
            pool.done(permit, 0)
            raise
        except Exception as exc:  # LiteLLM's exceptions must not escape (they do not pickle)
            pool.done(permit, 0)
            leg.latency_ms = (time.monotonic() - started) * 1000
            failure = failure_of(exc)
            leg.requests += 1
            leg.errors += 1
            if failure.outcome.kind == "rate_limit":
                leg.rate_limited += 1
                await pool.rate_limited(failure.retry_after_s, failure.headers)
            return None, failure
        leg.latency_ms = (time.monotonic() - started) * 1000
        pool.done(permit, answer.usage.total_tokens)
        self._observe(spec.name, leg.latency_ms)
        leg.requests += 1
        leg.usage += answer.usage
        leg.cost_usd += self._prices.cost(answer.usage, spec)
        leg.ok = True
        if answer.headers:
            await pool.observe(answer.headers)
        return answer, None
