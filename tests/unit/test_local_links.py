"""In-process gateway links: one `Gateway` per account, adopting a changed catalogue's limits."""

from __future__ import annotations

from dataclasses import replace

from actors.gateway_links import local_links
from engine.llm import simulator_account


async def test_one_gateway_per_account_follows_the_catalogue() -> None:
    link = local_links()
    account = simulator_account("http://127.0.0.1:9/v1", max_concurrency=8)
    first = link(account)
    assert link(account) is first
    tighter = replace(account, max_concurrency=2)
    assert link(tighter) is first
    status = await first.status()  # type: ignore[attr-defined]
    assert status["limits"]["max_concurrency"] == 2
