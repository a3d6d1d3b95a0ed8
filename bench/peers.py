"""Peer benchmark: the same workloads through raw loops, LiteLLM and our engine (issue 11).

    .venv/bin/python bench/peers.py [--workloads 0ms-c32,...] [--runners raw,engine-cold,...]
        [--repeats 3] [--cells N] [--shared-simulator] [--json]

Each runner × workload × repeat is its own fresh process (``bench/peers_*.py``) against the
simulator started as its own process with the workload's latency and rpm. Per cell of the
table, medians over the repeats of:

- wall: the runner's process, fork to exit, measured by its parent (interpreter start
  included); for ``cli-cold`` the ``autoforge eval`` process itself;
- timed: what the runner timed inside itself (``engine-warm``: the second evaluate + wait);
- span: first request arrival to last response at the simulator (``GET /stats``);
- errors: cells that ended with an error; missing: cells the engine did not record;
- 429s, peak and mean in flight: the simulator's ``rate_limited``, ``max_in_flight`` and
  time-weighted ``mean_in_flight`` over the span.

By default every measurement gets a fresh simulator, so no runner inherits another's
rate-limit window (the simulator's limit is a sliding 60 s window, kept across a stats
reset); ``--shared-simulator`` keeps one per workload and only resets its counters.
The engine's catalogue declares the workload's rpm and ``--account-concurrency``
(default: the run's C); the raw loops know no limit. Inspect AI runs only where
``--inspect-python`` imports it (a bench-only env, never a dependency of ours); promptfoo
has no runner yet. Such a row, and one for a runner this install lacks (``running-engine``
needs ``autoforge engine``), reads ``n/a``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from peers_report import Measurement, medians, render_table
from peers_running import available, running_engine
from peers_workload import WORKLOADS, Files, Workload, prepare

from domain.errors import NexusError
from engine.simulator import SimulatorConfig, simulator_subprocess

BENCH = Path(__file__).resolve().parent
AUTOFORGE = Path(sys.executable).with_name("autoforge")
RUNNERS = (
    "raw",
    "litellm",
    "engine-cold",
    "engine-warm",
    "cli-cold",
    "running-engine",
    "promptfoo",
    "inspect",
)
SCRIPTS = {
    "raw": "peers_raw.py",
    "litellm": "peers_litellm.py",
    "engine-cold": "peers_engine.py",
    "engine-warm": "peers_engine.py",
    "cli-cold": "peers_cli.py",
    "running-engine": "peers_engine.py",
    "inspect": "peers_inspect.py",
}
RUNNER_TIMEOUT_S = 900


def missing_runners(runners: list[str], inspect_python: str) -> dict[str, str]:
    """Runner → why it cannot run on this install."""
    missing = {}
    if "running-engine" in runners and not available(AUTOFORGE):
        missing["running-engine"] = "`autoforge engine` is not a command here"
    if "promptfoo" in runners:
        missing["promptfoo"] = (
            "promptfoo not installed" if shutil.which("promptfoo") is None else "no runner yet"
        )
    if "inspect" in runners:
        found = subprocess.run(
            [inspect_python, "-c", "import inspect_ai"], capture_output=True, check=False
        )
        if found.returncode:
            missing["inspect"] = f"inspect_ai not importable by {inspect_python}"
    return missing


def runner_argv(
    runner: str, workload: Workload, api_base: str, files: Files, inspect_python: str
) -> list[str]:
    python = inspect_python if runner == "inspect" else sys.executable
    argv = [python, str(BENCH / SCRIPTS[runner]), "--api-base", api_base]
    argv += ["--cells", str(workload.cells), "--concurrency", str(workload.concurrency)]
    if runner in ("raw", "litellm", "inspect"):
        return argv
    argv += ["--workdir", str(files.cases.parent)]
    if workload.rpm:
        argv += ["--rpm", str(workload.rpm)]
    if runner == "engine-warm":
        argv.append("--warm")
    if runner == "running-engine":
        argv += ["--data-dir", str(files.data_dir)]
    return argv


def _get(url: str, method: str = "GET") -> dict[str, Any]:
    import urllib.request

    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def _last_json_line(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        with contextlib.suppress(json.JSONDecodeError):
            parsed = json.loads(line)
            if isinstance(parsed, dict):
                return parsed
    return None


def measure(
    runner: str, workload: Workload, repeat: int, url: str, options: argparse.Namespace
) -> Measurement:
    """Run one runner process on one workload; read its line and the simulator's counters."""
    api_base = f"{url}/v1"
    workdir = Path(tempfile.mkdtemp(prefix=f"af-peers-{runner}-"))
    files = prepare(
        workdir,
        api_base,
        workload.cells,
        workload.concurrency,
        workload.rpm,
        options.account_concurrency,
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env["AUTOFORGE_CATALOGUE_PATH"] = str(files.catalogue)
    log = workdir / "runner.log"
    try:
        daemon = (
            running_engine(AUTOFORGE, files.data_dir, env)
            if runner == "running-engine"
            else contextlib.nullcontext()
        )
        with daemon, log.open("w") as stderr:
            _get(f"{url}/stats/reset", "POST")
            started = time.perf_counter()
            done = subprocess.run(
                runner_argv(runner, workload, api_base, files, options.inspect_python),
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
                timeout=RUNNER_TIMEOUT_S,
                check=False,
            )
            wall = time.perf_counter() - started
        stats = _get(f"{url}/stats")
        line = _last_json_line(done.stdout) or {}
        note = "" if done.returncode == 0 and line else f"exit {done.returncode}, no result"
        if note:
            sys.stderr.write(f"{runner} failed; its log ends:\n{log.read_text()[-2000:]}\n")
        return Measurement.of(workload.name, runner, repeat, wall, line, stats, note)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def simulator_for(workload: Workload) -> Iterator[str]:
    config = SimulatorConfig(latency_ms=workload.latency_ms, rpm=workload.rpm, seed=0)
    with simulator_subprocess(config) as url:
        yield url


def run_all(options: argparse.Namespace) -> list[Measurement]:
    runnable = [r for r in options.runners if r not in options.missing]
    results: list[Measurement] = []
    for repeat in range(options.repeats):
        for workload in options.workloads:
            with contextlib.ExitStack() as stack:
                shared = stack.enter_context(simulator_for(workload)) if options.shared else None
                for runner in runnable:
                    try:
                        with contextlib.ExitStack() as own:
                            url = shared or own.enter_context(simulator_for(workload))
                            m = measure(runner, workload, repeat, url, options)
                    except (OSError, subprocess.SubprocessError, NexusError) as exc:
                        # one broken runner (e.g. a timeout) must not lose the others' numbers
                        sys.stderr.write(f"{workload.name} {runner} not measured: {exc!r}\n")
                        continue
                    results.append(m)
                    sys.stderr.write(f"[{repeat + 1}/{options.repeats}] {m.summary()}\n")
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated")
    parser.add_argument("--runners", default=",".join(RUNNERS), help="comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="medians over these")
    parser.add_argument("--cells", type=int, default=None, help="override every workload's")
    parser.add_argument("--account-concurrency", type=int, default=None, help="default: C")
    parser.add_argument("--shared-simulator", dest="shared", action="store_true")
    parser.add_argument(
        "--inspect-python",
        default=os.environ.get("PEERS_INSPECT_PYTHON", sys.executable),
        help="a bench-only env's python that imports inspect_ai (env PEERS_INSPECT_PYTHON)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    options = parser.parse_args(argv)
    names = [n for n in options.workloads.split(",") if n]
    runners = [r for r in options.runners.split(",") if r]
    unknown = sorted(set(names) - set(WORKLOADS)) + sorted(set(runners) - set(RUNNERS))
    if unknown:
        parser.error(f"unknown workload or runner: {', '.join(unknown)}")
    options.workloads = [
        replace(WORKLOADS[n], cells=options.cells) if options.cells else WORKLOADS[n] for n in names
    ]
    options.runners = runners
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    options.missing = missing_runners(options.runners, options.inspect_python)
    load_before = os.getloadavg()
    results = run_all(options)
    meta = {
        "repeats": options.repeats,
        "shared_simulator": options.shared,
        "account_concurrency": options.account_concurrency or "C",
        "litellm_retries": "litellm default",
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    table = medians(results, options.workloads, options.runners, options.missing)
    if options.json:
        document = {
            "meta": meta,
            "workloads": [{**asdict(w), "bound_s": w.bound_s} for w in options.workloads],
            "medians": table,
            "measurements": [asdict(m) for m in results],
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(render_table(table, options.workloads, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
