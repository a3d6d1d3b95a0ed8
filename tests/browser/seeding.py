"""A recorded run of any size, written straight into an engine's stores: a prompt with two
versions, a dataset, and every cell of versions × models × cases (seeded, deterministic).
Shared by the browser tests and `bench/viewer.py`."""

from __future__ import annotations

import random
from dataclasses import dataclass

from domain.evaluation import RunSpec
from domain.evaluation.rows import ResultRow
from domain.evaluation.run import RunStatus
from engine.evaluation.runs import RunStore
from engine.sdk import Engine

SCORERS = ({"type": "icontains", "name": "icontains", "args": {}},)


@dataclass(frozen=True)
class Seeded:
    run_id: str
    prompt: str
    versions: tuple[str, str]
    models: tuple[str, ...]
    cases: int


def seed_run(
    engine: Engine,
    *,
    cases: int,
    models: tuple[str, ...] = ("openai/sim-small", "openai/sim-large"),
    prompt: str = "capitals",
    seed: int = 7,
) -> Seeded:
    """Record a completed run of 2 versions × ``models`` × ``cases`` cells for the engine's
    owner. Version 2 fixes some of version 1's failures and breaks a few of its passes."""
    rng = random.Random(seed)
    created = engine.prompts.create(prompt, "Capital of {{country}}?", message="first try")
    second = engine.prompts.commit(
        prompt, "Name the capital city of {{country}}. One word.", message="be terse"
    )
    versions = (created.head, second.id)
    dataset = f"{prompt}-cases"
    engine.datasets.create(dataset)
    rows = [
        {"id": f"case-{i:05d}", "vars": {"country": f"Country {i}"}, "expected": f"City{i}"}
        for i in range(cases)
    ]
    version = engine.datasets.add(dataset, rows)
    runs = RunStore(engine.runtime.db)
    spec = RunSpec(created.id, versions, models, version.id, tuple(r["id"] for r in rows), SCORERS)
    run = runs.create(engine.owner, spec, name=f"{prompt} seeded")
    cells: list[ResultRow] = []
    for i, row in enumerate(rows):
        base_pass = rng.random() < 0.7
        for v, version_id in enumerate(versions):
            for m, model in enumerate(models):
                passed = base_pass if v == 0 else (base_pass or rng.random() < 0.5)
                if v == 1 and base_pass and rng.random() < 0.05:
                    passed = False
                errored = rng.random() < 0.01
                output = f"City{i}" if passed else f"I think it is Town{i}"
                cells.append(
                    ResultRow(
                        run_id=run.id,
                        prompt_version=version_id,
                        model=model,
                        case_id=str(row["id"]),
                        output=None if errored else output,
                        passed=None if errored else passed,
                        score=None if errored else float(passed),
                        scores={} if errored else {"icontains": float(passed)},
                        reasons={}
                        if errored or passed
                        else {"icontains": f"output does not contain 'City{i}'"},
                        latency_ms=40.0 + 10 * m + rng.random() * 20,
                        prompt_tokens=12,
                        completion_tokens=4,
                        cost_usd=0.00001 * (1 + m),
                        error="provider timed out after 30 s" if errored else None,
                        cached=rng.random() < 0.1,
                        attempts=1,
                        model_used=model,
                    )
                )
    for start in range(0, len(cells), 2000):
        runs.record(cells[start : start + 2000])
    runs.set_status(run.id, RunStatus.RUNNING)
    runs.set_status(run.id, RunStatus.COMPLETED)
    return Seeded(run.id, prompt, versions, models, cases)
