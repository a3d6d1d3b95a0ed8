"""`autoforge scorers` lists the registered scorers and their arguments, starting nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from domain.scoring import registered_scorers

pytestmark = [pytest.mark.e2e]


def _scorers(*flags: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "scorers", *flags],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout


def _registered_in_a_fresh_process() -> list[str]:
    # Not this process' registry: collecting the suite imports test modules that register
    # scorers of their own.
    code = "import json; from domain.scoring import registered_scorers as r; print(json.dumps(r()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    names: list[str] = json.loads(done.stdout)
    return names


def test_scorers_json_lists_every_registered_scorer_with_its_arguments() -> None:
    listed = json.loads(_scorers("--json"))
    registered = _registered_in_a_fresh_process()
    assert [s["name"] for s in listed] == registered
    assert set(registered) <= set(registered_scorers())
    regex = next(s for s in listed if s["name"] == "regex")
    assert [(a["name"], a["required"]) for a in regex["arguments"]] == [
        ("pattern", True),
        ("flags", False),
    ]


def test_scorers_text_shows_one_line_per_scorer_and_per_argument() -> None:
    lines = _scorers().splitlines()
    assert sum(not line.startswith(" ") for line in lines) == len(_registered_in_a_fresh_process())
    assert any(line.split()[:3] == ["pattern", "string", "required"] for line in lines)
