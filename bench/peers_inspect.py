"""Peer runner: Inspect AI, where it is installed (a bench-only env; never our dependency).

    /path/to/inspect-env/bin/python bench/peers_inspect.py --api-base http://127.0.0.1:PORT/v1 \
        --cells 1000 --concurrency 32

One task: a sample per case, ``generate()``, the ``includes()`` scorer; model
``openai-api/peers/sim-medium`` at ``--api-base``; ``max_connections`` and ``max_samples``
= C; Inspect's default retries. Prints one JSON line: cells, errors (samples that ended in
an error), passed.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from peers_workload import MODEL, emit, rendered, runner_parser


def run(api_base: str, cells: int, concurrency: int) -> dict[str, Any]:
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import includes
    from inspect_ai.solver import generate

    # openai-api/<service>/… is Inspect's chat-completions client (openai/… speaks Responses)
    os.environ["PEERS_BASE_URL"] = api_base
    os.environ.setdefault("PEERS_API_KEY", "x")
    samples = [Sample(input=rendered(i), target=str(i + 1), id=i) for i in range(cells)]
    task = Task(dataset=samples, solver=generate(), scorer=includes())
    (log,) = eval(
        task,
        model=f"openai-api/peers/{MODEL}",
        max_connections=concurrency,
        max_samples=concurrency,
        display="none",
        log_dir=tempfile.mkdtemp(prefix="af-peers-inspect-"),
        fail_on_error=False,
    )
    samples_out = log.samples or []
    errors = sum(s.error is not None for s in samples_out) + cells - len(samples_out)
    passed = sum(
        any(score.value == "C" for score in (s.scores or {}).values()) for s in samples_out
    )
    return {"runner": "inspect", "cells": cells, "errors": errors, "passed": passed}


def main() -> None:
    args = runner_parser("Inspect AI against the simulator.").parse_args()
    emit(run(args.api_base, args.cells, args.concurrency))


if __name__ == "__main__":
    main()
