"""`LLMClient`: every model call of a process, under global limits, budgets and the cache.

Pipeline of one call: validate (raise before any call) → cache lookup → budget reservation
→ permits from the account's lease pool → LiteLLM → classify failures → retry / fall back
→ cost → usage records to the gateway (batched) → budget settlement → cache write.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.llm import (
    DEFAULT_COMPLETION_TOKENS,
    Catalogue,
    CompletionForecast,
    ModelSpec,
    ProviderAccount,
    cache_key,
    estimate_messages_tokens,
    estimate_tokens,
)
from engine.llm import openai_http, provider
from engine.llm.attempts import Attempts, Send, Walk
from engine.llm.budget import BudgetStore
from engine.llm.cache import DEFAULT_TTL_S, CacheStats, ResponseCache
from engine.llm.gateways import LinkFactory
from engine.llm.leases import LeasePool
from engine.llm.pipeline import Steps, execute
from engine.llm.plan import Plan, check_request, choose, embedding_plan, moderation_plan, plan
from engine.llm.prices import Prices
from engine.llm.results import (
    R,
    budget_refused,
    completion_result,
    embedding_result,
    moderation_result,
)
from engine.llm.types import (
    CompletionRequest,
    CompletionResult,
    EmbeddingResult,
    ModerationResult,
    UsageRecord,
    new_call_id,
)
from engine.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class _Caller:
    """Who a call is made for and whether it may use the cache."""

    call_id: str
    run_id: str | None
    user_id: str | None
    cache: bool


def budget_scopes(run_id: str | None, user_id: str | None) -> list[str]:
    """Budget scopes a call counts against: ``run:<id>`` and ``user:<id>``."""
    return [s for s in (run_id and f"run:{run_id}", user_id and f"user:{user_id}") if s]


class LLMClient:
    """Makes model calls for one process (an evaluator actor, the driver, the CLI).

    Args:
        catalogue: Models, accounts, limits and fallbacks.
        redis_url: Redis for the response cache and budgets; ``None`` disables both.
        cache_ttl_s: Life of cached answers.
        links: How to reach gateways (``actors.gateway_links.ray_links`` for the named
            Ray actors every process shares).
        env: Where API keys are read; default ``os.environ``.
        max_lease: Most permits bought from a gateway at once.
        seed: Seed of backoff jitter.
        on_retry: Hears the run id (or None) of each failed attempt another one follows, as
            it happens (run progress counts them).

    Examples:
        >>> client = LLMClient(catalogue, redis_url=url, links=ray_links(url))  # doctest: +SKIP
        >>> request = CompletionRequest("openai/sim-small", msgs)
        >>> result = await client.complete(request)  # doctest: +SKIP
        >>> result.ok, result.content  # doctest: +SKIP
        (True, 'Sure! The answer is 4.')
    """

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        redis_url: str | None = None,
        cache_ttl_s: int = DEFAULT_TTL_S,
        links: LinkFactory,
        env: Mapping[str, str] | None = None,
        max_lease: int = 32,
        seed: int | None = None,
        on_retry: Callable[[str | None], None] | None = None,
    ) -> None:
        self.catalogue = catalogue
        self._env = os.environ if env is None else env
        self._links = links
        self._max_lease = max_lease
        self._on_retry = on_retry
        self._pools: dict[str, LeasePool] = {}
        self._prices = Prices()
        self._completions = CompletionForecast()
        self._attempts = Attempts(catalogue, self.pool, self._prices, random.Random(seed))
        self._plans: dict[str, Plan] = {}
        self._through_litellm: dict[tuple[str, ...], bool] = {}
        self._warm: asyncio.Future[None] | None = None
        self.cache: ResponseCache | None = None
        self.budgets: BudgetStore | None = None
        if redis_url:
            from engine.redis_client import async_redis

            shared = async_redis(redis_url)
            self.cache = ResponseCache(shared, cache_ttl_s)
            self.budgets = BudgetStore(shared)

    @property
    def observed_latency_ms(self) -> Mapping[str, float]:
        """Moving average latency of successful requests per model (for routing)."""
        return self._attempts.latency_ms

    def cache_stats(self) -> CacheStats:
        """This process's cache counters."""
        return self.cache.stats() if self.cache else CacheStats()

    def pool(self, account: ProviderAccount) -> LeasePool:
        """The lease pool of ``account`` (created on first use)."""
        if account.name not in self._pools:
            self._pools[account.name] = LeasePool(
                self._links(account), self._max_lease, account.max_concurrency
            )
        return self._pools[account.name]

    def check(self, request: CompletionRequest) -> Plan:
        """Validate ``request`` as `complete` would and choose its model, calling nothing.

        Raises:
            ValidationError: Unknown model, bad messages, parameters or fallback chain.
            ConfigurationError: A model that may be called lacks its API key.
        """
        check_request(request)
        tokens = estimate_messages_tokens(request.messages)
        primary = choose(self.catalogue, request, tokens, self._attempts.latency_ms, self._prices)
        if request.fallback is not None:
            return plan(self.catalogue, primary, request.fallback, self._env)
        cached = self._plans.get(primary.name)
        if cached is None:
            cached = self._plans[primary.name] = plan(self.catalogue, primary, None, self._env)
        return cached

    async def complete(self, request: CompletionRequest) -> CompletionResult:
        """Make one chat completion; provider failures come back in ``result.error``.

        Raises:
            ValidationError: Invalid request (before any call).
            ConfigurationError: Missing API key (before any call).
        """
        started = time.monotonic()
        chosen = self.check(request)
        prompt_tokens = estimate_messages_tokens(request.messages)
        params = dict(request.params)
        asked = params.get("max_tokens") or params.get("max_completion_tokens")
        max_tokens = int(asked) if asked else None
        limiter_tokens = max_tokens or DEFAULT_COMPLETION_TOKENS
        # Learnt per run and asked model: a run's prompts make its answers alike in length.
        seen_as = (request.run_id, request.model)

        on_delta = request.on_delta

        async def send(spec: ModelSpec, account: ProviderAccount) -> provider.Answer:
            if on_delta is not None:
                await on_delta(None)  # this attempt starts the answer afresh
            return await provider.complete(
                spec, account, self._key_of(account), request.messages, params, on_delta
            )

        key_params = params
        if request.routing != "fixed":
            key_params = {**params, "_routing": [request.routing, *request.candidates]}
        if request.user_id:
            key_params = {**key_params, "_owner": request.user_id}
        steps: Steps[CompletionResult] = Steps(
            call_id=request.call_id,
            run_id=request.run_id,
            user_id=request.user_id,
            scopes=budget_scopes(request.run_id, request.user_id),
            use_cache=request.cache,
            key=lambda: cache_key(
                request.model, request.messages, key_params, request.repeat_index
            ),
            estimate=lambda: self._prices.forecast(
                chosen.models, prompt_tokens, self._completions.expect(seen_as, max_tokens)
            ),
            walk=lambda: self._attempts.run(
                chosen, send, prompt_tokens + limiter_tokens, self._retried(request.run_id)
            ),
            hit=lambda data, ms: CompletionResult.from_cache(
                data, request.call_id, request.model, ms
            ),
            refused=lambda ms: budget_refused(CompletionResult, request.call_id, request.model, ms),
            build=lambda walk, ms: completion_result(
                walk, request.call_id, request.model, chosen, ms
            ),
        )
        if self._needs_litellm(chosen):
            await self.warm_up()
        result = await execute(steps, started, self.cache, self.budgets, self._report)
        if result.ok:
            self._completions.observe(seen_as, result.usage.completion_tokens)
        return result

    async def embed(
        self,
        model: str,
        texts: Sequence[str],
        *,
        params: Mapping[str, Any] | None = None,
        call_id: str | None = None,
        run_id: str | None = None,
        user_id: str | None = None,
        cache: bool = True,
    ) -> EmbeddingResult:
        """Embed ``texts`` with ``model`` through the same limits, budgets and cache.

        Raises:
            ValidationError: Unknown model, empty or non-string texts (before any call).
            ConfigurationError: Missing API key (before any call).
        """
        started = time.monotonic()
        extra = dict(params or {})
        chosen = embedding_plan(self.catalogue, model, texts, extra, self._env)

        async def send(s: ModelSpec, account: ProviderAccount) -> provider.Answer:
            return await provider.embed(s, account, self._key_of(account), texts, extra)

        caller = _Caller(call_id or new_call_id(), run_id, user_id, cache)
        return await self._one_model(
            "embedding",
            chosen,
            texts,
            extra,
            send,
            EmbeddingResult,
            embedding_result,
            caller,
            started,
        )

    async def moderate(
        self,
        model: str,
        text: str,
        *,
        call_id: str | None = None,
        run_id: str | None = None,
        user_id: str | None = None,
        cache: bool = True,
    ) -> ModerationResult:
        """Ask moderation ``model`` whether ``text`` is flagged, through the same limits,
        budgets and cache as every call.

        Raises:
            ValidationError: Unknown model or a non-string text (before any call).
            ConfigurationError: Missing API key (before any call).

        Examples:
            >>> verdict = await client.moderate("openai/sim-moderation", "kill")  # doctest: +SKIP
            >>> verdict.flagged, verdict.categories["violence"]  # doctest: +SKIP
            (True, True)
        """
        started = time.monotonic()
        chosen = moderation_plan(self.catalogue, model, text, self._env)

        async def send(s: ModelSpec, account: ProviderAccount) -> provider.Answer:
            return await provider.moderate(s, account, self._key_of(account), text)

        caller = _Caller(call_id or new_call_id(), run_id, user_id, cache)
        return await self._one_model(
            "moderation",
            chosen,
            [text],
            {},
            send,
            ModerationResult,
            moderation_result,
            caller,
            started,
        )

    async def _one_model(
        self,
        kind: str,
        chosen: Plan,
        texts: Sequence[str],
        params: Mapping[str, Any],
        send: Send,
        shape: type[R],
        build: Callable[[Walk, str, str, float], R],
        caller: _Caller,
        started: float,
    ) -> R:
        """A call on one model without fallback (embeddings, moderation): its cache key
        holds ``kind``, so a text embedded and moderated keeps both answers."""
        spec = chosen.primary
        model, call_id, run_id, user_id = spec.name, caller.call_id, caller.run_id, caller.user_id
        tokens = sum(estimate_tokens(t) for t in texts)
        as_messages = [{"role": "input", "content": t} for t in texts]
        key_params: dict[str, Any] = {**params, "_kind": kind}
        if user_id:
            key_params["_owner"] = user_id
        steps: Steps[R] = Steps(
            call_id=call_id,
            run_id=run_id,
            user_id=user_id,
            scopes=budget_scopes(run_id, user_id),
            use_cache=caller.cache,
            key=lambda: cache_key(model, as_messages, key_params, 0),
            estimate=lambda: self._prices.forecast((spec,), tokens, 0),
            walk=lambda: self._attempts.run(chosen, send, tokens, self._retried(run_id)),
            hit=lambda data, ms: shape.from_cache(data, call_id, model, ms),
            refused=lambda ms: budget_refused(shape, call_id, model, ms),
            build=lambda walk, ms: build(walk, call_id, model, ms),
        )
        await self.warm_up()
        return await execute(steps, started, self.cache, self.budgets, self._report)

    def _retried(self, run_id: str | None) -> Callable[[], None] | None:
        on_retry = self._on_retry
        return None if on_retry is None else lambda: on_retry(run_id)

    def _report(self, account: str, record: UsageRecord) -> None:
        self.pool(self.catalogue.account(account)).add_record(record)

    def _key_of(self, account: ProviderAccount) -> str | None:
        # A key-less account (a self-hosted server) gets no key unless the catalogue names
        # a variable for it: the provider's default OPENAI_API_KEY went to 26/26 such calls.
        if not account.requires_api_key and account.api_key_env is None:
            return None
        return self._env.get(account.key_env_var) or None

    def _needs_litellm(self, chosen: Plan) -> bool:
        """Whether a model ``chosen`` may call goes through LiteLLM: the lean path
        (`engine.llm.openai_http`) needs no import of it (~2.5 s per process)."""
        needs = self._through_litellm.get(chosen.chain)
        if needs is None:
            accounts = (self.catalogue.account_for(spec) for spec in chosen.models)
            needs = any(not openai_http.applies_to(account) for account in accounts)
            self._through_litellm[chosen.chain] = needs
        return needs

    async def warm_up(self) -> None:
        """Import and set up LiteLLM now (done by the first call otherwise, never twice)."""
        if self._warm is None:
            self._warm = asyncio.ensure_future(self._warm_up())
        if not self._warm.done():  # shielding a done future still cost ~7% of a cell's CPU
            await asyncio.shield(self._warm)

    async def _warm_up(self) -> None:
        provider.register_prices(self.catalogue.models)
        chat = [m for m in self.catalogue.models if m.chats]
        if chat:
            try:
                await provider.warm_up(chat[0], self.catalogue.account_for(chat[0]))
            except Exception as exc:  # only an optimisation: real calls report real errors
                log.warning("litellm warm-up failed", error=str(exc))

    async def flush(self) -> None:
        """Return unused permits, deliver usage records to the gateways, write cache entries."""
        for pool in list(self._pools.values()):
            await pool.aclose()
        if self.cache is not None:
            await self.cache.flush()

    async def aclose(self) -> None:
        """Flush, then close Redis and HTTP connections; the client must not be used afterwards."""
        await self.flush()
        await openai_http.close_session()
        await provider.close_clients()
        if self.cache is not None:
            await self.cache.aclose()
