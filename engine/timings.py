"""Where a cold run's time goes: import, DB, Redis, Ray, workers, first lease, first result,
run end, teardown.

Off unless asked (`AUTOFORGE_TIMINGS=1`, ``autoforge eval --timings``, `enable`): a phase
then costs one global read. Each entry is when it ended, in seconds since this process
started, and how long it took (0 for a moment such as the first lease). Only this
process' phases are seen: with the Ray executor the actors' moments happen in workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

_on = os.environ.get("AUTOFORGE_TIMINGS", "").lower() in ("1", "true", "yes")
_entries: dict[str, tuple[float, float]] = {}


def _process_age() -> float:
    """Seconds since this process started (Linux); since this module loaded elsewhere."""
    try:
        with open("/proc/self/stat") as stat:
            started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as uptime:
            return float(uptime.read().split()[0]) - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _LOADED


_LOADED = time.perf_counter()
_ORIGIN = _LOADED - (_process_age() if _on else 0.0)


def enable(on: bool = True) -> None:
    """Start (or stop) recording phases in this process."""
    global _on, _ORIGIN
    if on and not _on:
        _ORIGIN = time.perf_counter() - _process_age()
    _on = on


def enabled() -> bool:
    return _on


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block as ``name`` (added up when it runs more than once)."""
    if not _on:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        ended = time.perf_counter()
        took = _entries.get(name, (0.0, 0.0))[1] + ended - started
        _entries[name] = (ended - _ORIGIN, took)


def moment(name: str) -> None:
    """Note the first time ``name`` happens (later ones are ignored)."""
    if _on and name not in _entries:
        _entries[name] = (time.perf_counter() - _ORIGIN, 0.0)


def snapshot() -> dict[str, float]:
    """``{name: seconds}``: how long each phase took, or when each moment happened."""
    return {name: round(took or at, 3) for name, (at, took) in _entries.items()}


def table() -> str:
    """The phases as a short table, in the order they ended."""
    rows = sorted(_entries.items(), key=lambda item: item[1][0])
    lines = [f"{'phase':<22}{'at s':>8}{'took s':>8}"]
    lines += [
        f"{name:<22}{at:>8.2f}{(f'{took:.2f}' if took else ''):>8}" for name, (at, took) in rows
    ]
    return "\n".join(lines)


def reset() -> None:
    _entries.clear()
