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


def test_grader_and_embedder_flags_pick_the_judges_not_the_model_map() -> None:
    config = str(CORPUS / "eval-customer-support-rubric" / "promptfooconfig.yaml")
    mapped = ["eval", config, "--model-map", "*=openai/sim-small", "--skip-unsupported"]

    def judges(spec: object) -> set[str]:
        return {
            s["args"]["model"]
            for case in spec.cases  # type: ignore[attr-defined]
            for s in case.scorers
            if s["type"] == "llm-judge"
        }

    assert judges(eval_spec(parse_args(mapped))) == {"openai/sim-small"}
    graded = eval_spec(parse_args([*mapped, "--grader", "openai/sim-judge"]))
    assert judges(graded) == {"openai/sim-judge"}
    assert graded.models == ("openai/sim-small",)  # the models under test keep the map


def test_the_model_map_rule_then_the_map_then_the_grader_flags() -> None:
    from engine.interop import ModelMap

    plain = ModelMap.parse(["openai:gpt-4.1=openai/sim-large"])
    assert plain.resolve("openai:chat:gpt-4o") == "openai/gpt-4o"  # the documented rule
    assert plain.resolve("anthropic:messages:claude-x") == "anthropic/claude-x"
    assert plain.resolve("openai:gpt-4.1") == "openai/sim-large"
    assert plain.resolve(None) is None and plain.resolve_grader(None) is None
    flagged = ModelMap.parse(["*=m"], grader="openai/sim-judge", embedder="openai/sim-embed")
    assert flagged.resolve("openai:gpt-4.1") == "m"
    assert flagged.resolve_grader("openai:gpt-4.1") == "openai/sim-judge"
    assert flagged.resolve_embedder("openai:embedding:x") == "openai/sim-embed"
    with pytest.raises(ValidationError, match="FROM=TO"):
        ModelMap.parse(["gpt-4"])


def test_fail_under_names_an_imported_suites_metric() -> None:
    from engine.cli.eval_gates import plan_gates

    config = str(CORPUS / "eval-customer-support-rubric" / "promptfooconfig.yaml")
    base = ["eval", config, "--model-map", "*=openai/sim-small", "--skip-unsupported"]
    args = parse_args([*base, "--fail-under", "correct=0.5"])
    plan = plan_gates(args, eval_spec(args))  # `correct` is a promptfoo `metric:` of a test
    assert [t.scorer for t in plan.thresholds] == ["correct"]
    args = parse_args([*base, "--fail-under", "nope=0.5"])
    with pytest.raises(ValidationError, match="no scorer named 'nope'"):
        plan_gates(args, eval_spec(args))
