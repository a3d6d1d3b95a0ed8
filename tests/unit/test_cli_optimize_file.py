"""Optimize files: the SDK's keywords in YAML, every mistake at once with its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import ValidationError
from engine.cli.optimize_file import load_optimize_file

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
name: arithmetic
prompt:
  name: calc
  system: "You are careful."
  template: "What is {{a}} {{op}} {{b}}?"
dataset: cases.jsonl
models: [openai/sim-small]
scorers: [equals, {type: regex, args: {pattern: "^-?[0-9]+$"}, weight: 0}]
optimizer: random
max_metric_calls: 120
budget: 0.25
split: [0.5, 0.25, 0.25]
options: {merge: true}
simulator: true
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cases.jsonl").write_text(
        '{"vars": {"a": 1, "op": "+", "b": 2}, "expected": "3"}\n'
    )
    path = tmp_path / "optimize.yaml"
    path.write_text(text)
    return path


def mistakes(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        load_optimize_file(write(tmp_path, text))
    assert caught.value.details["reason"] == "bad-optimize-file"
    return [m["field"] for m in caught.value.details["mistakes"]]


def test_a_good_file_mirrors_the_sdk_keywords_with_paths_relative_to_it(tmp_path: Path) -> None:
    spec = load_optimize_file(write(tmp_path, GOOD))

    assert (spec.name, spec.prompt_name, spec.models) == (
        "arithmetic",
        "calc",
        ("openai/sim-small",),
    )
    assert spec.dataset_path == (tmp_path / "cases.jsonl").resolve()
    assert spec.dataset_name == "arithmetic-cases"
    assert spec.baseline is not None and spec.baseline.as_messages() == [
        {"role": "system", "content": "You are careful."},
        {"role": "user", "content": "What is {{a}} {{op}} {{b}}?"},
    ]
    assert (spec.optimizer, spec.max_metric_calls, spec.budget) == ("random", 120, 0.25)
    assert spec.split == (0.5, 0.25, 0.25) and spec.options == {"merge": True}
    assert spec.scorers[0] == "equals" and spec.simulator is True
    assert (spec.seed, spec.minibatch, spec.concurrency, spec.base) == (0, 8, 32, "main")


def test_a_bare_prompt_name_and_a_dataset_name_refer_to_stored_ones(tmp_path: Path) -> None:
    text = "prompt: calc\ndataset: qa-cases\ndataset_version: 2\nmodels: [m]\nbase: production\n"

    spec = load_optimize_file(write(tmp_path, text))

    assert (spec.prompt_name, spec.baseline, spec.base) == ("calc", None, "production")
    assert (spec.dataset_name, spec.dataset_path, spec.dataset_version) == ("qa-cases", None, 2)


def test_a_template_without_system_is_a_text_template(tmp_path: Path) -> None:
    text = "prompt: {name: calc, template: 'What is {{a}}?'}\ndataset: cases.jsonl\nmodels: [m]\n"

    spec = load_optimize_file(write(tmp_path, text))

    assert spec.baseline is not None
    assert (spec.baseline.template, spec.baseline.as_messages()) == ("What is {{a}}?", None)


def test_every_mistake_is_reported_together_with_its_key_path(tmp_path: Path) -> None:
    text = (
        "prompt: {name: calc, template: 'x', sytem: 'y'}\n"
        "dataset: missing.jsonl\nmodels: openai/sim-small\nscorers: [equalz]\n"
        "split: [0.5, 0.5]\nmax_metric_calls: many\nbase: main\nsimulator: yes please\n"
        "optimiser: gepa\noptions: [merge]\n"
    )

    assert mistakes(tmp_path, text) == [
        "optimiser",
        "prompt.sytem",
        "base",
        "dataset",
        "models",
        "scorers[0]",
        "max_metric_calls",
        "split",
        "options",
        "simulator",
    ]


def test_a_missing_or_unparsable_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as missing:
        load_optimize_file(tmp_path / "nope.yaml")
    assert missing.value.details["reason"] == "not-found"
    with pytest.raises(ValidationError) as broken:
        load_optimize_file(write(tmp_path, "prompt: [unclosed\n"))
    assert broken.value.details["reason"] == "bad-optimize-file"
    assert mistakes(tmp_path, "- a list\n") == ["(top)"]


def test_the_example_file_loads() -> None:
    spec = load_optimize_file(ROOT / "examples/optimize/optimize.yaml")

    assert spec.dataset_path is not None and spec.dataset_path.is_file()
    assert spec.simulator and spec.models


def test_patience_is_read_and_checked(tmp_path: Path) -> None:
    from engine.cli.optimize_file import load_optimize_file

    base = "prompt: qa\ndataset: qa-cases\nmodels: [openai/sim-small]\nscorers: [equals]\n"
    (tmp_path / "a.yaml").write_text(base + "patience: 3\n")
    assert load_optimize_file(tmp_path / "a.yaml").patience == 3
    (tmp_path / "b.yaml").write_text(base)
    assert load_optimize_file(tmp_path / "b.yaml").patience is None
    (tmp_path / "c.yaml").write_text(base + "patience: soon\n")
    with pytest.raises(ValidationError, match="patience"):
        load_optimize_file(tmp_path / "c.yaml")


def test_a_code_assertion_file_is_read_relative_to_the_optimize_file(tmp_path: Path) -> None:
    (tmp_path / "checks.py").write_text("def get_assert(output, context):\n    return True\n")
    (tmp_path / "opt.yaml").write_text(
        "prompt: qa\ndataset: qa-cases\nmodels: [openai/sim-small]\n"
        "scorers: [equals, {type: python, args: {file: 'file://checks.py:get_assert'}}]\n"
    )
    spec = load_optimize_file(tmp_path / "opt.yaml")
    assert spec.scorers[0] == "equals"
    code = spec.scorers[1]
    assert isinstance(code, dict) and "def get_assert" in code["args"]["source"]
    assert "file" not in code["args"]
    (tmp_path / "bad.yaml").write_text(
        "prompt: qa\ndataset: qa-cases\nmodels: [openai/sim-small]\n"
        "scorers: [{type: python, args: {file: 'file://missing.py'}}]\n"
    )
    with pytest.raises(ValidationError, match="scorers\\[0\\]"):
        load_optimize_file(tmp_path / "bad.yaml")
