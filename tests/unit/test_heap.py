"""`engine.heap`: what it freezes, when, and that the last holder thaws it."""

from __future__ import annotations

import gc
import subprocess
import sys

from engine import heap

# An exit handler registered first runs last (exit handlers run last-in, first-out): it
# sees what the interpreter's finalisation will see.
_EXIT = """
import atexit, gc, sys
atexit.register(lambda: sys.stdout.write(f"{gc.get_freeze_count()}\\n"))
from engine import heap
if sys.argv[1] == "freeze":
    heap.freeze_at_exit()
    heap.freeze_at_exit()  # once is enough: a second call registers nothing more
"""


def _frozen_at_exit(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _EXIT, mode], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.strip())


def test_a_process_that_asked_freezes_its_objects_at_exit_and_one_that_did_not_does_not() -> None:
    assert _frozen_at_exit("freeze") > 1_000  # every module and class alive by then
    assert _frozen_at_exit("plain") == 0


def test_hold_freezes_and_only_the_last_release_thaws() -> None:
    gc.unfreeze()
    try:
        heap.hold()
        heap.hold()
        assert gc.get_freeze_count() > 0
        heap.release()
        assert gc.get_freeze_count() > 0  # the other holder still runs
        heap.release()
        assert gc.get_freeze_count() == 0
        heap.release()  # one release too many thaws nothing twice and breaks nothing
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()


def test_collect_less_raises_only_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        heap.collect_less()
        assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.set_threshold(*before)
