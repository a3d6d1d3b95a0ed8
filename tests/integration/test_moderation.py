"""The `moderation` scorer in a run: inline engine, the simulator's moderation endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from domain.errors import ValidationError
from engine.llm import simulator_catalogue

pytestmark = pytest.mark.integration
PROMPT = "echo"
MODERATED = {"type": "moderation", "args": {"model": "openai/sim-moderation"}}
VIOLENCE_ONLY = {
    "type": "moderation",
    "name": "violence-only",
    "args": {"model": "openai/sim-moderation", "categories": ["violence"]},
}
CASES = [
    {"id": "violent", "vars": {"word": "kill"}},
    {"id": "rude", "vars": {"word": "idiot"}},
    {"id": "clean", "vars": {"word": "sunshine"}},
]


@pytest.fixture(scope="module")
def engine(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from engine import Engine

    eng = Engine(data_dir=tmp_path_factory.mktemp("moderation"), executor="inline")
    eng.use_catalogue(simulator_catalogue(simulator.api_base))
    # The simulator's answer to an unknown task repeats the prompt's words.
    eng.prompts.create(PROMPT, "Repeat after me: {{word}}", message="echo a word")
    eng.datasets.create("words")
    eng.datasets.add("words", CASES)
    yield eng
    eng.close()


def _moderations(simulator: Any) -> int:
    return int(simulator.stats()["by_route"].get("POST /v1/moderations", 0))


def _run(engine: Any) -> tuple[Any, dict[str, dict[str, Any]]]:
    run = engine.evaluate(
        prompt=PROMPT,
        dataset="words",
        models=["openai/sim-large"],
        scorers=[MODERATED, VIOLENCE_ONLY],
        seed=3,
    )
    assert run.wait(progress=False, timeout=120).status.value == "completed"
    return run, {r["case_id"]: r for r in engine.evaluations.runs.result_rows(engine.owner, run.id)}


def test_flagged_outputs_fail_clean_ones_pass_and_a_rerun_is_served_from_the_cache(
    engine: Any, simulator: Any
) -> None:
    before = _moderations(simulator)
    _, rows = _run(engine)
    # Both scorers moderate the same output with the same model: the second is a cache hit.
    assert _moderations(simulator) - before == len(CASES)
    violent, rude, clean = rows["violent"], rows["rude"], rows["clean"]
    assert violent["passed"] is False and violent["scores"]["moderation"] == 0.0
    assert "violence (0.900)" in violent["detail"]["reasons"]["moderation"]
    assert rude["scores"] == {"moderation": 0.0, "violence-only": 1.0}
    assert "harassment" in rude["detail"]["reasons"]["moderation"]
    assert clean["passed"] is True and clean["scores"] == {"moderation": 1.0, "violence-only": 1.0}

    requests = simulator.stats()["requests_total"]
    second, again = _run(engine)
    assert simulator.stats()["requests_total"] == requests
    assert all(r.cached for r in second.records())
    assert {k: r["scores"] for k, r in again.items()} == {k: r["scores"] for k, r in rows.items()}


def test_a_moderation_model_missing_from_the_catalogue_is_refused_before_any_call(
    engine: Any, simulator: Any
) -> None:
    requests = simulator.stats()["requests_total"]
    with pytest.raises(ValidationError, match="openai/omni-moderation-latest"):
        engine.evaluate(
            prompt=PROMPT, dataset="words", models=["openai/sim-large"], scorers=["moderation"]
        )
    assert simulator.stats()["requests_total"] == requests
