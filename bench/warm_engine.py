"""The issue-11 workload with a running engine: each client a fresh process.

    .venv/bin/python bench/warm_engine.py [--cases 1000] [--concurrency 32] [--repeats 3]
        [--engine daemon|script|none]

Starts the simulator as its own process (0 ms), a running engine on a fresh data dir
(``daemon``: ``autoforge engine start``; ``script``: a Python process holding an `Engine`
with its actor pool created, which also runs on older versions; ``none``: no running engine,
each client cold on a fresh data dir), then, ``--repeats`` times
each, the workload as a fresh SDK script (`Engine()`, prompt create, import a
``--cases``-case JSONL, evaluate with ``cache=False``, wait, exit) and as a fresh
``autoforge eval FILE --json``. Prints per-phase medians and process wall, then stops the
engine. Run it from the worktree whose code it should measure (``cd`` there first).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

SDK_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
from engine import Engine
t_import = time.perf_counter()
engine = Engine()
t_engine = time.perf_counter()
name = sys.argv[1]
engine.prompts.create(name, "Say {{word}}")
engine.datasets.import_file(name, sys.argv[2])
t_setup = time.perf_counter()
run = engine.evaluate(prompt=name, dataset=name, models=["openai/sim-small"],
                      scorers=[{"type": "icontains", "args": {"value": "a"}}],
                      cache=False, concurrency=int(sys.argv[3]))
t_evaluate = time.perf_counter()
info = run.wait(progress=False)
t_wait = time.perf_counter()
recorded = run.recorded()
engine.close()
t_close = time.perf_counter()
print(json.dumps({"status": info.status.value, "recorded": recorded,
    "import": t_import - t0, "engine": t_engine - t_import, "setup": t_setup - t_engine,
    "evaluate": t_evaluate - t_setup, "wait": t_wait - t_evaluate, "close": t_close - t_wait}))
"""

HOLDER_SCRIPT = """
import sys
from engine import Engine
engine = Engine()
engine.evaluations.scheduler().handle()
print("ready", flush=True)
sys.stdin.read()
engine.close()
"""

EVAL_FILE = """
name: {name}
prompt: {{name: {name}, versions: [{{template: "Say {{{{word}}}}"}}]}}
models: [openai/sim-small]
dataset: {cases}
scorers: [{{type: icontains, args: {{value: "a"}}}}]
concurrency: {concurrency}
cache: false
"""


def start_simulator(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    sim = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.simulator", "--port", "0", "--exit-with-parent"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sim.stdout is not None
    line = sim.stdout.readline().strip()  # printed once it listens
    url = line[line.index("http") :]
    httpx.get(f"{url}/stats").raise_for_status()
    return sim, url


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed:\n{done.stderr[-3000:]}")
    return wall, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine", choices=("daemon", "script", "none"), default="daemon")
    args = parser.parse_args()
    from engine.llm import simulator_catalogue

    root = Path(tempfile.mkdtemp(prefix="warm-engine-"))
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RAY_ADDRESS")}
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", AUTOFORGE_DATA_DIR=str(root / "data"))
    env["PYTHONPATH"] = os.getcwd()
    sim, url = start_simulator(env)
    catalogue = root / "catalogue.json"
    catalogue.write_text(json.dumps(simulator_catalogue(f"{url}/v1").to_dict()))
    env["AUTOFORGE_CATALOGUE_PATH"] = str(catalogue)
    cases = root / "cases.jsonl"
    cases.write_text("".join(json.dumps({"word": f"w{i}a"}) + "\n" for i in range(args.cases)))
    holder: subprocess.Popen[str] | None = None
    started = time.perf_counter()
    try:
        if args.engine == "daemon":
            timed([sys.executable, "-m", "engine.cli", "engine", "start"], env)
        elif args.engine == "script":
            holder = subprocess.Popen(
                [sys.executable, "-c", HOLDER_SCRIPT],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "ready"
        print(f"engine ({args.engine}) ready in {time.perf_counter() - started:.1f} s")
        sdk: list[dict[str, Any]] = []
        cli: list[float] = []
        for rep in range(args.repeats):
            if args.engine == "none":
                env["AUTOFORGE_DATA_DIR"] = str(root / f"data{rep}")
            wall, out = timed(
                [sys.executable, "-c", SDK_SCRIPT, f"sdk{rep}", str(cases), str(args.concurrency)],
                env,
            )
            result = json.loads(out.strip().splitlines()[-1])
            assert result["recorded"] == args.cases, result
            sdk.append({**result, "wall": wall})
            eval_file = root / f"eval{rep}.yaml"
            eval_file.write_text(
                EVAL_FILE.format(name=f"cli{rep}", cases=cases, concurrency=args.concurrency)
            )
            wall, out = timed(
                [sys.executable, "-m", "engine.cli", "eval", str(eval_file), "--json"], env
            )
            assert json.loads(out[out.index("{") :])["status"] == "completed"
            cli.append(wall)
            env["AUTOFORGE_DATA_DIR"] = str(root / "data")
        phases = ("import", "engine", "setup", "evaluate", "wait", "close", "wall")
        print(f"{args.cases} cells, 0 ms, C={args.concurrency}, medians of {args.repeats}:")
        for phase in phases:
            values = [r[phase] for r in sdk]
            print(f"  sdk {phase:<9} {statistics.median(values):6.2f} s  {_all(values)}")
        print(f"  cli wall      {statistics.median(cli):6.2f} s  {_all(cli)}")
    finally:
        if holder is not None:
            holder.communicate("", timeout=120)
        elif args.engine == "daemon":
            subprocess.run(
                [sys.executable, "-m", "engine.cli", "engine", "stop"], env=env, timeout=120
            )
        sim.terminate()
        sim.wait(timeout=30)


def _all(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:.2f}" for v in values) + ")"


if __name__ == "__main__":
    main()
