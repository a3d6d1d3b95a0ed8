"""Sync SDK calls that need a coroutine, safe under a caller's running event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion and return its result, from synchronous code.

    Jupyter (and any ``async def`` caller of the sync SDK) already runs a loop in this
    thread, where `asyncio.run` refuses to start; the coroutine then gets a private loop in
    a worker thread, and the caller's loop is blocked only for as long as it runs.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="autoforge-sync") as pool:
        return pool.submit(asyncio.run, coroutine).result()
