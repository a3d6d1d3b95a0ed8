"""What a user puts in a run (scorer specs, model parameters) reaches nothing it should not.

Real Ray, Redis, DB and the simulator; a local HTTP server and a private file stand in for
what an attacker would point a json-schema scorer at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from domain.errors import ValidationError
from engine.cli.demo_data import PROMPT_NAME, V1, demo_cases
from engine.llm import simulator_catalogue
from tests.untrusted_refs import ref_server, remote_schemas, secret_file

pytestmark = pytest.mark.integration
SMALL = "openai/sim-small"


@pytest.fixture(scope="module")
def engine(
    ray_cluster: dict[str, Any],
    redis_url: str,
    simulator: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    from engine import Engine

    eng = Engine(data_dir=tmp_path_factory.mktemp("untrusted"), redis_url=redis_url)
    eng.use_catalogue(simulator_catalogue(simulator.api_base))
    eng.prompts.create(PROMPT_NAME, V1["template"], message=V1["message"])
    eng.datasets.create("demo")
    eng.datasets.add("demo", demo_cases(4))
    yield eng
    eng.close()


def _requests(simulator: Any) -> int:
    return int(httpx.get(f"{simulator.url}/stats").json()["requests_total"])


def _runs(engine: Any) -> int:
    return len(engine.evaluations.runs.list_runs(engine.owner, limit=1000))


def _refused(engine: Any, simulator: Any, fragment: str, **run: Any) -> None:
    before, runs_before = _requests(simulator), _runs(engine)
    with pytest.raises(ValidationError, match=fragment):
        engine.evaluate(prompt=PROMPT_NAME, dataset="demo", models=[SMALL], **run)
    assert (_requests(simulator), _runs(engine)) == (before, runs_before)


def _schema_scorer(schema: object) -> list[dict[str, Any]]:
    return [{"type": "json-schema", "args": {"schema": schema, "extract": True}}]


def test_a_schema_pointing_at_a_url_or_a_file_is_refused_and_nothing_is_read(
    engine: Any, simulator: Any, tmp_path: Path
) -> None:
    private = secret_file(tmp_path)
    with ref_server() as server:
        schemas = [*remote_schemas(server.url), {"$ref": private.as_uri()}]
        for schema in schemas:
            _refused(
                engine, simulator, "argument 'schema' is refused", scorers=_schema_scorer(schema)
            )
        assert server.paths == []
    assert private.stat().st_atime == 0


@pytest.mark.slow
def test_in_schema_references_score_a_whole_run_without_fetching(
    engine: Any, simulator: Any
) -> None:
    with ref_server() as server:
        schema = {"$id": f"{server.url}/root.json", "$ref": "#/$defs/any", "$defs": {"any": {}}}
        run = engine.evaluate(
            prompt=PROMPT_NAME, dataset="demo", models=[SMALL], scorers=_schema_scorer(schema)
        )
        info = run.wait(progress=False, timeout=120)
        assert server.paths == []
    assert info.status.value == "completed"


def test_run_parameters_outside_the_allow_list_are_refused_before_the_run(
    engine: Any, simulator: Any
) -> None:
    for name in ("custom_llm_provider", "mock_response", "extra_headers"):
        _refused(engine, simulator, f"params: model parameter '{name}'", params={name: "x"})
    _refused(engine, simulator, "'temperature' must be a number", params={"temperature": "hot"})
    with pytest.raises(ValidationError, match="settings.extra: model parameter 'mock_response'"):
        engine.prompts.commit(PROMPT_NAME, settings={"extra": {"mock_response": "fabricated"}})


def test_a_version_stored_before_the_allow_list_is_refused_at_run_creation(
    engine: Any, simulator: Any
) -> None:
    from engine.db import create_db_engine
    from engine.prompts.tables import prompt_versions

    info = engine.prompts.create("legacy", "Answer: {{question}}", settings={"temperature": 0.1})
    legacy = {"temperature": 0.1, "extra": {"mock_response": "fabricated"}}
    db = create_db_engine(engine.settings.effective_database_url)
    with db.begin() as tx:  # what a version committed before the allow-list looks like
        tx.execute(
            update(prompt_versions)
            .where(prompt_versions.c.prompt_id == info.id)
            .values(settings=json.dumps(legacy))
        )
    db.dispose()
    before, runs_before = _requests(simulator), _runs(engine)
    with pytest.raises(ValidationError, match=r"prompt version \w{12}: .*'mock_response'"):
        engine.evaluate(prompt="legacy", dataset="demo", models=[SMALL])
    assert (_requests(simulator), _runs(engine)) == (before, runs_before)


@pytest.mark.slow
def test_a_backtracking_regex_fails_its_cells_with_a_reason_and_the_run_finishes(
    engine: Any,
) -> None:
    word = "a" * 30  # the simulator answers "The answer is aaa…a.": (a|aa)+$ backtracks
    engine.prompts.create("reverser", "Reverse the word {{word}}")
    engine.datasets.create("letters")
    engine.datasets.add("letters", [{"id": f"c{i}", "vars": {"word": word}} for i in range(3)])
    scorers = [
        {"type": "regex", "name": "evil", "args": {"pattern": "(a|aa)+$"}, "weight": 0},
        {"type": "contains", "args": {"value": "aaaa"}},
    ]
    run = engine.evaluate(prompt="reverser", dataset="letters", models=[SMALL], scorers=scorers)
    info = run.wait(progress=False, timeout=120)
    assert info.status.value == "completed"
    rows = list(engine.evaluations.runs.result_rows(engine.owner, run.id))
    assert len(rows) == 3
    for row in rows:
        assert row["error"] is None and row["scores"] == {"evil": 0.0, "contains": 1.0}, row
        assert "'(a|aa)+$' gave up after 0.2 s" in row["detail"]["reasons"]["evil"]
