"""`LeasePool` against a real in-process `Gateway`: a finished call frees its place at once."""

from __future__ import annotations

import asyncio

from actors.provider_gateway import Gateway
from engine.llm.catalogue import simulator_account
from engine.llm.leases import LeasePool


def test_a_finished_call_frees_its_place_for_another_process_while_its_lease_is_open() -> None:
    async def scenario() -> tuple[int, float]:
        account = simulator_account("http://127.0.0.1:9/v1", name="places", max_concurrency=4)
        gateway = Gateway(account)
        one, other = (LeasePool(gateway, 32, account.max_concurrency) for _ in range(2))
        mine = [await one.permit(10) for _ in range(2)]  # one lease of 2 (half the cap)
        theirs = [await other.permit(10) for _ in range(2)]
        one.done(mine[0], 10)  # its lease stays open: the other call is in flight
        late = await asyncio.wait_for(other.permit(10), timeout=5)
        in_flight = (await gateway.status())["in_flight"]
        for permit in (*theirs, late):
            other.done(permit, 10)
        one.done(mine[1], 10)
        await one.aclose()
        await other.aclose()
        return len({p.lease_id for p in theirs} | {late.lease_id}), in_flight

    leases, in_flight = asyncio.run(scenario())
    assert leases >= 2 and in_flight == 4


def test_unused_permits_free_their_places_once_they_linger_out_while_a_call_is_in_flight() -> None:
    async def scenario() -> float:
        account = simulator_account("http://127.0.0.1:9/v1", name="spare", max_concurrency=4)
        gateway = Gateway(account)
        one, other = LeasePool(gateway, 2, None), LeasePool(gateway, 2, None)
        first = await one.permit(10)  # a lease of 2: one permit unused
        taken = [await other.permit(10) for _ in range(2)]
        late = await asyncio.wait_for(other.permit(10), timeout=5)  # only the unused one
        status = await gateway.status()
        for permit in (*taken, late):
            other.done(permit, 10)
        one.done(first, 10)
        await one.aclose()
        await other.aclose()
        return status["in_flight"]

    assert asyncio.run(scenario()) <= 4
