"""OpenAI Evals registry YAML and hosted Evals API importers (no services)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.errors import ValidationError
from domain.prompts import Template
from domain.scoring import ScoreContext, build_scorer
from domain.scoring.base import PureScorer
from engine.interop import ModelMap, detect_kind, load_suite
from engine.interop.openai_evals import load_openai_evals
from engine.interop.openai_evals_api import load_openai_evals_api
from engine.sdk.evalrun import eval_rows

CORPUS = Path(__file__).parents[2] / "fixtures" / "openai_evals"
SIM = ModelMap.parse(["*=openai/sim-small"])
MATCH = "evals.elsuite.basic.match:Match"
CLASSIFY = "evals.elsuite.modelgraded.classify:ModelBasedClassify"
INCLUDES = "evals.elsuite.basic.includes:Includes"
FUZZY = "evals.elsuite.basic.fuzzy_match:FuzzyMatch"


def _registry(
    tmp_path: Path,
    rows: list[dict[str, Any]],
    cls: str = MATCH,
    args: dict[str, Any] | None = None,
    name: str = "my-eval",
) -> Path:
    (tmp_path / "evals").mkdir(exist_ok=True)
    data = tmp_path / "data" / name
    data.mkdir(parents=True, exist_ok=True)
    (data / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = {
        name: {"id": f"{name}.dev.v0", "description": "about it", "metrics": ["accuracy"]},
        f"{name}.dev.v0": {
            "class": cls,
            "args": {"samples_jsonl": f"{name}/samples.jsonl", **(args or {})},
        },
    }
    path = tmp_path / "evals" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _verdict(spec: dict[str, Any], output: str, expected: str | None = None) -> bool:
    scorer = build_scorer(spec)
    assert isinstance(scorer, PureScorer)
    return bool(scorer.score(ScoreContext(output=output, expected=expected)).passed)


def _reason(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return str(exc.value.details.get("reason"))


# -- registry YAML: shape, selection, files ------------------------------------------------


def test_detect_kind_tells_a_registry_yaml_from_an_api_definition_and_others() -> None:
    registry = CORPUS / "evals" / "agent-tool-routing.yaml"
    api = CORPUS / "api" / "capitals-string-check.json"
    assert detect_kind(registry, yaml.safe_load(registry.read_text())) == "openai-evals"
    assert detect_kind(api, json.loads(api.read_text())) == "openai-evals-api"
    assert detect_kind(api, {"prompts": ["x"], "tests": []}) != "openai-evals"


def test_a_text_sample_becomes_a_case_rendered_by_one_input_template(tmp_path: Path) -> None:
    path = _registry(tmp_path, [{"input": "2+2=", "ideal": "4"}, {"input": "3+3=", "ideal": "6"}])

    suite = load_suite(path, "openai-evals", SIM)

    assert suite.kind == "openai-evals" and suite.name == "my-eval"
    assert suite.description == "about it"
    assert suite.models == ("openai/sim-small",)
    (version,) = suite.versions
    assert version.template == "{{input}}" and version.settings == {"temperature": 0.0}
    assert [(c.variables["input"], c.expected) for c in suite.cases] == [
        ("2+2=", "4"),
        ("3+3=", "6"),
    ]


def test_legacy_prompt_and_completion_fields_are_read(tmp_path: Path) -> None:
    path = _registry(tmp_path, [{"prompt": "Capital of Peru?", "completion": "Lima"}])
    (case,) = load_suite(path, "openai-evals", SIM).cases
    assert case.variables["input"] == "Capital of Peru?" and case.expected == "Lima"


def test_a_chat_sample_keeps_system_few_shot_and_final_user_turn(tmp_path: Path) -> None:
    chat = [
        {"role": "system", "content": "Answer with one word."},
        {"role": "system", "name": "example_user", "content": "Capital of France?"},
        {"role": "system", "name": "example_assistant", "content": "Paris"},
        {"role": "user", "content": "Capital of Japan?"},
    ]
    path = _registry(tmp_path, [{"input": chat, "ideal": "Tokyo"}])

    suite = load_suite(path, "openai-evals", SIM)

    (version,) = suite.versions
    template = Template.from_messages(version.messages)
    (case,) = suite.cases
    rendered = template.render(case.variables).as_dicts()
    assert rendered == [
        {"role": "system", "content": "Answer with one word."},
        {
            "role": "user",
            "content": "User: Capital of France?\nAssistant: Paris\n\nCapital of Japan?",
        },
    ]
    assert case.variables["transcript"].startswith(
        "Answer with one word.\nUser: Capital of France?"
    )


def test_a_chat_that_does_not_end_with_a_user_turn_is_reported(tmp_path: Path) -> None:
    good = {"input": [{"role": "user", "content": "Hi"}], "ideal": "Hello"}
    bad = {"input": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Ho"}]}
    path = _registry(tmp_path, [good, {**bad, "ideal": "x"}])

    suite = load_suite(path, "openai-evals", SIM)

    assert len(suite.cases) == 1
    assert [u.where for u in suite.unsupported] == ["samples[1].input"]
    with pytest.raises(ValidationError) as exc:
        suite.check_supported(skip_unsupported=False)
    assert _reason(exc) == "unsupported"


def test_a_file_of_several_evals_imports_the_first_or_the_one_named(tmp_path: Path) -> None:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    data = tmp_path / "corpus" / "data" / "test_fuzzy_match" / "samples.jsonl"
    data.write_text(json.dumps({"input": "Say hi", "ideal": ["hi", "hello"]}) + "\n")
    path = tmp_path / "corpus" / "evals" / "test-basic.yaml"

    with pytest.raises(ValidationError) as exc:  # the first, test-match: an LFS pointer
        load_suite(path, "openai-evals", SIM)
    assert _reason(exc) == "lfs-pointer"
    by_suffix = load_suite(f"{path}#test-includes", "openai-evals", SIM)
    by_name = load_openai_evals(path, SIM, name="test-includes")
    assert by_suffix.name == by_name.name == "test-includes"
    with pytest.raises(ValidationError) as exc:
        load_openai_evals(path, SIM, name="nope")
    assert _reason(exc) == "bad-openai-eval" and "test-fuzzy-match" in str(exc.value)


def test_samples_are_found_next_to_the_yaml_in_a_data_dir_or_as_given(tmp_path: Path) -> None:
    path = _registry(tmp_path, [{"input": "a", "ideal": "b"}])
    moved = tmp_path / "elsewhere"
    shutil.move(tmp_path / "data", moved)
    with pytest.raises(ValidationError) as exc:
        load_suite(path, "openai-evals", SIM)
    assert _reason(exc) == "not-found"

    assert len(load_openai_evals(path, SIM, data_dir=moved).cases) == 1
    shutil.copytree(moved / "my-eval", tmp_path / "evals" / "my-eval")
    assert len(load_suite(path, "openai-evals", SIM).cases) == 1


def test_a_git_lfs_pointer_is_refused_with_its_own_reason() -> None:
    with pytest.raises(ValidationError) as exc:
        load_suite(CORPUS / "evals" / "agent-pre-action-control.yaml", "openai-evals", SIM)
    assert _reason(exc) == "lfs-pointer"
    assert "git lfs pull" in exc.value.message


def test_without_a_model_map_the_suite_names_no_model_and_refuses_to_run(tmp_path: Path) -> None:
    path = _registry(tmp_path, [{"input": "a", "ideal": "b"}])
    suite = load_suite(path, "openai-evals")
    assert suite.models == ()
    with pytest.raises(ValidationError) as exc:
        suite.to_eval_file()
    assert _reason(exc) == "no-model"


# -- registry YAML: eval classes -----------------------------------------------------------


def test_match_with_one_ideal_is_a_run_wide_starts_with(tmp_path: Path) -> None:
    path = _registry(tmp_path, [{"input": "q", "ideal": "Paris"}])
    suite = load_suite(path, "openai-evals", SIM)
    assert suite.scorers == ({"type": "starts-with", "args": {}, "name": "match"},)
    assert suite.cases[0].scorers == ()


def test_match_with_several_ideals_passes_an_output_starting_with_any(tmp_path: Path) -> None:
    path = _registry(
        tmp_path, [{"input": "q", "ideal": ["B", "(B)"]}, {"input": "r", "ideal": "C"}]
    )

    suite = load_suite(path, "openai-evals", SIM)

    assert suite.scorers == ()
    first, second = (case.scorers[0] for case in suite.cases)
    assert first["name"] == second["name"] == "match"
    assert _verdict(first, "(B) because") and _verdict(first, " B.")
    assert not _verdict(first, "The answer is B") and not _verdict(second, "B")


def test_includes_honours_ignore_case_and_several_ideals(tmp_path: Path) -> None:
    one = _registry(tmp_path, [{"input": "q", "ideal": "Paris"}], INCLUDES, {"ignore_case": True})
    (scorer,) = load_suite(one, "openai-evals", SIM).scorers
    assert _verdict(scorer, "it is PARIS", "Paris")

    many = _registry(tmp_path, [{"input": "q", "ideal": ["cat", "dog"]}], INCLUDES, name="pets")
    (case,) = load_suite(many, "openai-evals", SIM).cases
    assert _verdict(case.scorers[0], "a dog") and not _verdict(case.scorers[0], "a Dog")


def test_fuzzy_match_is_the_token_f1(tmp_path: Path) -> None:
    path = _registry(tmp_path, [{"input": "q", "ideal": "the Eiffel Tower"}], FUZZY)
    suite = load_suite(path, "openai-evals", SIM)
    assert suite.scorers[0]["type"] == "f-score" and not suite.unsupported


def test_json_match_compares_parsed_json_with_any_ideal(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [
        {"input": "q", "ideal": ['{"a": 1, "b": [2]}', '{"a": 2}']},
        {"input": "r", "ideal": "not json"},
    ]
    path = _registry(tmp_path, rows, "evals.elsuite.basic.json_match:JsonMatch")

    suite = load_suite(path, "openai-evals", SIM)

    first = suite.cases[0].scorers[0]
    assert _verdict(first, '{"b": [2], "a": 1.0}') and _verdict(first, '{"a": 2}')
    assert not _verdict(first, '{"a": 1}') and not _verdict(first, "a: 1")
    assert suite.cases[1].scorers == ()
    assert [u.where for u in suite.unsupported] == ["samples[1].ideal"]


def test_few_shot_samples_are_spliced_before_the_final_turn(tmp_path: Path) -> None:
    chat = [{"role": "system", "content": "Spell it."}, {"role": "user", "content": "cat"}]
    args = {"few_shot_jsonl": "my-eval/few.jsonl", "num_few_shot": 1}
    path = _registry(tmp_path, [{"input": chat, "ideal": "c-a-t"}], MATCH, args)
    shots = [
        {"sample": [{"role": "user", "content": "dog"}, {"role": "assistant", "content": "d-o-g"}]},
        {"sample": [{"role": "user", "content": "ox"}, {"role": "assistant", "content": "o-x"}]},
    ]
    (tmp_path / "data" / "my-eval" / "few.jsonl").write_text(
        "".join(json.dumps(shot) + "\n" for shot in shots)
    )

    suite = load_suite(path, "openai-evals", SIM)

    (case,) = suite.cases
    assert case.variables["system"] == "Spell it."
    assert case.variables["history"] == "User: dog\nAssistant: d-o-g\n\n"
    assert case.variables["input"] == "cat" and not suite.unsupported


def test_a_chat_of_system_messages_only_is_sent_as_it_is(tmp_path: Path) -> None:
    chat = [{"role": "system", "content": "Solve it: 2+2?"}]
    path = _registry(tmp_path, [{"input": chat, "ideal": "4"}])

    suite = load_suite(path, "openai-evals", SIM)

    (version,) = suite.versions
    (case,) = suite.cases
    rendered = Template.from_messages(version.messages).render(case.variables).as_dicts()
    assert rendered == [{"role": "system", "content": "Solve it: 2+2?"}]
    assert not suite.unsupported


def test_a_system_only_chat_among_chats_ending_with_a_user_turn_is_reported(
    tmp_path: Path,
) -> None:
    rows = [
        {"input": [{"role": "system", "content": "Solve it: 2+2?"}], "ideal": "4"},
        {"input": [{"role": "user", "content": "Solve it: 3+3?"}], "ideal": "6"},
    ]
    suite = load_suite(_registry(tmp_path, rows), "openai-evals", SIM)

    assert [c.variables["input"] for c in suite.cases] == ["Solve it: 3+3?"]
    assert [u.where for u in suite.unsupported] == ["samples[0].input"]


def test_a_repeated_sample_is_a_case_of_its_own(tmp_path: Path) -> None:
    row = {"input": "Capital of France?", "ideal": "Paris"}
    path = _registry(tmp_path, [row, {"input": "Capital of Japan?", "ideal": "Tokyo"}, row])

    suite = load_suite(path, "openai-evals", SIM)

    first, _, third = suite.cases
    assert third.id == f"{first.id}-2" and third.variables == first.variables
    assert len(eval_rows(suite.to_eval_file())) == 3


def test_an_unknown_class_or_argument_is_reported_not_dropped(tmp_path: Path) -> None:
    path = _registry(tmp_path, [{"input": "q", "ideal": "a"}], MATCH, {"n_samples": 3})
    odd = _registry(tmp_path, [{"input": "q", "ideal": "a"}], "my.module:Custom", name="odd")

    (arg,) = load_suite(path, "openai-evals", SIM).unsupported
    (cls,) = load_suite(odd, "openai-evals", SIM).unsupported
    assert arg.where == "my-eval.dev.v0.args.n_samples"
    assert cls.where == "odd.dev.v0.class" and "my.module:Custom" in cls.what


# -- registry YAML: model-graded -----------------------------------------------------------


def _graded(tmp_path: Path, args: dict[str, Any], rows: list[dict[str, Any]] | None = None) -> Any:
    shutil.copytree(CORPUS / "modelgraded", tmp_path / "modelgraded")
    rows = rows or [{"input": "Who wrote Hamlet?", "ideal": "Shakespeare"}]
    path = _registry(tmp_path, rows, CLASSIFY, args)
    return load_suite(path, "openai-evals", ModelMap.parse(["*=openai/sim-small"]))


def test_the_fact_spec_is_read_from_its_yaml_with_the_judge_from_the_map(tmp_path: Path) -> None:
    suite = _graded(tmp_path, {"modelgraded_spec": "fact"})

    (scorer,) = suite.scorers
    args = scorer["args"]
    assert scorer["type"] == "model-graded-classify" and scorer["name"] == "model-graded"
    assert args["choice_strings"] == ["A", "B", "C", "D", "E"]
    assert args["prompt"].startswith("You are comparing a submitted answer to an expert answer")
    assert "{completion}" in args["prompt"] and "{ideal}" in args["prompt"]
    assert args["model"] == "openai/sim-small" and args["eval_type"] == "classify"
    assert not suite.unsupported
    build_scorer(scorer)


def test_closedqa_gives_one_scorer_per_criterion_unless_the_eval_picks_one(
    tmp_path: Path,
) -> None:
    every = _graded(tmp_path, {"modelgraded_spec": "closedqa", "eval_type": "cot_classify"})
    names = [s["name"] for s in every.scorers]
    assert names == ["model-graded-conciseness", "model-graded-correct", "model-graded-relevance"]
    assert every.scorers[1]["args"]["criteria"] == "correctness: Is the answer correct?"
    assert every.scorers[1]["args"]["choice_scores"] == {"Y": 1.0, "N": 0.0}

    picked = {"criteria": {"correct": "correctness: Is it right?"}}
    shutil.rmtree(tmp_path / "modelgraded")
    (one,) = _graded(
        tmp_path, {"modelgraded_spec": "closedqa", "modelgraded_spec_args": picked}
    ).scorers
    assert one["name"] == "model-graded" and one["args"]["criteria"] == "correctness: Is it right?"
    assert one["args"]["eval_type"] == "cot_classify"  # the spec's own


def test_a_chat_input_reaches_the_judge_as_its_transcript(tmp_path: Path) -> None:
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hamlet?"}]
    suite = _graded(tmp_path, {"modelgraded_spec": "fact"}, [{"input": chat, "ideal": "Sh."}])
    assert "[Question]: {transcript}" in suite.scorers[0]["args"]["prompt"]
    assert suite.cases[0].variables["transcript"] == "Be brief.\nUser: Hamlet?"


def test_a_spec_in_the_registrys_newer_layout_is_read_under_its_name(tmp_path: Path) -> None:
    args = {"modelgraded_spec": "translation", "modelgraded_spec_args": {"language": "Urdu"}}
    (scorer,) = _graded(tmp_path, args).scorers
    assert scorer["args"]["prompt"].startswith("You are comparing the submitted translation")
    assert "from Urdu to English" in scorer["args"]["prompt"]
    assert scorer["args"]["choice_strings"] == ["Y", "N"]
    build_scorer(scorer)


def test_a_spec_argument_the_prompt_does_not_use_is_reported_not_dropped(tmp_path: Path) -> None:
    typo = {"crtieria": "relevance: Is it from the text?"}  # coqa-ex.yaml has this typo
    suite = _graded(tmp_path, {"modelgraded_spec": "closedqa", "modelgraded_spec_args": typo})

    assert suite.scorers == ()
    assert [(u.where, u.what) for u in suite.unsupported] == [
        ("my-eval.dev.v0.args.modelgraded_spec_args.crtieria", "'crtieria' is not in the prompt"),
        ("closedqa.yaml.prompt", "{criteria} is given no value"),
    ]


def test_metaeval_multicomp_and_a_missing_spec_are_reported(tmp_path: Path) -> None:
    suite = _graded(
        tmp_path, {"modelgraded_spec_file": "humor", "metaeval": True, "multicomp_n": 2}
    )
    wheres = {u.where for u in suite.unsupported}
    assert {"my-eval.dev.v0.args.metaeval", "my-eval.dev.v0.args.multicomp_n"} <= wheres
    shutil.rmtree(tmp_path / "modelgraded")
    with pytest.raises(ValidationError) as exc:
        _graded(tmp_path, {"modelgraded_spec": "no-such-spec"})
    assert _reason(exc) == "not-found" and "no-such-spec" in exc.value.message


def test_a_graded_samples_completion_and_renamed_fields_are_not_its_ideal(tmp_path: Path) -> None:
    rows = [{"input1": "Tell a joke", "completion1": "A pun", "choice": "Yes"}]
    args = {
        "modelgraded_spec": "humor",
        "samples_renamings": {"input1": "input", "completion1": "completion"},
    }
    (case,) = _graded(tmp_path, args, rows).cases
    assert case.variables["input"] == "Tell a joke" and case.expected is None


# -- hosted Evals API ----------------------------------------------------------------------


def _api(tmp_path: Path, criteria: list[dict[str, Any]], **extra: Any) -> Path:
    body = {
        "name": "My API eval",
        "data_source_config": {"type": "custom", "item_schema": {}},
        "testing_criteria": criteria,
    }
    items = extra.pop("items", [{"input": "Capital of Peru?", "ideal": "Lima", "alt": "LIMA"}])
    path = tmp_path / "eval.json"
    path.write_text(json.dumps({"eval": body, "items": items, **extra}))
    return path


def _check(op: str, reference: str = "{{item.ideal}}", **more: Any) -> dict[str, Any]:
    return {
        "type": "string_check",
        "name": f"check {op}",
        "input": "{{ sample.output_text }}",
        "operation": op,
        "reference": reference,
        **more,
    }


def test_string_check_operations_map_to_our_scorers(tmp_path: Path) -> None:
    path = _api(tmp_path, [_check("eq"), _check("ne"), _check("like"), _check("ilike")])

    suite = load_suite(path, "openai-evals-api", SIM)

    eq, ne, like, ilike = suite.scorers
    assert [s["name"] for s in suite.scorers] == [
        "check-eq-1",
        "check-ne-2",
        "check-like-3",
        "check-ilike-4",
    ]
    assert suite.cases[0].expected == "Lima"
    assert _verdict(eq, "Lima", "Lima") and not _verdict(eq, "Lima ", "Lima")
    assert _verdict(ne, "Cusco", "Lima") and not _verdict(ne, "Lima", "Lima")
    assert _verdict(like, "It is Lima", "Lima") and not _verdict(like, "LIMA", "Lima")
    assert _verdict(ilike, "LIMA!", "Lima")


def test_a_reference_to_another_item_field_becomes_a_per_case_assertion(tmp_path: Path) -> None:
    path = _api(tmp_path, [_check("eq"), _check("ilike", "{{item.alt}} city"), _check("eq", "x")])

    suite = load_suite(path, "openai-evals-api", SIM)

    assert [s["name"] for s in suite.scorers] == ["check-eq-1", "check-eq-3"]
    assert suite.scorers[1]["args"]["value"] == "x"
    (own,) = suite.cases[0].scorers
    assert own["args"]["value"] == "LIMA city" and own["name"] == "check-ilike-2"
    (row,) = eval_rows(suite.to_eval_file())
    assert row["scorers"] == [own]


def test_text_similarity_maps_known_metrics_and_reports_others(tmp_path: Path) -> None:
    sim = {
        "type": "text_similarity",
        "name": "close",
        "input": "{{sample.output_text}}",
        "reference": "{{item.ideal}}",
        "evaluation_metric": "fuzzy_match",
        "pass_threshold": 0.8,
    }
    path = _api(tmp_path, [sim, {**sim, "evaluation_metric": "cosine"}])

    suite = load_suite(path, "openai-evals-api", SIM)

    assert suite.scorers == (
        {"type": "similarity", "args": {}, "threshold": 0.8, "name": "close-1"},
    )
    assert [u.where for u in suite.unsupported] == ["testing_criteria[1].evaluation_metric"]


def test_graders_of_other_inputs_or_types_are_reported(tmp_path: Path) -> None:
    odd_input = {**_check("eq"), "input": "{{item.ideal}}"}
    python = {"type": "python", "name": "code", "source": "def grade(s, i): return 1"}
    suite = load_suite(_api(tmp_path, [odd_input, python]), "openai-evals-api", SIM)
    assert suite.scorers == ()
    assert [u.where for u in suite.unsupported] == [
        "testing_criteria[0].input",
        "testing_criteria[1].type",
    ]


def test_score_model_is_an_llm_judge_with_its_range_rescaled(tmp_path: Path) -> None:
    grader = {
        "type": "score_model",
        "name": "quality",
        "model": "o3-mini",
        "input": [{"role": "user", "content": "Rate the answer {{sample.output_text}}"}],
        "range": [1, 5],
        "pass_threshold": 4,
    }
    (judge,) = load_suite(_api(tmp_path, [grader]), "openai-evals-api").scorers
    assert judge["type"] == "llm-judge" and judge["args"]["pass_threshold"] == 0.75
    assert judge["args"]["model"] == "openai/o3-mini"
    assert judge["args"]["rubric"] == "Rate the answer the answer"
    build_scorer(judge)


def test_label_model_is_a_graded_classification_over_its_labels(tmp_path: Path) -> None:
    grader = {
        "type": "label_model",
        "name": "tone",
        "model": "gpt-4o",
        "input": [
            {"role": "developer", "content": 'Label the reply {"strict": true}.'},
            {"role": "user", "content": "Q: {{item.input}}\nA: {{sample.output_text}}"},
        ],
        "labels": ["good", "bad", "unsure"],
        "passing_labels": ["good"],
    }
    (scorer,) = load_suite(_api(tmp_path, [grader]), "openai-evals-api", SIM).scorers
    args = scorer["args"]
    assert args["prompt"] == 'Label the reply {{"strict": true}}.\n\nQ: {input}\nA: {completion}'
    assert args["choice_scores"] == {"good": 1.0, "bad": 0.0, "unsure": 0.0}
    assert args["model"] == "openai/sim-small"
    build_scorer(scorer)


def test_the_run_template_is_the_prompt_and_its_model_the_suite_model(tmp_path: Path) -> None:
    run = {
        "data_source": {
            "type": "completions",
            "model": "gpt-4o-mini",
            "input_messages": {
                "type": "template",
                "template": [
                    {"role": "developer", "content": "Be brief."},
                    {"role": "user", "content": "{{ item.input }}"},
                ],
            },
        }
    }
    suite = load_suite(_api(tmp_path, [_check("eq")], run=run), "openai-evals-api")
    (version,) = suite.versions
    assert version.messages == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "{{input}}"},
    )
    assert suite.models == ("openai/gpt-4o-mini",)
    assert suite.name == "My-API-eval"


def test_items_may_sit_in_a_jsonl_file_beside_the_eval(tmp_path: Path) -> None:
    suite = load_openai_evals_api(CORPUS / "api" / "support-triage.json", SIM)
    assert len(suite.cases) == 4 and suite.cases[0].variables["category"] == "billing"

    body = json.loads((CORPUS / "api" / "support-triage.json").read_text())
    (tmp_path / "e.json").write_text(json.dumps(body))
    with pytest.raises(ValidationError) as exc:
        load_openai_evals_api(tmp_path / "e.json", SIM)
    assert _reason(exc) == "not-found"
    items = tmp_path / "rows.jsonl"
    items.write_text(json.dumps({"input": "hi", "category": "account"}) + "\n")
    assert len(load_openai_evals_api(tmp_path / "e.json", SIM, items_path=items).cases) == 1


def test_without_a_template_items_need_an_input(tmp_path: Path) -> None:
    path = _api(tmp_path, [_check("eq")], items=[{"question": "q", "ideal": "a"}])
    with pytest.raises(ValidationError) as exc:
        load_suite(path, "openai-evals-api", SIM)
    assert _reason(exc) == "bad-openai-eval" and "input_messages" in exc.value.message


# -- the corpus ----------------------------------------------------------------------------

CORPUS_OUTCOMES = [
    ("evals/agent-tool-routing.yaml", "openai-evals", 12),
    ("evals/agent-tool-abstention.yaml", "openai-evals", 12),
    ("evals/arabic-literature-qa.yaml", "openai-evals", 4),
    ("evals/time-zone-conversion.yaml", "openai-evals", 8),
    ("evals/algebra-word-problems.yaml", "openai-evals", 6),
    ("evals/thirty_six_stratagems.yaml", "openai-evals", 36),
    ("evals/chinese_ancient_masterpieces_dynasty.yaml", "openai-evals", 16),
    ("evals/simple_math.yaml", "openai-evals", 15),
    ("evals/finance.yaml", "openai-evals", 5),
    ("evals/icelandic-inflection-easy.yaml", "openai-evals", 10),
    ("evals/logic.yaml", "openai-evals", 10),
    ("evals/coqa-ex.yaml", "openai-evals", 5),
    ("evals/coqa-ex.yaml#coqa-fact", "openai-evals", 9),
    ("evals/coqa-ex.yaml#coqa-fact-expl", "openai-evals", 9),
    ("evals/coqa-ex.yaml#coqa-closedqa-correct", "openai-evals", 9),
    ("evals/coqa-ex.yaml#coqa-closedqa-relevance", "openai-evals", 9),
    ("evals/coqa-ex.yaml#coqa-closedqa-conciseness", "openai-evals", 9),
    ("evals/iqbal-poetry-translation.yaml", "openai-evals", 20),
    ("evals/iqbal-poetry-translation.yaml#translation-meta", "openai-evals", 15),
    ("evals/arithmetic-expression.yaml", "openai-evals", 15),
    ("evals/arithmetic-expression.yaml#arithmetic-expression-meta", "openai-evals", "not-found"),
    ("evals/agent-pre-action-control.yaml", "openai-evals", "lfs-pointer"),
    ("evals/NumScreen-Match.yaml", "openai-evals", "lfs-pointer"),
    ("evals/Kaomoji_recognition.yaml", "openai-evals", "lfs-pointer"),
    ("evals/Indian_Menstrual_Health_ChatBot-closedqa.yaml", "openai-evals", "lfs-pointer"),
    ("evals/test-basic.yaml", "openai-evals", "lfs-pointer"),
    ("evals/test-basic.yaml#test-fuzzy-match", "openai-evals", "lfs-pointer"),
    ("evals/test-modelgraded.yaml#joke-fruits", "openai-evals", "lfs-pointer"),
    ("evals/test-modelgraded.yaml", "openai-evals", "not-found"),
    ("api/capitals-string-check.json", "openai-evals-api", 6),
    ("api/support-triage.json", "openai-evals-api", 4),
    ("api/summary-score-model.json", "openai-evals-api", 3),
]


@pytest.mark.parametrize(("path", "kind", "outcome"), CORPUS_OUTCOMES)
def test_each_corpus_spec_imports_or_refuses_with_the_expected_reason(
    path: str, kind: str, outcome: int | str
) -> None:
    source = CORPUS / path
    real = Path(str(source).split("#")[0])
    text = real.read_text()
    data = json.loads(text) if real.suffix == ".json" else yaml.safe_load(text)
    assert detect_kind(real, data) == kind
    if isinstance(outcome, str):
        with pytest.raises(ValidationError) as exc:
            load_suite(source, kind, SIM)
        assert _reason(exc) == outcome
        return
    suite = load_suite(source, kind, SIM)
    spec = suite.to_eval_file()
    assert len(eval_rows(spec)) == outcome
    assert spec.models == ("openai/sim-small",) and spec.dataset_path is None
