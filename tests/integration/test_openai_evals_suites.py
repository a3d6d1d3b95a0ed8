"""OpenAI Evals suites from the corpus, imported and run end to end on the simulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import pytest

from engine.interop import ModelMap, load_suite
from engine.llm import simulator_catalogue
from engine.sdk.evalrun import run_eval_file

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CORPUS = Path(__file__).parents[1] / "fixtures" / "openai_evals"
SIM = ModelMap.parse(["*=openai/sim-small"])


@pytest.fixture(scope="module")
def inline_engine(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from engine import Engine

    eng = Engine(data_dir=tmp_path_factory.mktemp("oaie"), executor="inline")
    eng.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=256))
    yield eng
    eng.close()


def _starts(output: str, expected: str) -> bool:
    return output.strip().startswith(expected)


def _exact(output: str, expected: str) -> bool:
    return output == expected


def _mentions(output: str, expected: str) -> bool:
    return expected.lower() in output.lower()


def _includes(output: str, expected: str) -> bool:
    return expected in output


Check = Callable[[str, str], bool]


@pytest.mark.parametrize(
    ("path", "kind", "checks"),
    [
        ("evals/agent-tool-routing.yaml", "openai-evals", {"match": _starts}),
        ("evals/arabic-literature-qa.yaml", "openai-evals", {"match": _starts}),
        ("evals/time-zone-conversion.yaml", "openai-evals", {"match": _starts}),
        ("evals/simple_math.yaml", "openai-evals", {"includes": _includes}),
        # one sample is there twice: both run
        (
            "evals/chinese_ancient_masterpieces_dynasty.yaml",
            "openai-evals",
            {"includes": _includes},
        ),
        (
            "api/capitals-string-check.json",
            "openai-evals-api",
            {
                "exact-answer-1": _exact,
                "mentions-the-answer-2": _mentions,
                "not-a-refusal-3": lambda output, _: output != "I don't know.",
            },
        ),
    ],
)
def test_a_corpus_suite_runs_and_records_each_case_scored_as_the_source_defines(
    inline_engine: Any, path: str, kind: str, checks: dict[str, Check]
) -> None:
    suite = load_suite(CORPUS / path, kind, SIM)
    suite.check_supported(skip_unsupported=False)
    outcome = run_eval_file(inline_engine, suite.to_eval_file(), progress=False)

    records = outcome.run.records()
    assert outcome.run.status == "completed"
    assert {r.model for r in records} == {"openai/sim-small"}
    expected = {c.id: c.expected for c in suite.cases}
    assert sorted(r.case_id for r in records) == sorted(expected)
    for record in records:
        assert record.error is None and record.output
        output, answer = record.output, expected[record.case_id] or ""
        recount = {name: float(check(output, answer)) for name, check in checks.items()}
        assert dict(record.scores) == recount
        assert record.passed == all(recount.values())


def test_a_label_model_suite_runs_its_judge_and_skips_only_what_it_said(
    inline_engine: Any,
) -> None:
    suite = load_suite(CORPUS / "api" / "support-triage.json", "openai-evals-api", SIM)
    assert [u.where for u in suite.unsupported] == ["testing_criteria[2].evaluation_metric"]
    suite.check_supported(skip_unsupported=True)

    outcome = run_eval_file(inline_engine, suite.to_eval_file(), progress=False)

    records = outcome.run.records()
    assert len(records) == 4 and all(r.error is None for r in records)
    for record in records:
        assert set(record.scores) == {"right-queue-1", "close-to-the-queue-name-2"}
        assert record.scores["right-queue-1"] in (0.0, 1.0)  # a passing label or not
        ratio = SequenceMatcher(None, (record.output or "").strip(), record.expected or "").ratio()
        assert record.scores["close-to-the-queue-name-2"] == pytest.approx(ratio)
