"""The `perplexity` scorer in a run: the run asks for logprobs, the simulator gives them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine.llm import simulator_catalogue

pytestmark = pytest.mark.integration
PROMPT = "echo"


@pytest.fixture(scope="module")
def engine(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from engine import Engine

    eng = Engine(data_dir=tmp_path_factory.mktemp("perplexity"), executor="inline")
    eng.use_catalogue(simulator_catalogue(simulator.api_base))
    eng.prompts.create(PROMPT, "Reverse the word {{word}}", message="reverse a word")
    eng.datasets.create("words")
    eng.datasets.add("words", [{"id": w, "vars": {"word": w}} for w in ("hello", "world")])
    yield eng
    eng.close()


def test_the_run_asks_for_logprobs_only_when_a_scorer_reads_them(
    engine: Any, simulator: Any
) -> None:
    def run(scorers: list[Any]) -> dict[str, dict[str, Any]]:
        started = engine.evaluate(
            prompt=PROMPT, dataset="words", models=["openai/sim-small"], scorers=scorers, seed=1
        )
        assert started.wait(progress=False, timeout=120).status.value == "completed"
        rows = engine.evaluations.runs.result_rows(engine.owner, started.id)
        return {r["case_id"]: r for r in rows}

    loose = {"type": "perplexity", "name": "loose", "args": {"max": 2}}
    strict = {"type": "perplexity", "name": "strict", "args": {"max": 1}}
    scored = run([loose, strict])
    for row in scored.values():
        # The simulator's word probabilities lie in [0.5, 1): perplexity within (1, 2].
        assert row["scores"]["loose"] == 1.0 and 0.5 <= row["scores"]["strict"] < 1.0
        assert "perplexity" in row["detail"]["reasons"]["strict"]
    requests = simulator.stats()["requests_total"]
    assert all(r["cached"] for r in run([strict]).values())  # same request: logprobs asked
    assert simulator.stats()["requests_total"] == requests
    # Without a perplexity scorer the same prompts are other requests (no logprobs asked).
    assert not any(r["cached"] for r in run(["icontains"]).values())
    assert simulator.stats()["requests_total"] == requests + 2
