"""What `autoforge eval FILE` makes of an OpenAI Evals suite, before any service."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import parse_args
from domain.errors import ValidationError
from engine.cli.interop import eval_spec

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "openai_evals"


@pytest.mark.parametrize(
    ("path", "cases", "scorers"),
    [
        ("evals/agent-tool-routing.yaml", 12, ["match"]),
        (
            "api/capitals-string-check.json",
            6,
            ["exact-answer-1", "mentions-the-answer-2", "not-a-refusal-3"],
        ),
    ],
)
def test_autoforge_eval_detects_an_openai_evals_suite_and_runs_it_on_the_map(
    path: str, cases: int, scorers: list[str]
) -> None:
    args = parse_args(["eval", str(CORPUS / path), "--model-map", "*=openai/sim-small"])
    spec = eval_spec(args)
    assert spec.dataset_path is None and len(spec.cases) == cases
    assert spec.models == ("openai/sim-small",) and spec.simulator
    assert [s["name"] for s in spec.scorers] == scorers


def test_autoforge_eval_refuses_a_git_lfs_pointer_and_skips_only_when_asked() -> None:
    pointer = CORPUS / "evals" / "agent-pre-action-control.yaml"
    with pytest.raises(ValidationError) as refused:
        eval_spec(parse_args(["eval", str(pointer), "--model-map", "*=m"]))
    assert refused.value.details["reason"] == "lfs-pointer"

    triage = str(CORPUS / "api" / "support-triage.json")
    with pytest.raises(ValidationError) as unsupported:
        eval_spec(parse_args(["eval", triage, "--model-map", "*=m"]))
    assert "testing_criteria[2].evaluation_metric" in unsupported.value.message
    spec = eval_spec(parse_args(["eval", triage, "--model-map", "*=m", "--skip-unsupported"]))
    assert [s["name"] for s in spec.scorers] == ["right-queue-1", "close-to-the-queue-name-2"]


def test_a_name_after_hash_picks_one_eval_of_a_registry_file() -> None:
    path = CORPUS / "evals" / "test-basic.yaml"
    with pytest.raises(ValidationError) as first:
        eval_spec(parse_args(["eval", f"{path}#test-includes", "--model-map", "*=m"]))
    # That eval's samples are a Git LFS pointer: refused for it, not "file not found".
    assert first.value.details["reason"] == "lfs-pointer"
    assert "test_fuzzy_match" in first.value.message  # test-includes' samples, not test-match's
    with pytest.raises(ValidationError) as default:
        eval_spec(parse_args(["eval", str(path), "--model-map", "*=m"]))
    assert "test_match" in default.value.message
