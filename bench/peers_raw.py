"""Peer runner: a raw aiohttp loop, ``--concurrency`` requests at once (a semaphore).

    .venv/bin/python bench/peers_raw.py --api-base http://127.0.0.1:PORT/v1 --cells 1000 \
        --concurrency 32

A 429 is retried after the server's ``retry-after-ms`` (else ``Retry-After``), up to
`MAX_ATTEMPTS` requests per cell, as a careful hand-written client does; it knows no limit
in advance. Prints one JSON line: cells, errors, passed, attempts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from peers_workload import MODEL, emit, rendered, runner_parser

MAX_ATTEMPTS = 10


def _retry_after_s(headers: Any) -> float:
    if "retry-after-ms" in headers:
        return float(headers["retry-after-ms"]) / 1000
    return float(headers.get("Retry-After", 1))


async def run(api_base: str, cells: int, concurrency: int) -> dict[str, Any]:
    gate = asyncio.Semaphore(concurrency)
    url = f"{api_base}/chat/completions"
    counts = {"errors": 0, "passed": 0, "attempts": 0}
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def cell(session: aiohttp.ClientSession, i: int) -> None:
        body = {"model": MODEL, "messages": [{"role": "user", "content": rendered(i)}]}
        async with gate:
            for _ in range(MAX_ATTEMPTS):
                counts["attempts"] += 1
                try:
                    async with session.post(url, json=body) as response:
                        if response.status == 429:
                            wait = _retry_after_s(response.headers)
                        elif response.status == 200:
                            answer = (await response.json())["choices"][0]["message"]["content"]
                            counts["passed"] += str(i + 1) in (answer or "")
                            return
                        else:
                            break
                except aiohttp.ClientError:
                    break
                await asyncio.sleep(wait)
            counts["errors"] += 1

    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(cell(session, i) for i in range(cells)))
    return {"runner": "raw", "cells": cells, **counts}


def main() -> None:
    args = runner_parser("A raw aiohttp loop against the simulator.").parse_args()
    emit(asyncio.run(run(args.api_base, args.cells, args.concurrency)))


if __name__ == "__main__":
    main()
