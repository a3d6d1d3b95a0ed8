"""Eval files: every mistake reported at once, with its key path, before any service."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import ValidationError
from engine.evaluation.evalfile import load_eval_file

GOOD = """\
name: arithmetic
prompt:
  name: calc
  versions:
    - template: "What is {{a}} + {{b}}?"
models: [openai/sim-small]
dataset: cases.jsonl
scorers:
  - type: numeric
"""

THREE_MISTAKES = """\
name: arithmetic
prompt:
  name: calc
  versions:
    - template: "What is {{a}} + {{b}}?"
      temprature: 0.2
models: openai/sim-small
dataset: cases.jsonl
repeats: two
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cases.jsonl").write_text('{"variables": {"a": 1, "b": 2}, "expected": "3"}\n')
    path = tmp_path / "eval.yaml"
    path.write_text(text)
    return path


def test_a_good_file_loads_with_its_name_and_default_routing(tmp_path: Path) -> None:
    spec = load_eval_file(write(tmp_path, GOOD))

    assert (spec.name, spec.prompt_name, spec.models) == (
        "arithmetic",
        "calc",
        ("openai/sim-small",),
    )
    assert spec.routing == "fixed"


def test_three_mistakes_are_reported_together_one_line_each(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        load_eval_file(write(tmp_path, THREE_MISTAKES))

    lines = caught.value.message.splitlines()
    assert lines[0].endswith("has 3 mistakes:")
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "prompt.versions[0].temprature",
        "models",
        "repeats",
    ]
    assert [m["field"] for m in caught.value.details["mistakes"]] == [
        "prompt.versions[0].temprature",
        "models",
        "repeats",
    ]


def test_bad_scorers_routing_and_a_missing_dataset_are_mistakes_too(tmp_path: Path) -> None:
    text = GOOD.replace("cases.jsonl", "missing.jsonl").replace("numeric", "numerik")
    with pytest.raises(ValidationError) as caught:
        load_eval_file(write(tmp_path, text + "routing: fastest\n"))

    fields = [m["field"] for m in caught.value.details["mistakes"]]
    assert fields == ["dataset", "scorers[0]", "routing"]
    assert "cheapest" in caught.value.message
