"""Run every promptfoo config of the test corpus end to end on the simulator, print a table.

    PYTHONPATH=. .venv/bin/python bench/promptfoo_corpus.py > /tmp/table.md

Each config is imported, then run with ``autoforge eval CONFIG --model-map
'*=openai/sim-small' --grader openai/sim-judge --skip-unsupported --json`` in a fresh data
directory (a subprocess per config, as a user runs it). The table says whether it imported,
whether it ran (cells, pass rate) and what was skipped. It goes into docs/interop.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from engine.interop import ModelMap, load_suite

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "promptfoo"
MAP = "*=openai/sim-small"
GRADER = "openai/sim-judge"


def run(config: Path, data_dir: Path) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOFORGE_", "RAY_"))}
    env.update(
        AUTOFORGE_DATA_DIR=str(data_dir),
        AUTOFORGE_RAY_NUM_CPUS="1",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        PYTHONPATH=str(ROOT),
    )
    args = ["eval", config.name, "--model-map", MAP, "--grader", GRADER]
    args += ["--skip-unsupported", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=config.parent,
    )
    start = done.stdout.find("{\n")
    if done.returncode not in (0, 1) or start < 0:
        last = done.stderr.strip().splitlines()[-1:] or ["?"]
        return "no", last[0][:160]
    summary = json.loads(done.stdout[start:])
    groups = summary["report"]["groups"]
    cells = sum(g["n_cells"] for g in groups)
    rates = [g["pass_rate"] for g in groups if g.get("pass_rate") is not None]
    rate = f"{sum(rates) / len(rates):.0%}" if rates else "n/a"
    return summary["status"], f"{cells} cells, pass rate {rate}"


def main() -> int:
    model_map = ModelMap.parse([MAP], grader=GRADER)
    print("| config | imported | ran | skipped (unsupported) |")  # noqa: T201
    print("|---|---|---|---|")  # noqa: T201
    for config in sorted(CORPUS.glob("*/promptfooconfig.yaml")):
        name = config.parent.name
        try:
            suite = load_suite(config, "promptfoo", model_map)
        except Exception as exc:  # noqa: BLE001 - the table reports it
            print(f"| {name} | no: {exc} | – | – |")  # noqa: T201
            continue
        imported = f"{len(suite.versions)} prompt(s), {len(suite.cases)} case(s)"
        skipped = "; ".join(f"`{u.where}`: {u.what}" for u in suite.unsupported) or "–"
        with tempfile.TemporaryDirectory(prefix="pf-corpus-") as data_dir:
            status, detail = run(config, Path(data_dir))
        ran = f"{status}: {detail}"
        cell = skipped.replace("|", "\\|")
        print(f"| {name} | {imported} | {ran} | {cell} |", flush=True)  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
