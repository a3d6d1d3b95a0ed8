"""What the LLM client needs of an account's gateway: a `GatewayLink`, built by a `LinkFactory`.

The links themselves live next to the gateway actor (``actors.gateway_links``): the named Ray
actor shared by every process, or a gateway in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from domain.llm import Lease, ProviderAccount, Wait
from engine.llm.types import UsageRecord


class GatewayLink(Protocol):
    """What the client needs of a gateway (`actors.provider_gateway.Gateway` has it)."""

    async def acquire(
        self,
        requests: int,
        tokens: int,
        finished: Mapping[str, int] | None = None,
        patience_s: float = 0.0,
    ) -> Lease | Wait: ...

    async def finish(self, finished: Mapping[str, int]) -> bool: ...

    async def release(
        self, lease_id: str, used_requests: int, used_tokens: int, records: Sequence[UsageRecord]
    ) -> bool: ...

    async def report(self, records: Sequence[UsageRecord]) -> int: ...

    async def on_rate_limited(
        self, retry_after_s: float | None, headers: Mapping[str, str]
    ) -> float: ...

    async def observe(self, headers: Mapping[str, str]) -> float: ...


LinkFactory = Callable[[ProviderAccount], GatewayLink]
"""Builds the link to an account's gateway."""
