"""`run_sync`: a coroutine from sync code, with or without a running loop in the thread."""

from __future__ import annotations

import asyncio

from engine.aio import run_sync


async def _loop_id() -> int:
    return id(asyncio.get_running_loop())


def test_without_a_running_loop_it_runs_the_coroutine() -> None:
    assert run_sync(_loop_id()) > 0


async def test_under_a_running_loop_it_uses_a_private_one() -> None:
    assert run_sync(_loop_id()) != id(asyncio.get_running_loop())
