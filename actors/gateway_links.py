"""Links from an LLM client to an account's gateway: the named Ray actor, or one in-process.

A link survives a gateway restart: Ray retries actor tasks itself (``max_task_retries=-1``),
and when the actor is gone for good the link looks it up again, which recreates it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from domain.errors import ServiceUnavailableError
from domain.llm import Lease, ProviderAccount, Wait
from engine.llm.gateways import GatewayLink, LinkFactory
from engine.llm.types import UsageRecord
from engine.logs import get_logger

log = get_logger(__name__)


class RayLink:
    """A link to the named `ProviderGateway` actor of one account.

    Args:
        account: The account.
        redis_url: Passed to the actor when this link creates it (durable ledger).
        give_up_after_s: How long to keep re-finding an unreachable gateway before raising
            `ServiceUnavailableError`.
    """

    def __init__(
        self, account: ProviderAccount, redis_url: str | None = None, give_up_after_s: float = 30.0
    ) -> None:
        self.account = account
        self._redis_url = redis_url
        self._give_up_after_s = give_up_after_s
        self._handle: Any = None

    async def _connect(self) -> Any:
        from actors.provider_gateway import get_gateway

        handle = get_gateway(self.account, self._redis_url)
        await handle.configure.remote(self.account)
        return handle

    async def _call(self, method: str, *args: Any) -> Any:
        import ray.exceptions

        deadline = time.monotonic() + self._give_up_after_s
        delay = 0.05
        while True:
            try:
                if self._handle is None:
                    self._handle = await self._connect()
                return await getattr(self._handle, method).remote(*args)
            except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
                self._handle = None
                if time.monotonic() + delay > deadline:
                    raise ServiceUnavailableError(
                        f"gateway of account {self.account.name!r} unreachable: {exc}",
                        account=self.account.name,
                    ) from None
                log.warning("gateway unreachable, retrying", account=self.account.name)
                await asyncio.sleep(delay)
                delay = min(1.0, delay * 2)

    async def acquire(
        self,
        requests: int,
        tokens: int,
        finished: Mapping[str, int] | None = None,
        patience_s: float = 0.0,
    ) -> Lease | Wait:
        counts = dict(finished) if finished else None
        result: Lease | Wait = await self._call("acquire", requests, tokens, counts, patience_s)
        return result

    async def finish(self, finished: Mapping[str, int]) -> bool:
        return bool(await self._call("finish", dict(finished)))

    async def release(
        self, lease_id: str, used_requests: int, used_tokens: int, records: Sequence[UsageRecord]
    ) -> bool:
        return bool(
            await self._call("release", lease_id, used_requests, used_tokens, list(records))
        )

    async def report(self, records: Sequence[UsageRecord]) -> int:
        return int(await self._call("report", list(records)))

    async def on_rate_limited(
        self, retry_after_s: float | None, headers: Mapping[str, str]
    ) -> float:
        return float(await self._call("on_rate_limited", retry_after_s, dict(headers)))

    async def observe(self, headers: Mapping[str, str]) -> float:
        return float(await self._call("observe", dict(headers)))


def ray_links(redis_url: str | None = None) -> LinkFactory:
    """Links to the named gateway actors (the default: limits hold across processes)."""
    return lambda account: RayLink(account, redis_url)


def local_links(redis_url: str | None = None) -> LinkFactory:
    """In-process gateways, one per account and factory: for a single process without Ray.

    Limits then hold only within this process.
    """
    from actors.provider_gateway import Gateway

    gateways: dict[str, Gateway] = {}

    def link(account: ProviderAccount) -> GatewayLink:
        gateway = gateways.get(account.name)
        if gateway is None:
            gateway = gateways[account.name] = Gateway(account, redis_url)
        elif gateway.account != account:  # a changed catalogue, as `RayLink` configures it
            gateway.adopt(account)
        return gateway

    return link
