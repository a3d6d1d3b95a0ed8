"""Every `autoforge ...` command the README shows parses as written (nothing is run)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from api.cli import parse_args

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Inline code and lines of fenced blocks; `autoforge:` (an error message) is not a command.
_MENTION = re.compile(r"`autoforge ([^`]+)`|^\s*autoforge ([^\n#]+)", re.MULTILINE)
_PLACEHOLDERS = {"ID": "run_0123456789abcdef0123", "FILE": "cases.jsonl"}


def _commands() -> list[str]:
    found: list[str] = []
    for inline, block in _MENTION.findall(README):
        line = (inline or block).strip()
        head, _, rest = line.partition(" ")
        words = rest.split(" ", 1) if rest else [""]
        for command in head.split("|"):
            # `prompt create|commit|… NAME`: each alternative of the second word too.
            for action in words[0].split("|"):
                found.append(" ".join(w for w in (command, action, *words[1:]) if w))
    return sorted(set(found))


COMMANDS = _commands()


def test_the_readme_mentions_the_commands_a_user_starts_with() -> None:
    first_hour = ("demo", "simulator --port 8001", "serve --simulator", "scorers")
    for expected in (*first_hour, "eval examples/arithmetic/eval.yaml"):
        assert expected in COMMANDS


@pytest.mark.parametrize("line", COMMANDS)
def test_a_readme_command_parses(line: str, capsys: pytest.CaptureFixture[str]) -> None:
    more = line.endswith("…")
    words = [_PLACEHOLDERS.get(w, w) for w in shlex.split(line.rstrip("… "))]
    for word in words:
        if word.endswith((".yaml", ".jsonl")) and "/" in word:
            assert (ROOT / word).is_file(), f"{word} does not exist"
    if not more:
        try:
            parse_args(words)
            return
        except SystemExit:
            # A command named in prose without its arguments is fine; any other refusal is not.
            assert "the following arguments are required" in capsys.readouterr().err
    with pytest.raises(SystemExit) as helped:
        parse_args([*words, "--help"])
    assert helped.value.code == 0
