"""`ProviderGateway`: the one owner of a provider account's limits and usage ledger.

One named actor per account (``gateway:<account>``). It is the limiter, not a proxy:
clients take permits in leases, call the provider themselves, then release the lease with
the real usage and their usage records. Every rule lives in `domain.llm.RateLimiter` and
`engine.llm.ledger`; this class only holds them, reads the clock and persists the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from actors.naming import gateway_name
from actors.remote import actor_class
from domain.llm import Catalogue, Lease, ProviderAccount, RateLimiter, Wait
from engine import timings
from engine.llm.ledger import RedisUsageStore, UsageLedger
from engine.llm.limits import next_slot_headers
from engine.llm.types import UsageRecord
from engine.logs import get_logger
from engine.metrics import exported
from engine.ray_runtime import NAMESPACE

log = get_logger(__name__)

MAX_CONCURRENCY = 10_000
"""Concurrent calls the async actor accepts; its methods never block the loop."""


HEADROOM = 0.005
"""Share of a limit left unused: we count grants, the provider counts arrivals, which jitter
by milliseconds; an exact bucket would brush the provider's window edge and draw 429s."""


def with_headroom(limit: int) -> int:
    """``limit`` less `HEADROOM` (at least one unit, never below 1)."""
    return max(1, limit - max(1, math.ceil(limit * HEADROOM)))


def _limits(account: ProviderAccount) -> tuple[Any, ...]:
    return (account.rpm, account.tpm, account.max_concurrency, account.timeout_s)


class Gateway:
    """Limiter and ledger of one provider account (usable in-process; the actor wraps it).

    Args:
        account: The account whose limits hold.
        redis_url: Where to mirror the usage ledger durably; ``None`` keeps it in memory.
    """

    def __init__(self, account: ProviderAccount, redis_url: str | None = None) -> None:
        self.account = account
        self.incarnation = uuid.uuid4().hex[:8]
        self._limiter = self._new_limiter(account)
        self._ledger = UsageLedger()
        self._redis_url = redis_url
        self._store: RedisUsageStore | None = None
        self._freed = asyncio.Event()

    def _new_limiter(self, account: ProviderAccount) -> RateLimiter:
        return RateLimiter(
            with_headroom(account.rpm),
            None if account.tpm is None else with_headroom(account.tpm),
            account.max_concurrency,
            lease_ttl_s=2 * account.timeout_s + 10.0,  # as RateLimiter.for_account
            id_prefix=f"{account.name}-{self.incarnation}",
        )

    async def configure(self, account: ProviderAccount) -> bool:
        """Adopt ``account``'s limits if they changed (the catalogue is the source of truth).

        Returns:
            True when the limits changed; live leases are then forgotten.
        """
        return self.adopt(account)

    def adopt(self, account: ProviderAccount) -> bool:
        """`configure`, for a caller in this process (an in-process link)."""
        if account.name != self.account.name:
            raise ValueError(f"gateway of {self.account.name!r} cannot serve {account.name!r}")
        changed = _limits(account) != _limits(self.account)
        self.account = account
        if changed:
            self._limiter = self._new_limiter(account)
            log.info("gateway limits changed", account=account.name, rpm=account.rpm)
        return changed

    async def acquire(
        self,
        requests: int,
        tokens: int,
        finished: Mapping[str, int] | None = None,
        patience_s: float = 0.0,
    ) -> Lease | Wait:
        """Lease up to ``requests`` permits (``tokens`` estimated in all), or say how long.

        Args:
            requests: Permits wanted.
            tokens: Tokens they are estimated at, in all.
            finished: Requests of earlier leases that ended since the caller last said
                (see `finish`), counted first.
            patience_s: While the concurrency cap is full, wait up to this long for a place
                to free (a caller that polled instead idled ~20 ms per freed place).
        """
        if finished:
            await self.finish(finished)
        deadline = time.monotonic() + patience_s
        while True:
            now = time.monotonic()
            grant = self._limiter.acquire(requests, tokens, now)
            if isinstance(grant, Lease):
                timings.moment("first lease")
                return grant
            if grant.reason != "concurrency" or now >= deadline:
                exported.lease_waited(self.account.name, grant.reason)
                return grant
            freed = self._freed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(freed.wait(), min(grant.seconds, deadline - now))

    async def finish(self, finished: Mapping[str, int]) -> bool:
        """Requests of live leases ended: ``{lease id: how many}``; their places are free.

        Returns:
            True when places are short: hand back permits held unused.
        """
        now = time.monotonic()
        for lease_id, requests in finished.items():
            self._limiter.finish(lease_id, requests, now)
        self._wake()
        return self._limiter.short_of_places(now)

    def _wake(self) -> None:
        self._freed.set()
        self._freed = asyncio.Event()

    async def release(
        self,
        lease_id: str,
        used_requests: int,
        used_tokens: int,
        records: Sequence[UsageRecord] = (),
    ) -> bool:
        """Close a lease with its real usage and count the usage records that come with it.

        Returns:
            False when the lease was unknown (already released, reclaimed, or granted by an
            earlier incarnation of this gateway).
        """
        released = self._limiter.release(lease_id, used_requests, used_tokens, time.monotonic())
        self._wake()
        await self.report(records)
        return released

    async def report(self, records: Sequence[UsageRecord]) -> int:
        """Count usage records; each record id is counted once however often it is reported.

        Returns:
            How many records were new to this incarnation's ledger.
        """
        if not records:
            return 0
        fresh = [record for record in records if self._ledger.record(record)]
        exported.provider_usage(self.account.name, fresh)
        store = self._durable()
        if store is not None:
            try:
                await store.apply(records)
            except Exception as exc:  # the in-memory ledger still has them
                log.warning("usage not persisted", account=self.account.name, error=str(exc))
        return len(fresh)

    async def on_rate_limited(
        self, retry_after_s: float | None, headers: Mapping[str, str]
    ) -> float:
        """The provider answered 429: pause grants and cut the rate; returns the pause in s.

        The pause is the provider's ``Retry-After``, or the next free slot of an exhausted
        limit, not its full reset (see `engine.llm.limits`).
        """
        now = time.monotonic()
        return self._limiter.on_rate_limited(retry_after_s, next_slot_headers(headers), now)

    async def observe(self, headers: Mapping[str, str]) -> float:
        """Heed a successful response's rate-limit headers; returns the pause it caused in s.

        An exhausted limit pauses grants until its next free slot, not its full reset
        (see `engine.llm.limits`).
        """
        return self._limiter.observe(next_slot_headers(headers), time.monotonic())

    async def usage(self, scope: str = "account", durable: bool = False) -> dict[str, float]:
        """Totals of ``scope`` (``account``, ``run:<id>``, ``model:<name>``).

        Args:
            scope: Which totals.
            durable: Read the Redis ledger (every incarnation) instead of this one's memory.
        """
        store = self._durable() if durable else None
        if store is not None:
            return await store.totals(scope)
        return self._ledger.totals(scope)

    async def status(self) -> dict[str, Any]:
        """Limiter state and identity, for status endpoints and tests."""
        return {
            "account": self.account.name,
            "incarnation": self.incarnation,
            "limits": dict(
                zip(
                    ("rpm", "tpm", "max_concurrency", "timeout_s"),
                    _limits(self.account),
                    strict=True,
                )
            ),
            **self._limiter.snapshot(time.monotonic()),
        }

    def _durable(self) -> RedisUsageStore | None:
        if self._redis_url and self._store is None:
            from engine.redis_client import async_redis

            client = async_redis(self._redis_url)
            self._store = RedisUsageStore(client, self.account.name)
        return self._store


ProviderGateway = actor_class(
    Gateway, num_cpus=0, max_restarts=-1, max_task_retries=-1, max_concurrency=MAX_CONCURRENCY
)
"""The Ray actor class of `Gateway`; get handles with `get_gateway`."""


def get_gateway(account: ProviderAccount, redis_url: str | None = None) -> Any:
    """The handle of ``account``'s gateway, creating the actor if it does not exist yet.

    Every process of the cluster that asks gets the same named actor, so limits hold across
    processes. It is not detached: it lives as long as the process that created it holds it
    (the engine, for the accounts of the runs it starts; else the evaluator or server that
    first needs it) and dies with that engine. A detached
    gateway outlived every CLI that created one on a shared cluster. Another engine still
    using the account then finds the gateway gone and its link creates a new one (the
    usage ledger is in Redis; the limiter starts afresh). It restarts after a crash; an
    existing actor keeps its constructor arguments, so call
    ``handle.configure.remote(account)`` to push changed limits.

    Args:
        account: The provider account.
        redis_url: Redis for the durable usage ledger (used only when the actor is created).

    Returns:
        A Ray ``ActorHandle`` of `Gateway`; keep it while the gateway is needed (Ray ends a
        named actor nobody holds).
    """
    return ProviderGateway.options(
        name=gateway_name(account.name),
        namespace=NAMESPACE,
        get_if_exists=True,
    ).remote(account, redis_url)


def accounts_used(catalogue: Catalogue, models: Iterable[str]) -> list[ProviderAccount]:
    """The accounts ``models`` and their fallback chains call, each once."""
    names: dict[str, None] = {}
    for model in models:
        policy = catalogue.fallback_for(model)
        for name in (model, *(policy.chain if policy else ())):
            names[catalogue.account_for(name).name] = None
    return [catalogue.account(name) for name in names]
