"""The `finish-reason` scorer sees the provider's finish reason, through a real run.

Inline executor (no Ray), embedded Redis, a DB file and the simulator over HTTP: the
simulator stops with ``length`` when ``max_tokens`` cuts its answer, else ``stop``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.cli.demo_data import PROMPT_NAME, V1, demo_cases
from engine.llm import simulator_catalogue

pytestmark = pytest.mark.integration

STOPPED = {"type": "finish-reason", "name": "stopped", "args": {"value": "stop"}}
CUT = {"type": "finish-reason", "name": "cut", "args": {"value": "LENGTH"}}


def test_runs_score_the_finish_reason_the_model_gave(tmp_path: Path, simulator: Any) -> None:
    from engine import Engine

    engine = Engine(data_dir=tmp_path / "data", executor="inline")
    engine.use_catalogue(simulator_catalogue(simulator.api_base))
    try:
        engine.prompts.create(PROMPT_NAME, V1["template"])
        engine.datasets.create("demo")
        engine.datasets.add("demo", demo_cases(3))
        runs = {
            tokens: engine.evaluate(
                prompt=PROMPT_NAME,
                dataset="demo",
                models=["openai/sim-small"],
                scorers=[STOPPED, CUT],
                params={"max_tokens": tokens},
                cache=False,
            )
            for tokens in (1, 1000)
        }
        for run in runs.values():
            assert run.wait(progress=False, timeout=60).status.value == "completed"
        cut, whole = (runs[1].records(), runs[1000].records())
        assert len(cut) == len(whole) == 3
        assert all(r.scores == {"stopped": 0.0, "cut": 1.0} for r in cut)
        assert all(r.reasons["stopped"] == "finish reason is 'length', not 'stop'" for r in cut)
        assert all(r.scores == {"stopped": 1.0, "cut": 0.0} for r in whole)
    finally:
        engine.close()
