"""A command's output keeps stdout to itself: what else prints (Ray's driver threads) goes to
stderr while it runs, so `--json` output stays one JSON document."""

from __future__ import annotations

import sys

import pytest

from engine.cli import output


def test_only_the_command_writes_to_stdout_while_it_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with output.reserved():
        output.write('{"ok": true}\n')
        sys.stdout.write("(raylet) Task Gateway.release failed\n")  # as Ray's error thread
    output.write("after\n")
    sys.stdout.write("printed after\n")
    captured = capsys.readouterr()
    assert captured.out == '{"ok": true}\nafter\nprinted after\n'
    assert captured.err == "(raylet) Task Gateway.release failed\n"
    assert sys.stdout is not sys.stderr
