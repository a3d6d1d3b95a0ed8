"""Optimization benchmark: every task family × optimizer against the simulator (issue 12).

    .venv/bin/python bench/optimize.py [--families arithmetic,...] [--optimizers gepa,...]
        [--max-metric-calls 500] [--model openai/sim-small] [--seed 0] [--cases 120]
        [--latency-ms 0] [--concurrency 32] [--minibatch 8]
        [--with-dspy /path/to/dspy-venv/bin/python] [--json]

For each family of ``engine.simulator._families.FAMILIES`` (its cases, template, naive
baseline system, scorers) and each optimizer, one ``engine.optimize`` on a fresh engine
(fresh data dir, so no optimizer reuses another's cached answers) against one simulator
process (``simulator_subprocess``, as the other benches), with the same model, seed, split,
minibatch, concurrency and ``max_metric_calls``. Per row:

- baseline / optimized: the optimization's own test-split scores of the baseline and of its
  best candidate (``report_data()["test"]``);
- optimum: the test-split score of ``Family.optimum_system()`` with the same model, measured
  by an ordinary ``engine.evaluate`` run on the same test cases (the baseline is run beside
  it: its score must equal the optimization's baseline, else the row says so);
- % of optimum = 100 × optimized / optimum; % gap closed = 100 × (optimized − baseline) /
  (optimum − baseline);
- metric calls, reflection calls, test calls, cost: the optimization's own counters
  (``OptimizationInfo``); wall: ``optimize()`` to ``wait()`` returning, test split included;
- ideal (with ``--latency-ms``): (metric calls + test calls) × the model's latency ÷
  concurrency, the least wall time the calls could take (target: wall ≤ 2× ideal).

Then the mean of each number per optimizer and the ``gepa − random`` gap. ``--with-dspy``
runs ``bench/optimize_dspy.py`` (dspy.GEPA) with that python on the same split, budget,
model and reflection model, and prints its row beside ours.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from optimize_report import DSPY, Row, averages, gaps, render_table, row_from_dict  # noqa: E402
from peers import _get, _last_json_line  # noqa: E402

BENCH = Path(__file__).resolve().parent
OPTIMIZERS = ("gepa", "fewshot", "random")
REFLECTION_MODEL = "openai/sim-reflector"
SPLIT = (0.5, 0.25, 0.25)
TASK_PARAMS = {"temperature": 0}
"""What the optimization loop's evaluation runs send (``engine.optimization.loop``): the
known-optimum run and the DSPy side send the same, so all three ask identical requests."""
DSPY_TIMEOUT_S = 1800


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from engine.simulator._families import FAMILIES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated")
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS), help="comma-separated")
    parser.add_argument("--max-metric-calls", type=int, default=500)
    parser.add_argument("--model", default="openai/sim-small")
    parser.add_argument("--reflection-model", default=REFLECTION_MODEL)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", type=int, default=120, help="cases per family (all splits)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="the simulator's latency")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight, both sides")
    parser.add_argument("--minibatch", type=int, default=8)
    parser.add_argument(
        "--parallel",
        type=int,
        default=None,
        help="candidates per generation (K; default the SDK's: one per call in flight, ≤ 32)",
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=None,
        help="generations without a new best before a loop stops (default: --max-metric-calls, "
        "which binds only on generations that spend no call)",
    )
    parser.add_argument(
        "--timeout-s", type=float, default=1800.0, help="then cancel the optimization"
    )
    parser.add_argument("--with-dspy", metavar="PYTHON", default=None, help="a venv's python")
    parser.add_argument(
        "--dspy-proposer",
        choices=("dspy", "gepa"),
        default="dspy",
        help="optimize_dspy.py --proposer: dspy.GEPA's default, or the gepa package's template",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--table-from",
        type=Path,
        default=None,
        help="print the table of a saved --json; run nothing",
    )
    options = parser.parse_args(argv)
    options.families = [f for f in options.families.split(",") if f]
    options.optimizers = [o for o in options.optimizers.split(",") if o]
    unknown = sorted(set(options.families) - set(FAMILIES))
    unknown += sorted(set(options.optimizers) - set(OPTIMIZERS))
    if unknown:
        parser.error(f"unknown family or optimizer: {', '.join(unknown)}")
    return options


@contextlib.contextmanager
def fresh_engine(api_base: str, concurrency: int) -> Iterator[Any]:
    """An engine on a new data dir, its catalogue the simulator's (account limit = C)."""
    from engine import Engine
    from engine.llm import simulator_catalogue

    with (
        tempfile.TemporaryDirectory(prefix="af-bench-opt-") as data,
        Engine(data_dir=Path(data)) as engine,
    ):
        engine.use_catalogue(simulator_catalogue(api_base, max_concurrency=concurrency))
        yield engine


def load_family(engine: Any, family: Any, options: argparse.Namespace) -> tuple[str, str]:
    """The family's baseline prompt and its cases as a dataset; their names."""
    name = f"bench-{family.name}"
    engine.prompts.create(name, family.template, system=family.system or None)
    engine.datasets.create(name)
    engine.datasets.add(name, family.cases(options.cases, options.seed))
    return name, name


def effective_latency_ms(model: str, latency_ms: float) -> float:
    """What one call to ``model`` takes at the simulator's ``latency_ms``."""
    from engine.simulator import SIMULATED_MODELS

    return latency_ms * SIMULATED_MODELS[model.removeprefix("openai/")].latency_factor


def ideal_s(calls: int | None, options: argparse.Namespace) -> float | None:
    if not options.latency_ms or calls is None:
        return None
    concurrency: int = options.concurrency
    return calls * effective_latency_ms(options.model, options.latency_ms) / 1000 / concurrency


def served(url: str) -> dict[str, int]:
    by_model: dict[str, int] = _get(f"{url}/stats")["by_model"]
    return by_model


def optimize_once(
    url: str, family: Any, optimizer: str, options: argparse.Namespace
) -> tuple[Row, dict[str, Any]]:
    """One optimization on a fresh engine: its row and its report data."""
    from domain.errors import ServiceUnavailableError

    with fresh_engine(f"{url}/v1", options.concurrency) as engine:
        prompt, dataset = load_family(engine, family, options)
        _get(f"{url}/stats/reset", "POST")
        started, cpu = time.perf_counter(), time.process_time()
        # the SDK's service, for ``patience`` (see --patience); otherwise `Engine.optimize`
        optimization = engine.optimizations_service.optimize(
            prompt,
            dataset,
            [options.model],
            list(family.scorers),
            optimizer=optimizer,
            reflection_model=options.reflection_model,
            max_metric_calls=options.max_metric_calls,
            split=SPLIT,
            minibatch=options.minibatch,
            seed=options.seed,
            concurrency=options.concurrency,
            parallel=options.parallel,
            patience=options.patience or options.max_metric_calls,
        )
        try:
            info = optimization.wait(progress=False, timeout=options.timeout_s)
        except ServiceUnavailableError:  # reason="timeout": stop it, keep what it reached
            info = optimization.cancel().wait(progress=False, timeout=60)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu  # every thread: loop, scheduler, evaluators, recorder
        data = optimization.report_data()
    test = data.get("test") or {}
    best = (data.get("diff") or {}).get("best") or {}
    calls, test_calls = info.calls, info.test_calls
    row = Row(
        family=family.name,
        optimizer=optimizer,
        baseline=test.get("baseline_score"),
        optimized=test.get("best_score"),
        optimum=None,
        metric_calls=calls,
        reflection_calls=info.reflection_calls,
        test_calls=test_calls,
        cost_usd=info.cost_usd,
        wall_s=wall,
        ideal_s=ideal_s(calls + (test_calls or 0), options),
        requests=served(url),
        status=str(getattr(info.status, "value", info.status)),
        best_system=str(best.get("system", "")),
        extra={
            "candidates": info.candidates,
            "generations": info.generation,
            "cpu_s": round(cpu, 3),
            "optimization_id": info.id,
        },
    )
    return row, data


def mean_score(run: Any, version_id: str) -> float:
    """Mean score of one version's cells in a finished run (an errored cell scores 0)."""
    scores = [r.score or 0.0 for r in run.records() if r.prompt_version == version_id]
    return statistics.fmean(scores) if scores else 0.0


def known_optimum(
    url: str, family: Any, test_ids: list[str], options: argparse.Namespace
) -> dict[str, float]:
    """Test-split scores of the baseline and of ``optimum_system()``: one ordinary run."""
    with fresh_engine(f"{url}/v1", options.concurrency) as engine:
        prompt, dataset = load_family(engine, family, options)
        base = engine.prompts.head(prompt)
        engine.prompts.branch(prompt, "optimum")
        optimum = engine.prompts.commit(
            prompt,
            family.template,
            system=family.optimum_system(),
            branch="optimum",
            message="the family's known optimum (benchmark only)",
        )
        run = engine.evaluate(
            prompt=prompt,
            dataset=dataset,
            models=[options.model],
            scorers=list(family.scorers),
            versions=["main", "optimum"],
            cases=test_ids,
            seed=options.seed,
            concurrency=options.concurrency,
            params=TASK_PARAMS,
        )
        run.wait(progress=False)
        return {"baseline": mean_score(run, base.id), "optimum": mean_score(run, optimum.id)}


def split_of(family: Any, options: argparse.Namespace) -> dict[str, list[str]]:
    """Case ids of the train, validation and test splits every optimization of ``family``
    uses: the loop's own seeded split (`domain.optimization.config.split_cases`)."""
    from domain.optimization.config import split_cases

    ids = [c["id"] for c in family.cases(options.cases, options.seed)]
    return split_cases(ids, SPLIT, options.seed).to_dict()


def check_test_cases(row: Row, data: dict[str, Any], split: dict[str, list[str]]) -> Row:
    """``row``, noted if the optimization's reported test cases are not ``split["test"]``."""
    from dataclasses import replace

    reported = sorted(c["case_id"] for c in (data.get("test") or {}).get("cases", []))
    if reported == sorted(split["test"]):
        return row
    return replace(row, extra={**row.extra, "split_mismatch": f"{len(reported)} test cases"})


def dspy_cases(
    family: Any, split: dict[str, list[str]], api_base: str, options: argparse.Namespace
) -> dict[str, Any]:
    """What ``bench/optimize_dspy.py`` reads: the split with every case's rendered user message."""
    from engine.prompts.inputs import as_template

    template = as_template(family.template, family.system or None)
    by_id = {c["id"]: c for c in family.cases(options.cases, options.seed)}

    def case(case_id: str) -> dict[str, Any]:
        row = by_id[case_id]
        messages = template.render(row["variables"]).as_dicts()
        user = [m["content"] for m in messages if m["role"] == "user"][-1]
        return {**row, "user": user}

    return {
        "api_base": api_base,
        "model": options.model,
        "reflection_model": options.reflection_model,
        "system": family.system,
        "optimum_system": family.optimum_system(),
        "template": family.template,
        "scorers": [s if isinstance(s, str) else s.get("type") for s in family.scorers],
        "max_metric_calls": options.max_metric_calls,
        "minibatch": options.minibatch,
        "seed": options.seed,
        "request_seed": options.seed,
        "temperature": TASK_PARAMS["temperature"],
        "concurrency": options.concurrency,
        **{k: [case(i) for i in ids] for k, ids in split.items()},
    }


def run_dspy(
    url: str, family: Any, split: dict[str, list[str]], options: argparse.Namespace
) -> Row:
    """``bench/optimize_dspy.py`` in the bench-only venv, on our split: its row."""
    spec = dspy_cases(family, split, f"{url}/v1", options)
    with tempfile.TemporaryDirectory(prefix="af-bench-dspy-") as tmp:
        path = Path(tmp) / "cases.json"
        path.write_text(json.dumps(spec))
        log = Path(tmp) / "dspy.log"
        _get(f"{url}/stats/reset", "POST")
        started = time.perf_counter()
        with log.open("w") as stderr:
            done = subprocess.run(
                [
                    options.with_dspy,
                    str(BENCH / "optimize_dspy.py"),
                    *("--cases", str(path), "--proposer", options.dspy_proposer),
                ],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
                timeout=DSPY_TIMEOUT_S,
                check=False,
            )
        process_wall = time.perf_counter() - started
        line = _last_json_line(done.stdout)
        if done.returncode or line is None:
            tail = log.read_text()[-3000:]
            sys.stderr.write(f"optimize_dspy.py failed (exit {done.returncode}):\n{tail}\n")
            return failed_row(family.name, DSPY, f"exit {done.returncode}")
    rollouts, reflections = line["metric_calls"], line["reflection_calls"]
    return Row(
        family=family.name,
        optimizer=DSPY,
        baseline=line["baseline_test_score"],
        optimized=line["optimized_test_score"],
        optimum=None,
        metric_calls=rollouts + reflections,
        reflection_calls=reflections,
        test_calls=line["test_calls"],
        cost_usd=None,
        wall_s=line["wall_s"],
        ideal_s=ideal_s(rollouts + reflections + line["test_calls"], options),
        requests=served(url),
        best_system=line["best_instruction"],
        extra={
            "rollouts": rollouts,
            "gepa_metric_calls": line["gepa_metric_calls"],
            "candidates": line["candidates"],
            "process_wall_s": process_wall,
            "versions": line["versions"],
            "proposer": line["proposer"],
            "dspy_optimum": line["optimum_test_score"],
        },
    )


def with_optimum(row: Row, scores: dict[str, float]) -> Row:
    from dataclasses import replace

    note = {}
    if row.baseline is not None and abs(row.baseline - scores["baseline"]) > 1e-9:
        note["baseline_mismatch"] = f"ordinary run says {scores['baseline']:.3f}"
    theirs = row.extra.get("dspy_optimum")
    if theirs is not None and abs(theirs - scores["optimum"]) > 1e-9:
        note["optimum_mismatch"] = f"ordinary run says {scores['optimum']:.3f}"
    return replace(row, optimum=scores["optimum"], extra={**row.extra, **note})


def failed_row(family: str, optimizer: str, why: str) -> Row:
    nothing: dict[str, Any] = dict.fromkeys(
        ("baseline", "optimized", "optimum", "metric_calls", "reflection_calls", "test_calls")
    )
    return Row(family, optimizer, **nothing, cost_usd=None, wall_s=None, status=f"failed: {why}")


def bench_family(url: str, name: str, options: argparse.Namespace) -> list[Row]:
    from domain.errors import NexusError
    from engine.simulator._families import FAMILIES

    family = FAMILIES[name]
    split = split_of(family, options)
    rows = []
    for optimizer in options.optimizers:
        try:
            row, data = optimize_once(url, family, optimizer, options)
            row = check_test_cases(row, data, split)
        except (NexusError, OSError) as exc:  # one broken optimizer must not lose the others
            sys.stderr.write(f"{name} {optimizer} not measured: {exc!r}\n")
            row = failed_row(name, optimizer, type(exc).__name__)
        sys.stderr.write(f"{name} {optimizer}: {json.dumps(row.to_dict())}\n")
        rows.append(row)
    scores = known_optimum(url, family, split["test"], options)
    rows = [with_optimum(r, scores) for r in rows]
    if options.with_dspy:
        rows.append(with_optimum(run_dspy(url, family, split, options), scores))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    from engine.simulator import SimulatorConfig, simulator_subprocess

    options = parse_args(argv)
    if options.table_from is not None:
        saved = json.loads(options.table_from.read_text())
        sys.stdout.write(render_table([row_from_dict(r) for r in saved["rows"]], saved["meta"]))
        return 0
    load_before = os.getloadavg()
    rows: list[Row] = []
    with simulator_subprocess(SimulatorConfig(latency_ms=options.latency_ms, seed=0)) as url:
        for name in options.families:
            rows += bench_family(url, name, options)
    meta = {
        "model": options.model,
        "reflection model": options.reflection_model,
        "max_metric_calls": options.max_metric_calls,
        "cases": options.cases,
        "split": "/".join(str(x) for x in SPLIT),
        "minibatch": options.minibatch,
        "concurrency": options.concurrency,
        "seed": options.seed,
        "parallel": options.parallel or "default",
        "patience": options.patience or options.max_metric_calls,
        "latency_ms": options.latency_ms,
        "load average before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    if options.json:
        document = {
            "meta": meta,
            "rows": [r.to_dict() for r in rows],
            "averages": averages(rows),
            "gap": gaps(rows),
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(render_table(rows, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
