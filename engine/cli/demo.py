"""`autoforge demo`: start everything embedded, check it, then evaluate for real.

1. Start the engine (libSQL file, embedded Redis, local Ray) and the simulated provider,
   and check each service.
2. Create a prompt with two versions and a 50-case dataset, evaluate both versions on two
   simulated models, print the comparison table and the path of the HTML report.

With `--optimize`, step 2 is a baseline run, an optimization and the promoted version
instead (`engine.cli.demo_optimize`).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.aio import run_sync
from engine.cli import output
from engine.db import head_revision, table_names
from engine.runtime import Runtime


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


def _timed(name: str, probe: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail, ok = probe(), True
    except Exception as exc:
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return Check(name, ok, detail, time.perf_counter() - started)


def _check_db(rt: Runtime) -> str:
    assert rt.db is not None
    head = head_revision()
    if rt.schema_revision != head:
        raise RuntimeError(f"database at revision {rt.schema_revision}, code expects {head}")
    tables = len(table_names(rt.db))
    return f"{rt.settings.effective_database_url} at revision {head}, {tables} tables"


def _check_redis(rt: Runtime) -> str:
    info: dict[str, Any] = rt.redis.info("server")
    rt.redis.ping()
    kind = "embedded" if rt.embedded_redis else "external"
    return f"PONG from {kind} redis {info['redis_version']} at {rt.redis_url}"


def _check_ray(rt: Runtime) -> str:
    if rt.executor != "ray":
        return "not started: the actors run in this process (AUTOFORGE_EXECUTOR=ray to use it)"
    import ray

    @ray.remote(num_cpus=0)
    def worker_probe(url: str) -> str:
        import os

        import redis

        client = redis.Redis.from_url(url)
        client.ping()
        return os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP", "unset")

    assert rt.redis_url is not None
    cost_map_flag = ray.get(worker_probe.remote(rt.redis_url), timeout=60)
    cpus = rt.ray_resources.get("CPU", 0)
    return f"{int(cpus)} CPUs; a worker reached Redis; LITELLM_LOCAL_MODEL_COST_MAP={cost_map_flag}"


def _check_simulator(api_base: str) -> str:
    return run_sync(_ask_simulator(api_base))


async def _ask_simulator(api_base: str) -> str:
    import litellm

    response = await litellm.acompletion(
        model="openai/sim-medium",
        messages=[{"role": "user", "content": "What is 12 + 30? Answer with only the number."}],
        api_base=api_base,
        api_key="simulated",
        timeout=10,
    )
    answer = response.choices[0].message.content
    tokens = response.usage.total_tokens
    return f"sim-medium answered {answer!r} to 'What is 12 + 30?' ({tokens} tokens) at {api_base}"


def _out(text: str = "") -> None:
    output.write(text + "\n")


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value * 100:5.1f}%"


def _print_checks(checks: list[Check]) -> None:
    _out("AutoForge Nexus: embedded services")
    for c in checks:
        mark = "ok  " if c.ok else "FAIL"
        _out(f"  [{mark}] {c.name:<10} {c.detail}  ({c.seconds * 1000:.0f} ms)")


def _print_outcome(outcome: Any, elapsed: float) -> None:
    report = outcome.run.summary()
    info = outcome.run.info()
    _out()
    _out(f"Run {outcome.run.id}: {info.status.value}, {info.total_cells} cells in {elapsed:.1f} s")
    if info.error:
        _out(f"  {info.error}")
    _out(f"  {'version':<14}{'model':<20}{'pass rate':>10}  {'95% CI':<15}{'cost':>10}")
    for g in report.groups:
        # a suite without assertions (a promptfoo config that only collects outputs) has no
        # pass rate
        ci = f"{g.pass_ci[0] * 100:4.0f}–{g.pass_ci[1] * 100:3.0f}%" if g.pass_ci else "   –"
        _out(
            f"  {g.version_name or g.prompt_version[:12]:<14}{g.model:<20}{_pct(g.pass_rate):>10}  "
            f"{ci:<14}${g.cost_usd:.4f}"
        )
    _out()
    _out("Version 2 vs version 1 (paired, same cases):")
    for comparison in outcome.comparisons:
        _out(
            f"  {comparison.label_b.split(' on ')[-1]:<20} {_pct(comparison.pass_rate_a)} → "
            f"{_pct(comparison.pass_rate_b)}  {len(comparison.improved)} improved, "
            f"{len(comparison.regressed)} regressed — {comparison.verdict}"
        )
    _out()
    _out(f"HTML report: {outcome.report_path}")


def _logs_for_a_person() -> None:
    """Console lines and only warnings unless configured otherwise: the demo's own lines say
    what the services' info logs would, and JSON lines are for servers and log collectors."""
    from engine.logs import configure_logging
    from engine.settings import load_settings

    settings = load_settings()
    chosen = settings.model_fields_set
    configure_logging(
        settings.log_level if "log_level" in chosen else "WARNING",
        settings.log_format if "log_format" in chosen else "console",
    )


def run_demo(as_json: bool = False, optimize: bool = False) -> int:
    """Check the services, evaluate two prompt versions (or, with ``optimize``, optimize a
    prompt and promote it), print; returns the exit code."""
    from engine.cli.demo_data import MODELS, PROMPT_NAME, SCORERS, V1, V2, demo_cases
    from engine.evaluation.evalfile import PromptVersionSpec
    from engine.sdk import Engine
    from engine.sdk.evalrun import outcome_summary, run_eval

    if not as_json:
        _logs_for_a_person()
    started = time.perf_counter()
    with Engine(simulator=True) as engine:
        rt = engine.runtime
        checks = [
            _timed("database", lambda: _check_db(rt)),
            _timed("redis", lambda: _check_redis(rt)),
            _timed("ray", lambda: _check_ray(rt)),
            _timed("simulator", lambda: _check_simulator(engine.simulator.api_base)),
        ]
        if not as_json:
            _print_checks(checks)
        if not all(c.ok for c in checks):
            if as_json:
                _out(json.dumps({"checks": [c.__dict__ for c in checks]}, indent=2))
            return 1
        if optimize:
            return _optimize(engine, checks, as_json, started)
        versions = [
            PromptVersionSpec(V1["template"], (), V1["message"], {}),
            PromptVersionSpec(
                None,
                (
                    {"role": "system", "content": V2["system"]},
                    {"role": "user", "content": V2["template"]},
                ),
                V2["message"],
                {},
            ),
        ]
        eval_started = time.perf_counter()
        outcome = run_eval(
            engine,
            prompt=PROMPT_NAME,
            versions=versions,
            dataset="demo-cases",
            rows=demo_cases(),
            models=MODELS,
            scorers=SCORERS,
            # A bar redrawn with carriage returns is noise in a file or a pipe.
            progress=not as_json and sys.stderr.isatty(),
        )
        if as_json:
            _out(
                json.dumps(
                    {"checks": [c.__dict__ for c in checks], **outcome_summary(outcome)},
                    indent=2,
                    default=str,
                )
            )
        else:
            _print_outcome(outcome, time.perf_counter() - eval_started)
            _out(f"Done in {time.perf_counter() - started:.1f} s; everything stopped cleanly.")
        return 0 if outcome.run.status == "completed" else 1


def _optimize(engine: Any, checks: list[Check], as_json: bool, started: float) -> int:
    from engine.cli.demo_optimize import optimize_demo, outcome_summary, print_outcome

    outcome = optimize_demo(engine, progress=not as_json and sys.stderr.isatty())
    if as_json:
        summary = {"checks": [c.__dict__ for c in checks], **outcome_summary(outcome)}
        _out(json.dumps(summary, indent=2, default=str))
    else:
        print_outcome(outcome)
        _out(f"Done in {time.perf_counter() - started:.1f} s; everything stopped cleanly.")
    return 0 if outcome.optimization.status in ("completed", "budget-exceeded") else 1
