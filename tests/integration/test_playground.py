"""The playground on a real engine (embedded Redis, a database file, the inline executor)
calling the session simulator: turns stream every model's answer piece by piece, are kept,
become test cases with provenance, and an edited template committed from the session is
what its next turn runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.errors import ConflictError, NotFoundError, ValidationError
from engine.evaluation import streams
from engine.llm import simulator_catalogue
from engine.playground import events_key

pytestmark = pytest.mark.integration

MODELS = ["openai/sim-small", "openai/sim-large"]


@pytest.fixture(scope="module")
def engine(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from engine.sdk import Engine

    data: Path = tmp_path_factory.mktemp("playground")
    with Engine(data_dir=data, executor="inline") as made:
        made.use_catalogue(simulator_catalogue(simulator.api_base))
        made.prompts.create("tides", "Write two sentences about {{topic}}.")
        yield made


def test_a_turn_streams_each_models_answer_and_is_kept(engine: Any, simulator: Any) -> None:
    pg = engine.playground("tides", MODELS)
    heard: dict[str, list[str | None]] = {m: [] for m in MODELS}
    before = httpx.get(f"{simulator.url}/stats").json()["requests_total"]
    turn = pg.run({"topic": "the moon"}, on_token=lambda m, t: heard[m].append(t))
    asked = httpx.get(f"{simulator.url}/stats").json()["requests_total"] - before

    assert turn.status == "done" and turn.number == 1 and asked == len(MODELS)
    assert [a.model for a in turn.answers] == MODELS
    for answer in turn.answers:
        pieces = heard[answer.model]
        assert pieces[0] is None and answer.error is None and not answer.cached
        assert "".join(p for p in pieces if p) == answer.content
        assert len([p for p in pieces if p]) == len(answer.content.split()) > 1
        assert answer.completion_tokens > 0 and answer.cost_usd > 0 and answer.latency_ms > 0
    entries = [streams.decode(f) for _, f in engine.runtime.redis.xrange(events_key(pg.id))]
    kinds = [e["type"] for e in entries]
    assert kinds[0] == "turn.started" and kinds[-1] == "turn.done"
    for answer in turn.answers:
        streamed = [
            e["text"] for e in entries if e["type"] == "delta" and e["model"] == answer.model
        ]
        assert "".join(streamed) == answer.content
    assert pg.history() == [turn] and pg.turn(1) == turn
    again = pg.run({"topic": "the sea"})
    assert again.number == 2 and [t.number for t in pg.history()] == [1, 2]


def test_a_turn_becomes_a_case_with_provenance(engine: Any) -> None:
    pg = engine.playground("tides", MODELS[:1])
    turn = pg.run({"topic": "harbours"})
    answer = turn.answer(MODELS[0])
    first = pg.save_case(turn, MODELS[0], "from-playground")
    second = pg.save_case(
        turn.number, MODELS[0], "from-playground", expected="Edited.", case_id="e"
    )
    assert (first.number, second.number) == (1, 2)
    cases = {c.id: c for c in engine.datasets.cases("from-playground")}
    assert len(cases) == 2 and cases["e"].expected == "Edited."
    saved = next(c for c in cases.values() if c.id != "e")
    assert saved.variables == {"topic": "harbours"} and saved.expected == answer.content
    provenance = saved.metadata["provenance"]
    assert provenance == {
        "playground_session": pg.id,
        "turn": 1,
        "prompt_version": turn.prompt_version,
        "model": MODELS[0],
        "author": "local",
        "edited": False,
    }
    assert cases["e"].metadata["provenance"]["edited"] is True
    with pytest.raises(NotFoundError):
        pg.save_case(turn, "openai/sim-medium", "from-playground")


def test_an_edited_template_committed_from_the_session_runs_next(engine: Any) -> None:
    pg = engine.playground("tides", MODELS[:1])
    first = pg.run({"topic": "storms"})
    version = pg.commit("Answer in one word: what causes {{topic}}?", message="shorter")
    second = pg.run({"topic": "storms"})
    assert engine.prompts.show("tides").id == version.id == second.prompt_version
    assert first.prompt_version != second.prompt_version == pg.info.prompt_version
    assert (
        engine.prompts.show("tides", second.prompt_version)
        .template.render({"topic": "storms"})
        .as_dicts()[-1]["content"]
        == "Answer in one word: what causes storms?"
    )


def test_bad_input_is_refused_and_nothing_is_kept(engine: Any) -> None:
    with pytest.raises(ValidationError):
        engine.playground("tides", [])
    with pytest.raises(ValidationError):
        engine.playground("tides", ["openai/sim-small", "openai/sim-small"])
    with pytest.raises(ValidationError) as unknown:
        engine.playground("tides", ["openai/gpt-9"])
    assert unknown.value.details["reason"] == "unknown-model"
    with pytest.raises(NotFoundError):
        engine.playground("no-such-prompt", MODELS)
    pg = engine.playground("tides", MODELS[:1])
    with pytest.raises(ValidationError):
        pg.run({"topic": {"nested": "value"}})
    with pytest.raises(ValidationError):
        pg.run({"topic": "x" * 40_000})
    assert pg.history() == []
    with pytest.raises(NotFoundError):
        engine.as_owner("someone-else").playgrounds.get(pg.id)


def test_one_turn_at_a_time(engine: Any, simulator: Any) -> None:
    import time

    from engine.simulator import SimulatorConfig, running_simulator

    pg = engine.playground("tides", MODELS[:1])
    with running_simulator(SimulatorConfig(latency_ms=1500)) as slow:
        engine.use_catalogue(simulator_catalogue(slow.api_base))
        try:
            started = pg.start({"topic": "reefs"})
            assert started.status == "running"
            with pytest.raises(ConflictError) as busy:
                pg.start({"topic": "reefs"})
            assert busy.value.details["reason"] == "turn-running"
            deadline = time.monotonic() + 30
            while pg.turn(started.number).status != "done":
                assert time.monotonic() < deadline
                time.sleep(0.02)
        finally:
            engine.use_catalogue(simulator_catalogue(simulator.api_base))
    assert pg.turn(started.number).answers[0].content
    assert [t.number for t in pg.history()] == [1]
