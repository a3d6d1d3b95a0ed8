"""Peer runner: a plain ``litellm.acompletion`` loop, ``--concurrency`` calls at once.

    .venv/bin/python bench/peers_litellm.py --api-base http://127.0.0.1:PORT/v1 --cells 1000 \
        --concurrency 32 [--num-retries N]

Without ``--num-retries`` LiteLLM's default applies (what a user who sets nothing gets);
a call that raises counts as an error. Prints one JSON line: cells, errors, passed.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from typing import Any

from peers_workload import MODEL, emit, rendered, runner_parser

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


async def run(
    api_base: str, cells: int, concurrency: int, num_retries: int | None
) -> dict[str, Any]:
    import litellm

    litellm.suppress_debug_info = True
    gate = asyncio.Semaphore(concurrency)
    retries = {} if num_retries is None else {"num_retries": num_retries}
    failures: Counter[str] = Counter()
    passed = 0

    async def cell(i: int) -> None:
        nonlocal passed
        async with gate:
            try:
                response = await litellm.acompletion(
                    model=f"openai/{MODEL}",
                    api_base=api_base,
                    api_key="x",
                    messages=[{"role": "user", "content": rendered(i)}],
                    **retries,
                )
            except Exception as exc:  # every failure is an errored cell, by its type
                failures[type(exc).__name__] += 1
                return
            passed += str(i + 1) in (response.choices[0].message.content or "")

    await asyncio.gather(*(cell(i) for i in range(cells)))
    return {
        "runner": "litellm",
        "cells": cells,
        "errors": sum(failures.values()),
        "error_kinds": dict(failures),
        "passed": passed,
        "num_retries": "litellm default" if num_retries is None else num_retries,
    }


def main() -> None:
    parser = runner_parser("A plain litellm.acompletion loop against the simulator.")
    parser.add_argument("--num-retries", type=int, default=None)
    args = parser.parse_args()
    emit(asyncio.run(run(args.api_base, args.cells, args.concurrency, args.num_retries)))


if __name__ == "__main__":
    main()
