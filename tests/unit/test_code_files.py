"""A code assertion's `file` is read into its spec by the SDK and CLI, relative to where the
user's file is; evaluators only ever see the text."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import CodeNotAllowedError, ValidationError
from engine.evaluation.code_files import read_code_file, split_file_ref
from engine.evaluation.evalfile import load_eval_file
from engine.sdk.evaluations import split_scorers

CHECK = "def grade(output, context):\n    return output == context['expected']\n"


def test_a_file_ref_names_a_path_and_maybe_a_function() -> None:
    assert split_file_ref("file://checks.py:grade") == ("checks.py", "grade")
    assert split_file_ref("checks.py") == ("checks.py", None)
    assert split_file_ref("file://C:/x/checks.py") == ("C:/x/checks.py", None)


def test_the_file_is_read_into_source_and_other_specs_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "checks.py").write_text(CHECK)
    spec = {"type": "python", "name": "g", "args": {"file": "file://checks.py:grade"}}
    assert read_code_file(spec, tmp_path) == {
        "type": "python",
        "name": "g",
        "args": {"source": CHECK, "function": "grade"},
    }
    regex = {"type": "regex", "args": {"pattern": "x", "file": "y"}}
    assert read_code_file(regex, tmp_path) == regex


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read .*nope.py") as caught:
        read_code_file({"type": "python", "args": {"file": "nope.py"}}, tmp_path)
    assert caught.value.details["reason"] == "bad-scorer-file"


def test_split_scorers_refuses_code_unless_allowed_and_then_reads_files(tmp_path: Path) -> None:
    spec = {"type": "python", "args": {"file": "checks.py:grade"}}
    (tmp_path / "checks.py").write_text(CHECK)
    with pytest.raises(CodeNotAllowedError):
        split_scorers([spec])
    registered, _ = split_scorers([spec], allow_code=True, base_dir=tmp_path)
    assert registered[0]["args"] == {"source": CHECK, "function": "grade"}


def test_an_eval_file_reads_code_files_next_to_it(tmp_path: Path) -> None:
    (tmp_path / "cases.jsonl").write_text('{"vars": {"a": 1}, "expected": "1"}\n')
    (tmp_path / "checks.py").write_text(CHECK)
    (tmp_path / "eval.yaml").write_text(
        "prompt: {name: p, versions: [{template: '{{a}}'}]}\n"
        "models: [openai/sim-small]\n"
        "dataset: cases.jsonl\n"
        "scorers:\n"
        "  - {type: python, args: {file: 'file://checks.py:grade'}}\n"
        "  - {type: javascript, args: {file: missing.js}}\n"
    )
    with pytest.raises(ValidationError, match=r"scorers\[1\]: .*cannot read") as caught:
        load_eval_file(tmp_path / "eval.yaml")
    assert "scorers[0]" not in caught.value.message
    (tmp_path / "missing.js").write_text("module.exports = () => true;\n")
    spec = load_eval_file(tmp_path / "eval.yaml")
    assert spec.scorers[0]["args"] == {"source": CHECK, "function": "grade"}
    assert spec.scorers[1]["args"] == {"source": "module.exports = () => true;\n"}
