"""Where a command's own output goes: the process' stdout, kept for the command alone.

Ray's driver threads print task errors (``(raylet) Task … failed``) to ``sys.stdout`` whatever
``log_to_driver`` says, and one arriving late mixed into `eval --json` output. While a command
runs (`reserved`), ``sys.stdout`` is stderr, and only `write` reaches the real stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_command_output: TextIO | None = None


def write(text: str) -> None:
    """Write ``text`` to the command's output (stdout) and flush it."""
    sink = _command_output or sys.stdout
    sink.write(text)
    sink.flush()


@contextmanager
def reserved() -> Iterator[None]:
    """Keep stdout for `write` while the block runs; anything else printing goes to stderr."""
    global _command_output
    saved, previous = sys.stdout, _command_output
    _command_output, sys.stdout = saved, sys.stderr
    try:
        yield
    finally:
        _command_output, sys.stdout = previous, saved
