"""Code assertions for real: the sandbox's subprocesses (Python and node), their limits and
environment, and an SDK run end to end on the inline engine and the session simulator."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from domain.errors import CodeNotAllowedError
from domain.evaluation import Cell
from domain.scoring import ScoreContext, build_scorer
from domain.scoring.code import CodeAssertion
from engine.cli.demo_data import PROMPT_NAME, V1, demo_cases
from engine.evaluation.cell_runner import CellRunner
from engine.evaluation.sandbox import run_program
from engine.llm import LLMClient, simulator_catalogue

pytestmark = pytest.mark.integration
MIB = 1024 * 1024
CTX = ScoreContext(output="4", expected="4", variables={"q": "2+2?"})
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def _score(kind: str, **args: Any) -> Any:
    """Score ``CTX`` with a code assertion, through the real sandbox."""
    scorer = build_scorer({"type": kind, "args": args})
    assert isinstance(scorer, CodeAssertion)
    ran = asyncio.run(
        run_program(
            kind,
            scorer.request(CTX),
            timeout_s=scorer.timeout_s,
            memory_bytes=scorer.memory_bytes,
        )
    )
    return scorer.failed(ran.failure or "") if ran.answer is None else scorer.parse(ran.answer)


def test_python_expressions_and_functions_give_the_right_verdict() -> None:
    assert _score("python", expression="output == context['expected']").passed
    assert not _score("python", expression="output == 'five'").passed
    body = "print('noise on stdout')\nreturn {'pass': True, 'score': 0.75, 'reason': 'close'}"
    graded = _score("python", expression=body)
    assert (graded.passed, graded.value, graded.reason) == (True, 0.75, "close")
    source = "def get_assert(output, context):\n    return len(context['vars']['q']) / 10\n"
    assert _score("python", source=source).value == 0.4
    raised = _score("python", expression="1 / 0")
    assert not raised.passed and "ZeroDivisionError" in raised.reason


@needs_node
def test_javascript_snippets_and_modules_give_the_right_verdict() -> None:
    assert _score("javascript", expression="output === context.expected").passed
    assert not _score("javascript", expression="output.includes('5')").passed
    body = "console.log('noise');\nreturn {pass: false, score: 0.25, reason: 'far'}"
    graded = _score("javascript", expression=body)
    assert (graded.passed, graded.value, graded.reason) == (False, 0.25, "far")
    exported = "module.exports = async (output, context) => output === context.expected;"
    assert _score("javascript", source=exported).passed
    named = "function check(output) { return output.length > 5; }"
    assert not _score("javascript", source=named, function="check").passed


@pytest.mark.parametrize(
    ("kind", "loop"),
    [
        ("python", "while True:\n    pass"),
        pytest.param("javascript", "while (true) {}\nreturn true", marks=needs_node),
    ],
)
def test_an_infinite_loop_fails_within_its_timeout(kind: str, loop: str) -> None:
    started = time.monotonic()
    score = _score(kind, expression=loop, timeout_s=1)
    assert time.monotonic() - started < 2.0
    assert not score.passed and "timed out after 1 s" in score.reason


@pytest.mark.parametrize(
    ("kind", "allocate"),
    [
        ("python", "len(bytearray(1 << 30))"),
        pytest.param("javascript", "Buffer.alloc(1 << 30).length", marks=needs_node),
        pytest.param("javascript", "new Array(1 << 30).fill(1.5).length", marks=needs_node),
    ],
)
def test_allocating_a_gib_fails_with_a_memory_reason(kind: str, allocate: str) -> None:
    score = _score(kind, expression=allocate)
    assert not score.passed and "ran out of memory (limit 256 MiB" in score.reason, score.reason


@pytest.mark.parametrize(
    ("kind", "probe"),
    [
        (
            "python",
            "import os\nreturn {'pass': True, 'score': 1, 'reason': repr(dict(os.environ))}",
        ),
        pytest.param(
            "javascript",
            "const seen = JSON.stringify(process.env);\nreturn {pass: true, reason: seen}",
            marks=needs_node,
        ),
    ],
)
def test_the_program_sees_none_of_the_parents_environment(
    kind: str, probe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AF_TEST_SECRET", "hunter2-do-not-leak")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-parent-only")
    score = _score(kind, expression=probe)
    assert score.passed, score.reason
    for leaked in ("hunter2-do-not-leak", "sk-parent-only", "OPENAI_API_KEY", "REDIS_URL"):
        assert leaked not in score.reason
    assert "PATH" in score.reason  # the probe did read the environment


def test_the_program_runs_in_an_empty_temporary_directory() -> None:
    probe = "import os\nreturn {'pass': os.listdir('.') == [], 'reason': os.getcwd()}"
    score = _score("python", expression=probe)
    assert score.passed and score.reason != os.getcwd()


def test_more_output_than_the_cap_is_refused() -> None:
    request = build_scorer({"type": "python", "args": {"expression": "True"}})
    assert isinstance(request, CodeAssertion)
    big = "reason = 'x' * 200_000\nreturn {'pass': True, 'reason': reason}"  # the answer itself
    ran = asyncio.run(
        run_program(
            "python",
            {**request.request(CTX), "code": big},
            timeout_s=5,
            memory_bytes=256 * MIB,
            max_output_bytes=100_000,
        )
    )
    assert ran.answer is None and "wrote more than 100000 bytes" in str(ran.failure)


def test_without_node_a_javascript_score_fails_saying_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no node on it
    score = _score("javascript", expression="true")
    assert not score.passed and "node is not installed" in score.reason


@pytest.fixture(scope="module")
def inline_engine(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from engine import Engine

    eng = Engine(data_dir=tmp_path_factory.mktemp("code"), executor="inline")
    eng.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=64))
    eng.prompts.create(PROMPT_NAME, V1["template"], message=V1["message"])
    eng.datasets.create("demo")
    eng.datasets.add("demo", demo_cases(10))
    yield eng
    eng.close()


PYTHON_EQUALS = {
    "type": "python",
    "name": "py-equals",
    "args": {"expression": "(context['expected'] or '').lower() in output.lower()"},
}
EQUALS = {"type": "icontains", "name": "equals"}


def test_an_sdk_run_scores_with_a_python_assertion_like_icontains(inline_engine: Any) -> None:
    run = inline_engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=["openai/sim-small", "openai/sim-large"],
        scorers=[PYTHON_EQUALS, EQUALS],
        allow_code=True,
    )
    info = run.wait(progress=False, timeout=120)
    assert info.status.value == "completed", info.error
    assert info.spec.allow_code is True
    records = run.records()
    assert len(records) == 20 and all(r.error is None for r in records)
    assert [r.scores["py-equals"] for r in records] == [r.scores["equals"] for r in records]
    assert {r.scores["equals"] for r in records} == {0.0, 1.0}  # both verdicts occur


def test_an_sdk_run_reads_a_code_file_the_user_names(inline_engine: Any, tmp_path: Path) -> None:
    checks = tmp_path / "checks.py"
    checks.write_text("def short(output, context):\n    return len(output) < 10_000\n")
    scorer = {"type": "python", "args": {"file": f"file://{checks}:short"}}
    run = inline_engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=["openai/sim-small"],
        scorers=[scorer],
        allow_code=True,
    )
    assert run.wait(progress=False, timeout=120).status.value == "completed"
    args = run.info().spec.scorers[0]["args"]
    assert args["source"] == checks.read_text() and args["function"] == "short"
    assert "file" not in args and all(r.passed for r in run.records())


def test_without_allow_code_the_sdk_refuses_before_storing_a_run(inline_engine: Any) -> None:
    before = len(inline_engine.runs(limit=200))
    with pytest.raises(CodeNotAllowedError, match="'py-equals' run code"):
        inline_engine.evaluate(
            prompt=PROMPT_NAME, dataset="demo", models=["openai/sim-small"],
            scorers=[PYTHON_EQUALS],
        )  # fmt: skip
    assert len(inline_engine.runs(limit=200)) == before


def test_an_evaluator_refuses_code_in_a_run_that_does_not_allow_it(inline_engine: Any) -> None:
    run = inline_engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=["openai/sim-small"],
        scorers=[PYTHON_EQUALS],
        allow_code=True,
    )
    run.wait(progress=False, timeout=120)
    service = inline_engine.evaluations
    spec = replace(run.info().spec, allow_code=False)  # as if the flag were lost on the way
    versions = [inline_engine.prompts.show(spec.prompt_id, v) for v in spec.prompt_versions]
    cases = service.datasets.cases(inline_engine.owner, spec.dataset_version_id)
    context = service._context(run.id, spec, (), versions, cases, {})
    client = LLMClient(context.catalogue, links=lambda _account: None)  # never called
    cell = Cell(spec.prompt_versions[0], spec.models[0], spec.case_ids[0], 0)
    outcome = asyncio.run(CellRunner(context, client).run(cell))
    assert outcome.row is not None and outcome.row.output is None
    assert str(outcome.row.error).startswith("code-not-allowed: scorer(s) 'py-equals' run code")


def test_a_cases_own_code_scorer_runs_only_with_allow_code(inline_engine: Any) -> None:
    own = {"type": "python", "name": "own", "args": {"expression": "len(output) > 0"}}
    inline_engine.datasets.create("own-code")
    inline_engine.datasets.add("own-code", [{"vars": {"question": "2+2?"}, "scorers": [own]}])
    common = {"prompt": PROMPT_NAME, "dataset": "own-code", "models": ["openai/sim-small"]}
    with pytest.raises(CodeNotAllowedError, match="'own' run code"):
        inline_engine.evaluate(**common)
    run = inline_engine.evaluate(**common, allow_code=True)
    assert run.wait(progress=False, timeout=120).status.value == "completed"
    assert run.info().spec.allow_code is True
    (record,) = run.records()
    assert record.scores == {"own": 1.0} and record.passed
    service = inline_engine.evaluations
    spec = replace(run.info().spec, allow_code=False)
    versions = [inline_engine.prompts.show(spec.prompt_id, v) for v in spec.prompt_versions]
    cases = service.datasets.cases(inline_engine.owner, spec.dataset_version_id)
    context = service._context(run.id, spec, (), versions, cases, {})
    client = LLMClient(context.catalogue, links=lambda _account: None)  # never called
    cell = Cell(spec.prompt_versions[0], spec.models[0], spec.case_ids[0], 0)
    outcome = asyncio.run(CellRunner(context, client).run(cell))
    assert outcome.row is not None
    assert str(outcome.row.error).startswith("code-not-allowed: scorer(s) 'own' run code")


@pytest.mark.slow
def test_a_ray_evaluator_runs_code_assertions_too(
    ray_cluster: dict[str, Any],
    redis_url: str,
    simulator: Any,
    tmp_path: Path,
) -> None:
    from engine import Engine

    with Engine(data_dir=tmp_path / "ray", redis_url=redis_url) as eng:
        assert eng.runtime.executor == "ray"
        eng.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=64))
        eng.prompts.create(PROMPT_NAME, V1["template"], message=V1["message"])
        eng.datasets.create("demo")
        eng.datasets.add("demo", demo_cases(4))
        js = {"type": "javascript", "name": "js", "args": {"expression": "output.length > 0"}}
        run = eng.evaluate(
            prompt=PROMPT_NAME,
            dataset="demo",
            models=["openai/sim-small"],
            scorers=[PYTHON_EQUALS, EQUALS, *([js] if shutil.which("node") else [])],
            allow_code=True,
        )
        assert run.wait(progress=False, timeout=180).status.value == "completed"
        records = run.records()
        assert len(records) == 4 and all(r.error is None for r in records)
        assert [r.scores["py-equals"] for r in records] == [r.scores["equals"] for r in records]
        assert all(r.scores.get("js", 1.0) == 1.0 for r in records)
