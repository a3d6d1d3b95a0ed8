"""What `autoforge eval FILE` and `autoforge import` make of a suite, before any service."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import parse_args
from domain.errors import ValidationError
from engine.cli.interop import eval_spec, imported_eval, load_imported, native_eval_yaml
from engine.evaluation.evalfile import load_eval_file

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "promptfoo"
ROOT = Path(__file__).resolve().parents[3]


def test_a_promptfoo_config_is_run_as_an_imported_eval_on_the_simulator() -> None:
    config = CORPUS / "simple-cli" / "promptfooconfig.yaml"
    args = parse_args(["eval", str(config), "--model-map", "*=openai/sim-small"])
    spec = eval_spec(args)
    assert spec.dataset_path is None and len(spec.cases) == 4
    assert spec.models == ("openai/sim-small",) and spec.simulator
    assert len(spec.versions) == 2 and spec.name == "simple-test"


def test_real_models_do_not_start_the_simulator_unless_asked() -> None:
    config = CORPUS / "simple-cli" / "promptfooconfig.yaml"
    assert not eval_spec(parse_args(["eval", str(config)])).simulator
    assert eval_spec(parse_args(["eval", str(config), "--simulator"])).simulator


def test_a_native_eval_file_is_still_read_as_one() -> None:
    spec = eval_spec(parse_args(["eval", str(ROOT / "examples/arithmetic/eval.yaml")]))
    assert spec.dataset_path is not None and not spec.cases


def test_unsupported_constructs_refuse_unless_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    config = str(CORPUS / "json-output" / "promptfooconfig.yaml")
    with pytest.raises(ValidationError) as refused:
        eval_spec(parse_args(["eval", config, "--model-map", "*=openai/sim-small"]))
    assert refused.value.details["reason"] == "unsupported"
    assert "tests[1].assert[2]" in refused.value.message
    args = parse_args(["eval", config, "--model-map", "*=m", "--skip-unsupported"])
    assert len(eval_spec(args).cases) == 2
    assert "skipped 2 unsupported construct(s)" in capsys.readouterr().err


def test_inline_code_assertions_come_over_as_python_and_javascript_scorers() -> None:
    config = str(CORPUS / "simple-test" / "promptfooconfig.yaml")
    spec = eval_spec(parse_args(["eval", config, "--model-map", "*=openai/sim-small"]))
    code = [s for case in spec.cases for s in case.scorers if s["type"] in ("python", "javascript")]
    assert [(s["type"], s["args"]) for s in code] == [
        ("javascript", {"expression": "output.startsWith('Ahoy')"}),
        ("python", {"expression": "max(0, len(output) - 300)"}),
    ]


def test_a_suite_with_no_prompt_left_is_refused() -> None:
    config = str(CORPUS / "multiple-turn-conversation" / "promptfooconfig.yaml")
    args = parse_args(["eval", config, "--skip-unsupported"])
    with pytest.raises(ValidationError, match="no prompt is left to run"):
        load_imported(args, "promptfoo")


def test_the_written_eval_file_reads_back_with_the_same_versions_and_models(
    tmp_path: Path,
) -> None:
    config = str(CORPUS / "llama-gpt-comparison" / "promptfooconfig.yaml")
    args = parse_args(["import", "promptfoo", config, "--skip-unsupported", "--out", "x"])
    spec = imported_eval(load_imported(args, "promptfoo"), args)
    (tmp_path / "cases.jsonl").write_text('{"vars": {"message": "hi"}}\n')
    (tmp_path / "eval.yaml").write_text(native_eval_yaml(spec, "cases.jsonl"))
    again = load_eval_file(tmp_path / "eval.yaml")
    assert again.versions == spec.versions
    assert again.models == spec.models and again.name == spec.name
