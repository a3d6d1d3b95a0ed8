"""`autoforge eval`'s refusals exit 2 before any service starts; other failures exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main


@pytest.fixture
def eval_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AUTOFORGE_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "cases.jsonl").write_text('{"vars": {"a": 1}, "expected": "1"}\n')
    path = tmp_path / "eval.yaml"
    path.write_text(
        "prompt: {name: calc, versions: [{template: '{{a}}'}]}\nmodels: [openai/sim-small]\n"
        "dataset: cases.jsonl\nscorers: [{type: numeric, name: correct}]\nsimulator: true\n"
    )
    return path


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--fail-under", "correct=2"], "validation: --fail-under 'correct=2': 2 is not between"),
        (["--fail-under", "exact=0.5"], "no scorer named 'exact' (the eval file's scorers"),
        (["--fail-on-regression"], "validation: --fail-on-regression needs --baseline"),
        (["--baseline", "run_nope", "--alpha", "0.1"], "not-found: --baseline 'run_nope': neither"),
        (["--alpha", "1.5"], "validation: --alpha 1.5: not between 0 and 1"),
    ],
)
def test_a_bad_gate_exits_2_in_one_line(
    eval_file: Path, flags: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(eval_file), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err
    assert not (eval_file.parent / "data" / "redis").exists()


def test_an_unknown_model_exits_2(eval_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    eval_file.write_text(eval_file.read_text().replace("sim-small", "sim-nope"))

    assert main(["eval", str(eval_file)]) == 2
    assert "sim-nope" in capsys.readouterr().err


def test_an_unknown_prompt_is_still_a_plain_failure(
    eval_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prompt", "show", "nope"]) == 1
    assert capsys.readouterr().err == "autoforge: not-found: prompt 'nope' not found\n"
