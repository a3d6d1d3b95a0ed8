"""`Slots`: the per-run limit of cells at once inside an evaluator."""

from __future__ import annotations

import asyncio

import pytest

from engine.evaluation.cell_runner import Slots


def test_never_more_holders_than_slots_and_first_come_first_served() -> None:
    async def scenario() -> tuple[int, list[int]]:
        slots = Slots(3)
        holding = peak = 0
        order: list[int] = []

        async def cell(i: int) -> None:
            nonlocal holding, peak
            async with slots:
                order.append(i)
                holding += 1
                peak = max(peak, holding)
                await asyncio.sleep(0.001 * (i % 4))
                holding -= 1

        await asyncio.gather(*(cell(i) for i in range(50)))
        return peak, order

    peak, order = asyncio.run(scenario())
    assert peak == 3
    assert order == list(range(50))


def test_a_cancelled_waiter_gives_up_its_place_and_loses_no_slot() -> None:
    async def scenario() -> list[str]:
        slots = Slots(1)
        done: list[str] = []
        release = asyncio.Event()

        async def holder() -> None:
            async with slots:
                await release.wait()
                done.append("holder")

        async def waiter(name: str) -> None:
            async with slots:
                done.append(name)

        first = asyncio.create_task(holder())
        await asyncio.sleep(0)
        doomed = asyncio.create_task(waiter("doomed"))
        later = asyncio.create_task(waiter("later"))
        await asyncio.sleep(0)
        doomed.cancel()
        release.set()
        await asyncio.gather(first, later)
        with pytest.raises(asyncio.CancelledError):
            await doomed
        async with slots:  # the slot is back
            done.append("after")
        return done

    assert asyncio.run(scenario()) == ["holder", "later", "after"]


def test_zero_slots_is_refused() -> None:
    with pytest.raises(ValueError, match="slots must be >= 1"):
        Slots(0)
