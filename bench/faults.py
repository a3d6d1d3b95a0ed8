"""Fault benchmark of issue 9: each reliability fault injected into a live >= 1,000-cell run.

    .venv/bin/python bench/faults.py [--cells 1000] [--only 11-redis] [--timeout 120] [--json]

Each scenario gets a fresh data dir, its own simulator subprocess (seeded, fixed latency, no
rate limit and no injected 429/5xx, so every repeated provider request is the engine's doing)
and a driver process (`faults_driver.py`: the SDK, `cache=False`). The fault is injected once
a fraction of the cells is recorded in the database (polled, never a blind sleep). Columns:

- expected / recorded / dup / missing: cells of the run; recorded counts distinct cell keys,
  dup the rows beyond the first per key (``GROUP BY`` the key), missing = expected - recorded.
- req>rec: provider requests for already-recorded cells: chat requests that reached the
  simulator at or after the time their cell's result row was written (`results.recorded_at`;
  the simulator logs each request's arrival and `request_key(model, prompt)`, and every cell
  renders a distinct prompt). The engine promises 0.
- repeat: requests beyond the first per cell, recorded or not (paid re-work, e.g. a result
  lost before it was recorded); requests: every chat request the simulator received.
- result: ``completed in S s`` counts wall time from the fault to the run's end **without a
  manual resume** (14 and 15 resume by design: from the call to resume), ``stuck (status=…)``
  once ``--timeout`` has passed after the injection (or the resume) returned, or as soon as no
  driver is left to move the run on; ``OK``/``FAULT`` says whether the run ended as the issue
  expects (9-cancel: ``cancelled``; every other: ``completed`` with 0 missing) with 0 dup and
  0 req>rec, and the scenario's own condition held (9: the driver survived; 13: every key of
  the run expires; 14: the new process sees no ``failed``/traceback; 15: the cap stopped it).

Faults: 9-show / 9-cancel (a second CLI process on the data dir), 10-scheduler (`ray.kill`
with restart), 11-redis (SIGKILL), 12-db-outage (``BEGIN EXCLUSIVE`` held ``--outage-s``),
13-streams (Redis keys of a completed run, their bytes and TTLs), 14-driver-kill (SIGKILL of
the driver, then ``resume`` from a new process), 15-budget (cap at ~40% of the estimated cost,
cells recorded past it, then ``resume(run_id, budget=10 x cap)``).

Exit code 0 whatever the faults show: it is a measurement. Everything started is stopped
(``--keep-data`` keeps the data dirs and driver logs for a look afterwards).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from faults_metrics import (
    FaultResult,
    format_table,
    one_line,
    over_cap,
    redis_footprint,
)
from faults_process import DriverProcess, run_cli
from faults_scenario import Options, Scenario

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def second_process(s: Scenario, *commands: list[str]) -> None:
    for command in commands:
        code, last = run_cli(command, s.data, s.opts.timeout)
        s.result.extra[f"`{' '.join(command[:2])}`"] = f"exit {code}: {last}"


def fault_9_show(s: Scenario) -> None:
    s.start_run()
    since = time.monotonic()
    second_process(s, ["run", "list"], ["run", "show", s.run_id])
    s.await_end(since)


def fault_9_cancel(s: Scenario) -> None:
    s.start_run()
    since = time.monotonic()
    second_process(s, ["run", "cancel", s.run_id])
    s.await_end(since, "cancelled")
    s.verdict = not s.drivers[0].error


def fault_10_scheduler(s: Scenario) -> None:
    driver = s.start_run()
    since = time.monotonic()
    driver.send("kill-scheduler")
    driver.wait_event("ack", 30)
    s.await_end(since)


def fault_11_redis(s: Scenario) -> None:
    driver = s.start_run()
    since = time.monotonic()
    driver.send("kill-redis")
    s.await_end(since)


def fault_12_db_outage(s: Scenario) -> None:
    s.start_run()
    locked = threading.Event()

    def hold() -> None:
        # Through the engine's own driver: libSQL and stdlib sqlite do not see each other's locks.
        import libsql_experimental

        conn = libsql_experimental.connect(str(s.observer.path), isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            locked.set()
            time.sleep(s.opts.outage_s)  # the outage itself: the lock is held this long
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    took_lock = locked.wait(60)
    since = time.monotonic()
    s.result.extra["outage_s"] = s.opts.outage_s if took_lock else "lock not taken in 60 s"
    s.await_end(since)
    holder.join()


def fault_13_streams(s: Scenario) -> None:
    driver = s.start_run(fraction=0.0)
    since = time.monotonic()
    if s.await_end(since) != "completed":
        return
    driver.send("inspect-redis")
    footprint = driver.wait_event("redis", 30)
    keys = footprint["keys"] if footprint else []
    groups = redis_footprint(keys, s.run_id)
    forever = sum(g["without_ttl"] for g in groups)
    s.result.extra["redis_bytes"] = sum(g["bytes"] for g in groups)
    for g in groups:
        s.result.extra[g["pattern"]] = (
            f"{g['keys']} keys, {g['entries']} entries, {g['bytes']} B, "
            f"{g['without_ttl']} without TTL, longest TTL {g['max_ttl_s']} s"
        )
    s.verdict = bool(keys) and forever == 0
    s.result.outcome += f"; {forever}/{len(keys)} run keys without TTL"


def resumed(s: Scenario, driver: DriverProcess, event: str) -> bool:
    """Whether the driver's resume was accepted; the run's old, terminal status says nothing
    about the resume until then."""
    if driver.wait_event(event, s.opts.startup_timeout) is not None:
        return True
    s.result.final_status = s.observer.status(s.run_id)[0]
    s.result.outcome = f"resume refused (status={s.result.final_status}): {driver.last_words()}"
    return False


def fault_14_driver_kill(s: Scenario) -> None:
    first = s.start_run()
    first.kill()
    successor = s.driver("--resume", s.run_id)
    before = successor.wait_event("before-resume", s.opts.startup_timeout) or {}
    since = time.monotonic()
    seen = str(before.get("status"))
    s.result.extra["status_before_resume"] = seen
    error = str(before.get("error") or "")
    s.result.extra["error_before_resume"] = one_line(error) or None
    s.result.extra["traceback_before_resume"] = "Traceback" in error or 'File "' in error
    if resumed(s, successor, "run"):
        s.await_end(since)
    s.verdict = seen != "failed" and not s.result.extra["traceback_before_resume"]


def fault_15_budget(s: Scenario) -> None:
    cap = round(estimated_cost(s.opts.cells) * 0.4, 6)
    driver = s.start_run("--budget", str(cap), fraction=0.0)
    s.await_end(time.monotonic(), "budget-exceeded")
    over, overspend = over_cap(s.observer.costs_in_order(s.run_id), cap)
    stopped = s.result.final_status
    s.result.extra.update(
        cap_usd=cap, stopped_as=stopped, recorded_at_stop=s.observer.recorded(s.run_id),
        cells_over_cap=over, usd_over_cap=round(overspend, 6),
    )  # fmt: skip
    since = time.monotonic()
    driver.send(f"resume {cap * 10}")
    if resumed(s, driver, "resumed"):
        s.await_end(since)
    s.verdict = stopped == "budget-exceeded"


def estimated_cost(cells: int) -> float:
    """The run's cost from the simulator's prices and token estimate (2 output tokens)."""
    from faults_driver import MODELS, TEMPLATES

    from engine.simulator import SIMULATED_MODELS

    total = 0.0
    for model in MODELS:
        price = SIMULATED_MODELS[model.removeprefix("openai/")]
        for template in TEMPLATES:
            tokens_in = len(template) // 4 + 1
            per_cell = tokens_in * price.input_cost_per_token + 2 * price.output_cost_per_token
            total += per_cell * cells / (len(MODELS) * len(TEMPLATES))
    return total


FAULTS: dict[str, tuple[str, str, Callable[[Scenario], None]]] = {
    "9-show": ("`run list` + `run show` from a second process", "completed", fault_9_show),
    "9-cancel": ("`run cancel` from a second process", "cancelled", fault_9_cancel),
    "10-scheduler": ("RunScheduler killed, Ray restarts it", "completed", fault_10_scheduler),
    "11-redis": ("embedded redis-server SIGKILLed", "completed", fault_11_redis),
    "12-db-outage": ("DB held by BEGIN EXCLUSIVE for the outage", "completed", fault_12_db_outage),
    "13-streams": ("Redis left behind by a completed run", "completed", fault_13_streams),
    "14-driver-kill": ("driver SIGKILLed, new process resumes", "completed", fault_14_driver_kill),
    "15-budget": ("budget stop, then resume(budget=10x)", "completed", fault_15_budget),
}


@contextlib.contextmanager
def scenario(opts: Options, name: str) -> Iterator[Scenario]:
    from engine.simulator import SimulatorConfig, simulator_subprocess

    description, expected, _ = FAULTS[name]
    result = FaultResult(fault=name, description=description, expected_status=expected)
    data = Path(tempfile.mkdtemp(prefix="af-faults-"))
    try:
        config = SimulatorConfig(latency_ms=opts.latency_ms, seed=7)
        with simulator_subprocess(config) as url:
            s = Scenario(opts, result, data, url)
            try:
                yield s
            finally:
                s.close()
    finally:
        if opts.keep_data:
            print(f"{name}: data dir and driver logs kept in {data}", file=sys.stderr)
        else:
            shutil.rmtree(data, ignore_errors=True)


def run_fault(opts: Options, name: str) -> FaultResult:
    started = time.monotonic()
    with scenario(opts, name) as s:
        try:
            FAULTS[name][2](s)
        except Exception as exc:  # a scenario that breaks is a row, not a crash
            s.result.extra["bench_error"] = one_line(exc, 200)
            s.result.outcome = s.result.outcome or "not measured (see bench_error)"
        if s.run_id:
            with contextlib.suppress(Exception):
                s.measure()
    s.result.extra["scenario_s"] = round(time.monotonic() - started, 1)
    return s.result


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=1000, help="cells per run (multiple of 4)")
    parser.add_argument("--only", action="append", choices=sorted(FAULTS), help="repeatable")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds from the fault")
    parser.add_argument("--startup-timeout", type=float, default=300.0, help="driver up, run live")
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--fraction", type=float, default=0.3, help="inject after this share")
    parser.add_argument("--outage-s", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--keep-data", action="store_true", help="keep data dirs and logs")
    args = parser.parse_args()
    opts = Options(
        args.cells,
        args.timeout,
        args.latency_ms,
        args.fraction,
        args.outage_s,
        args.concurrency,
        args.startup_timeout,
        args.keep_data,
    )
    signal.signal(signal.SIGTERM, _interrupt)  # a terminated bench still stops what it started
    results = []
    for name in args.only or list(FAULTS):
        results.append(run_fault(opts, name))
        if not args.json:
            print(format_table(results[-1:]).splitlines()[2], flush=True)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2, default=str))
    else:
        print()
        print(format_table(results))


if __name__ == "__main__":
    main()
