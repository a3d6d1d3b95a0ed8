"""promptfoo configs read as they are: each feature on a small config, then the real corpus."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from domain.errors import ValidationError
from domain.scoring import registered_scorers
from engine.interop import ModelMap, detect_kind, load_suite
from engine.interop.promptfoo_assertions import parse_csv_expected
from engine.interop.promptfoo_text import unsupported_template
from engine.interop.suite import ImportedSuite

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "promptfoo"
SIM = ModelMap.parse(["*=openai/sim-small"])


def write(tmp_path: Path, config: str, **files: str) -> Path:
    for name, text in files.items():
        target = tmp_path / name.replace("__", "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(textwrap.dedent(config))
    return path


def load(path: Path, model_map: ModelMap | None = None) -> ImportedSuite:
    return load_suite(path, "promptfoo", model_map)


def where(suite: ImportedSuite) -> dict[str, str]:
    return {u.where: u.what for u in suite.unsupported}


def test_detected_by_shape_or_by_file_name(tmp_path: Path) -> None:
    shaped = {"prompts": ["hi"], "tests": []}
    assert detect_kind(tmp_path / "suite.yaml", shaped) == "promptfoo"
    assert detect_kind(tmp_path / "promptfooconfig.yaml", {"prompts": ["x"]}) == "promptfoo"
    assert detect_kind(tmp_path / "eval.yaml", {"prompt": {}, "models": []}) is None


def test_inline_prompts_become_versions_named_from_the_description(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        description: A Translator, v2
        prompts: ['Say {{ text }} in French', 'French for {{text}}?']
        providers: [openai:gpt-4o-mini]
        tests:
          - vars: {text: hello}
        """,
    )
    suite = load(path)
    assert suite.name == suite.prompt_name == "a-translator-v2"
    templates = [v.template for v in suite.versions]
    assert templates == ["Say {{ text }} in French", "French for {{text}}?"]
    assert suite.models == ("openai/gpt-4o-mini",)
    assert suite.cases[0].variables == {"text": "hello"}
    assert not suite.unsupported


def test_a_prompt_file_splits_on_dashes_and_labels_go_into_the_version_message(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
        prompts:
          - file://prompts.txt
          - {raw: 'Third {{x}}', label: third one}
        providers: [openai:gpt-4o]
        tests: [{vars: {x: 1}}]
        """,
        **{"prompts.txt": "First {{x}}\n---\nSecond {{x}}\n"},
    )
    suite = load(path)
    assert [v.template for v in suite.versions] == ["First {{x}}", "Second {{x}}", "Third {{x}}"]
    assert [v.message for v in suite.versions] == [
        "promptfoo prompt 'prompts.txt[0]'",
        "promptfoo prompt 'prompts.txt[1]'",
        "promptfoo prompt 'third one'",
    ]
    assert suite.name == tmp_path.name.lower().replace("_", "-")


def test_chat_prompts_inline_and_from_json_and_yaml_files(tmp_path: Path) -> None:
    chat = [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "{{q}}"}]
    path = write(
        tmp_path,
        f"""
        prompts:
          - '{json.dumps(chat)}'
          - file://chat.json
          - id: file://chat.yaml
            label: from yaml
        providers: [openai:gpt-4o]
        tests: [{{vars: {{q: why}}}}]
        """,
        **{"chat.json": json.dumps(chat), "chat.yaml": "- role: user\n  content: 'Q: {{q}}'\n"},
    )
    suite = load(path)
    assert [len(v.messages) for v in suite.versions] == [2, 2, 1]
    assert suite.versions[2].messages[0] == {"role": "user", "content": "Q: {{q}}"}
    assert all(v.template is None for v in suite.versions)


def test_nunjucks_our_templates_cannot_render_is_unsupported_with_its_prompt(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{ name | upper }} says hi', '{% if x %}yes{% endif %}', 'plain {{ name }}']
        providers: [openai:gpt-4o]
        tests: [{vars: {name: a, x: 1}}]
        """,
    )
    suite = load(path)
    assert [v.template for v in suite.versions] == ["plain {{ name }}"]
    assert "{{ name | upper }}" in where(suite)["prompts[0]"]
    assert "{% if x %}" in where(suite)["prompts[1]"]
    assert unsupported_template("{{ a.b }}") == "{{ a.b }}"
    assert unsupported_template("{{a}} and {{ b }}") is None


def test_providers_are_mapped_and_simple_config_becomes_version_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{q}}']
        providers:
          - id: openai:chat:gpt-4.1
            label: big
            config: {temperature: 0.2, max_tokens: 64}
          - id: anthropic:messages:claude-3-5-sonnet
            config: {temperature: 0.2, max_tokens: 64}
        tests: [{vars: {q: x}}]
        """,
    )
    suite = load(path, ModelMap.parse(["anthropic/claude-3-5-sonnet=openai/sim-large"]))
    assert suite.models == ("openai/gpt-4.1", "openai/sim-large")
    assert suite.versions[0].settings == {"temperature": 0.2, "max_tokens": 64}
    assert not suite.unsupported


def test_providers_with_different_settings_or_custom_code_are_unsupported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{q}}']
        providers:
          - {id: openai:gpt-4o, config: {temperature: 0}}
          - {id: openai:gpt-4o-mini, config: {temperature: 1, seed: 3}}
          - file://provider.py
        tests: [{vars: {q: x}}]
        """,
    )
    found = where(load(path))
    assert "different settings" in found["providers"]
    assert found["providers[1].config.seed"] == "provider setting 'seed'"
    assert "custom code" in found["providers[2]"]


def test_assertions_map_to_scorers_with_weight_threshold_and_metric(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{q}}']
        providers: [openai:gpt-4o]
        tests:
          - vars: {q: capital of France}
            threshold: 0.6
            assert:
              - {type: equals, value: Paris}
              - {type: icontains, value: paris, weight: 2, metric: Has_City}
              - {type: contains-any, value: [Paris, paris]}
              - {type: icontains-all, value: 'a,b'}
              - {type: starts-with, value: P}
              - {type: regex, value: '^P'}
              - {type: is-json}
              - {type: contains-json, value: {type: object}}
              - {type: latency, threshold: 2000}
              - {type: cost, threshold: 0.01}
        """,
    )
    case = load(path).cases[0]
    by_name = {s["name"]: s for s in case.scorers}
    assert case.threshold == 0.6
    assert by_name["equals"]["args"] == {"value": "Paris", "strip": False}
    assert by_name["has-city"]["weight"] == 2.0 and by_name["has-city"]["type"] == "icontains"
    assert by_name["contains-any"]["args"] == {"values": ["Paris", "paris"], "case_sensitive": True}
    assert by_name["icontains-all"]["args"] == {"values": ["a", "b"], "case_sensitive": False}
    assert by_name["regex"]["args"] == {"pattern": "^P"}
    assert by_name["is-json"]["args"] == {"extract": False}
    assert by_name["contains-json"]["type"] == "json-schema"
    assert by_name["contains-json"]["args"]["extract"] is True
    assert by_name["latency"]["args"] == {"max_ms": 2000.0}
    assert by_name["cost"]["args"] == {"max_usd": 0.01}


def test_not_prefix_negates_and_names_the_scorer(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{q}}']
        providers: [openai:gpt-4o]
        tests:
          - vars: {q: x}
            assert: [{type: not-contains, value: sorry}, {type: not-icontains-any, value: [a, b]}]
        """,
    )
    scorers = load(path).cases[0].scorers
    assert [(s["name"], s["type"], s.get("negate")) for s in scorers] == [
        ("not-contains", "contains", True),
        ("not-icontains-any", "contains-any", True),
    ]


def test_graders_come_from_options_provider_through_the_model_map(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{q}}']
        providers: [openai:gpt-4o]
        defaultTest:
          options: {provider: openai:gpt-4.1}
        tests:
          - vars: {q: x}
            assert:
              - {type: llm-rubric, value: 'answers {{q}}', threshold: 0.8}
              - {type: similar, value: hello, threshold: 0.9, provider: openai:embedding:e3}
        """,
    )
    model_map = ModelMap.parse(["openai:gpt-4.1=openai/sim-judge", "openai:embedding:e3=emb"])
    rubric, similar = load(path, model_map).cases[0].scorers
    assert rubric["type"] == "llm-judge"
    judge = {"model": "openai/sim-judge", "rubric": "answers x", "pass_threshold": 0.8}
    assert rubric["args"] == judge
    assert similar["type"] == "embedding-cosine"
    assert similar["args"] == {"model": "emb", "value": "hello", "threshold": 0.9}


def test_default_test_vars_and_asserts_apply_to_every_test_and_ref_templates_resolve(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{sys}} {{q}}']
        providers: [openai:gpt-4o]
        defaultTest:
          vars: {sys: Be kind.}
          assert: [{type: equals, value: '{{answer}}'}]
        assertionTemplates:
          polite: {type: icontains, value: please}
        tests:
          - vars: {q: a, answer: A}
            assert: [{$ref: '#/assertionTemplates/polite'}]
          - vars: {q: b, answer: B, sys: Be short.}
        """,
    )
    first, second = load(path).cases
    assert first.variables["sys"] == "Be kind." and second.variables["sys"] == "Be short."
    assert [s["args"]["value"] for s in first.scorers] == ["A", "please"]
    assert [s["args"]["value"] for s in second.scorers] == ["B"]


def test_array_vars_expand_to_every_combination(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{a}} {{b}}']
        providers: [openai:gpt-4o]
        tests: [{vars: {a: [1, 2], b: [x, y, z]}}]
        """,
    )
    cases = load(path).cases
    assert len(cases) == 6 and len({c.id for c in cases}) == 6
    assert {(c.variables["a"], c.variables["b"]) for c in cases} == {
        (a, b) for a in (1, 2) for b in "xyz"
    }


def test_vars_from_files_and_a_missing_file_is_unsupported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{doc}}']
        providers: [openai:gpt-4o]
        tests:
          - vars: {doc: file://docs/a.md}
          - vars: {doc: file://docs/missing.md}
        """,
        **{"docs__a.md": "Policy text\n"},
    )
    suite = load(path)
    assert [c.variables["doc"] for c in suite.cases] == ["Policy text\n"]
    assert where(suite)["tests[1].vars.doc"] == "variable file 'docs/missing.md' not found"


def test_csv_tests_with_expected_columns_metadata_thresholds_and_config(tmp_path: Path) -> None:
    csv_text = (
        "q,__expected1,__expected2,__description,__threshold,__metadata:tags[],"
        "__config:__expected2:threshold,__prefix\n"
        'hi,contains: hello,"grade:greets {{q}}",greeting,0.5,"a,b\\,c",0.7,\n'
        "bye,not-icontains: hello,,farewell,,x,,\n"
    )
    path = write(
        tmp_path,
        """
        prompts: ['{{q}}']
        providers: [openai:gpt-4o]
        tests: file://tests.csv
        """,
        **{"tests.csv": csv_text},
    )
    first, second = load(path, SIM).cases
    assert first.threshold == 0.5 and second.threshold is None
    assert first.metadata == {"tags": ["a", "b,c"], "description": "greeting"}
    contains, rubric = first.scorers
    assert contains["args"] == {"value": "hello"}
    assert rubric["args"]["rubric"] == "greets hi" and rubric["args"]["pass_threshold"] == 0.7
    assert second.scorers[0]["negate"] is True


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Paris", {"type": "equals", "value": "Paris"}),
        ("contains: Paris", {"type": "contains", "value": "Paris"}),
        ("icontains:paris", {"type": "icontains", "value": "paris"}),
        ("regex: ^P", {"type": "regex", "value": "^P"}),
        ("grade: is polite", {"type": "llm-rubric", "value": "is polite"}),
        ("fn: output.length > 3", {"type": "javascript", "value": "output.length > 3"}),
        ("python: len(output) > 3", {"type": "python", "value": "len(output) > 3"}),
        ("similar(0.8): hello", {"type": "similar", "value": "hello", "threshold": 0.8}),
        ("contains-any: a, b", {"type": "contains-any", "value": ["a", "b"]}),
        ("is-json", {"type": "is-json"}),
        ("not-contains: x", {"type": "not-contains", "value": "x"}),
    ],
)
def test_csv_expected_cells_are_promptfoo_assertion_strings(cell: str, expected: Any) -> None:
    assert parse_csv_expected(cell) == expected


def test_jsonl_and_yaml_test_files(tmp_path: Path) -> None:
    line = json.dumps({"vars": {"q": "a"}, "assert": [{"type": "equals", "value": "A"}]})
    path = write(
        tmp_path,
        """
        prompts: ['{{q}}']
        providers: [openai:gpt-4o]
        tests: [file://cases.jsonl, file://more.yaml]
        """,
        **{"cases.jsonl": line + "\n", "more.yaml": "- vars: {q: b}\n"},
    )
    assert [c.variables["q"] for c in load(path).cases] == ["a", "b"]


def test_code_assertions_read_their_file_and_unknown_types_are_unsupported(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{q}}']
        providers: [openai:gpt-4o]
        tests:
          - vars: {q: x}
            assert:
              - {type: python, value: 'file://check.py:grade'}
              - {type: webhook, value: 'https://example.com'}
              - {type: contains, value: x, transform: output.trim()}
        """,
        **{"check.py": "def grade(output, context):\n    return True\n"},
    )
    suite = load(path)
    found = where(suite)
    assert found["tests[0].assert[1]"] == "assertion type 'webhook'"
    assert "transform" in found["tests[0].assert[2]"]
    python = [s for s in suite.cases[0].scorers if s["type"] == "python"]
    if "tests[0].assert[0]" not in found:  # a python scorer is registered: the source is in
        assert python[0]["args"] == {
            "source": "def grade(output, context):\n    return True\n",
            "function": "grade",
        }


def test_undefined_prompt_variables_render_empty_as_in_promptfoo(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{a}} {{style}}']
        providers: [openai:gpt-4o]
        tests: [{vars: {a: x}}]
        """,
    )
    assert load(path).cases[0].variables == {"a": "x", "style": ""}


def test_yes_stays_text_as_promptfoo_reads_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "prompts: ['{{b}}']\nproviders: [echo]\ntests: [{vars: {b: Yes}}]\n")
    assert load(path).cases[0].variables == {"b": "Yes"}


def test_unsupported_refuses_before_any_call_unless_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{q}}']
        providers: [openai:gpt-4o]
        tests: [{vars: {q: x}, assert: [{type: webhook, value: "http://x"}]}]
        """,
    )
    suite = load(path)
    with pytest.raises(ValidationError) as refused:
        suite.check_supported(skip_unsupported=False)
    assert refused.value.details["unsupported"] == [
        {"where": "tests[0].assert[0]", "what": "assertion type 'webhook'"}
    ]
    suite.check_supported(skip_unsupported=True)
    assert suite.to_eval_file().cases == suite.cases


CONFIGS = sorted(p.parent.name for p in CORPUS.glob("*/promptfooconfig.yaml"))


def test_the_corpus_holds_at_least_15_real_configs() -> None:
    assert len(CONFIGS) >= 15
    sources = (CORPUS / "SOURCES.md").read_text()
    assert all(f"| {name} | promptfoo/promptfoo | examples/{name}/" in sources for name in CONFIGS)


@pytest.mark.parametrize("name", CONFIGS)
def test_every_corpus_config_imports(name: str) -> None:
    path = CORPUS / name / "promptfooconfig.yaml"
    assert detect_kind(path, {"prompts": []}) == "promptfoo"
    suite = load(path, SIM)
    print(f"{name}: {len(suite.unsupported)} unsupported")  # noqa: T201 - shown with -s
    for item in suite.unsupported:
        print(f"  {item}")  # noqa: T201
    assert suite.models == ("openai/sim-small",)
    assert suite.versions or suite.unsupported
    assert suite.cases
    assert all(u.where and u.what for u in suite.unsupported)


def test_prompts_as_a_mapping_and_tests_from_a_glob(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        prompts: {'Hi {{q}}': greeting}
        providers: [openai:gpt-4o]
        tests: file://cases/*.yaml
        """,
        **{"cases__a.yaml": "- vars: {q: a}\n", "cases__b.yaml": "- vars: {q: b}\n"},
    )
    suite = load(path)
    assert [v.message for v in suite.versions] == ["promptfoo prompt 'greeting'"]
    assert [c.variables["q"] for c in suite.cases] == ["a", "b"]


def test_vars_from_a_file_reference_are_unsupported_not_a_crash(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{q}}']
        providers: [openai:gpt-4o]
        tests: [{vars: file://vars.yaml}, {vars: {q: x}}]
        """,
    )
    suite = load(path)
    assert where(suite) == {"tests[0].vars": "variables from a file (not a mapping)"}
    assert len(suite.cases) == 1


# What each corpus config cannot bring over, whichever scorers are registered (those that only
# wait for a scorer type, e.g. javascript, are left out: they change as scorers are added).
UNSUPPORTED_WHERE = {
    "eval-custom-grader-csv": {f"tests.csv[{i}].assert[0]" for i in range(4)},
    "eval-rag": {"tests[0].assert[4]", "tests[1].vars.context"},
    "json-output": {"tests[1].assert[2]", "tests[1].options.transform"},
    "llama-gpt-comparison": {"providers", "providers[2].config.max_length"},
    "multiple-turn-conversation": {"prompts[0]"},
    "simple-csv": {"prompts[0]"},
}


@pytest.mark.parametrize("name", CONFIGS)
def test_each_corpus_config_leaves_out_exactly_what_it_should(name: str) -> None:
    suite = load(CORPUS / name / "promptfooconfig.yaml", SIM)
    found = {u.where for u in suite.unsupported if "scorer registered" not in u.what}
    assert found == UNSUPPORTED_WHERE.get(name, set())


def test_the_support_rubric_example_keeps_metrics_thresholds_and_the_grader() -> None:
    model_map = ModelMap.parse(["openai:gpt-6-luna=openai/sim-judge", "*=openai/sim-small"])
    suite = load(CORPUS / "eval-customer-support-rubric" / "promptfooconfig.yaml", model_map)
    first = suite.cases[0]
    assert [s["name"] for s in first.scorers] == [
        "correct",
        "resolved",
        "honest",
        "handoff",
        "language-fit",
    ]
    assert {s["args"]["model"] for s in first.scorers} == {"openai/sim-judge"}
    assert first.metadata == {
        "severity": "high",
        "description": "ES refund ticket answered in Spanish",
    }
    assert "Me cobraron dos veces" in first.scorers[0]["args"]["rubric"]
    assert [c.threshold for c in suite.cases][3] == 0.0


def test_text_metric_and_structure_assertions_map_when_their_scorers_exist(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{q}}']
        providers: [openai:gpt-4o]
        tests:
          - vars: {q: x}
            assert:
              - {type: levenshtein, value: hello, threshold: 2}
              - {type: rouge-n, value: the cat sat, threshold: 0.6}
              - {type: bleu, value: the cat sat}
              - {type: is-xml}
              - {type: is-sql}
              - {type: finish-reason, value: stop}
        """,
    )
    suite = load(path)
    mapped = {s["name"]: s for s in suite.cases[0].scorers}
    wanted = {"levenshtein", "rouge-n", "bleu", "is-xml", "is-sql", "finish-reason"}
    available = wanted & set(registered_scorers())
    assert set(mapped) == available
    assert {u.where for u in suite.unsupported} == {
        f"tests[0].assert[{i}]"
        for i, kind in enumerate(
            ["levenshtein", "rouge-n", "bleu", "is-xml", "is-sql", "finish-reason"]
        )
        if kind not in available
    }
    if "levenshtein" in mapped:
        assert mapped["levenshtein"]["args"] == {"value": "hello", "max_distance": 2}
    if "rouge-n" in mapped:
        assert mapped["rouge-n"]["threshold"] == 0.6


def test_perplexity_and_moderation_map_their_promptfoo_arguments(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{q}}']
        providers: [openai:gpt-4o-mini]
        tests:
          - vars: {q: hi}
            assert:
              - {type: perplexity, threshold: 1.5}
              - type: moderation
                value: [harassment, violence]
                provider: openai:moderation:omni-moderation-latest
              - {type: not-moderation}
              - {type: perplexity}
        """,
    )
    suite = load(
        path, ModelMap.parse(["openai:moderation:omni-moderation-latest=openai/sim-moderation"])
    )
    perplexity, moderation, negated = suite.cases[0].scorers
    assert perplexity["type"] == "perplexity" and perplexity["args"] == {"max": 1.5}
    assert perplexity["threshold"] is None  # promptfoo's threshold is the ceiling, not a score
    assert moderation["args"] == {
        "model": "openai/sim-moderation",
        "categories": ["harassment", "violence"],
    }
    assert negated["negate"] is True and negated["args"]["model"] == "openai/sim-moderation"
    assert where(suite) == {"tests[0].assert[3]": "assertion type 'perplexity' without a threshold"}


def test_tool_call_assertions_map_to_the_tool_scorers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        prompts: ['{{q}}']
        providers: [openai:gpt-4o]
        tests:
          - vars: {q: x}
            assert:
              - {type: is-valid-openai-tools-call}
              - {type: tool-call-f1, value: [get_weather, search], threshold: 0.8}
              - {type: tool-call-f1, value: 'get_weather, book', metric: by_string}
              - {type: not-is-valid-openai-tools-call, metric: invalid}
              - {type: tool-call-f1, metric: no_value}
        """,
    )
    suite = load(path)
    mapped = {s["name"]: s for s in suite.cases[0].scorers}
    assert mapped["is-valid-openai-tools-call"]["type"] == "is-valid-openai-tools-call"
    assert mapped["is-valid-openai-tools-call"]["args"] == {}
    assert mapped["tool-call-f1"]["args"] == {"expected": ["get_weather", "search"]}
    assert mapped["tool-call-f1"]["threshold"] == 0.8
    assert mapped["by-string"]["args"] == {"expected": ["get_weather", "book"]}
    assert mapped["invalid"]["negate"] is True
    assert where(suite) == {
        "tests[0].assert[4]": "tool-call-f1 assertion without a value (the expected tools)"
    }
