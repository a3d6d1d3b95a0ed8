"""Pure counting for `bench/faults.py`: cells, repeated provider requests, budget overshoot,
and the printed table. No I/O here, so the unit tests need neither Ray nor Redis."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CellCounts:
    """What the database holds for a run against what the run should hold.

    ``duplicated`` counts rows beyond the first per cell key (the primary key should make it
    0 — the bench counts anyway); ``missing`` is expected minus distinct cells recorded.
    """

    expected: int
    recorded: int
    duplicated: int
    missing: int


def cell_counts(expected: int, rows_per_cell: Iterable[int]) -> CellCounts:
    """Counts from the ``GROUP BY cell key`` row counts of one run."""
    counts = [n for n in rows_per_cell if n > 0]
    recorded = len(counts)
    return CellCounts(
        expected=expected,
        recorded=recorded,
        duplicated=sum(n - 1 for n in counts),
        missing=max(0, expected - recorded),
    )


def requests_after_recording(
    requests: Iterable[tuple[float, Hashable]], recorded_at: Mapping[Hashable, float]
) -> int:
    """Provider requests that arrived at or after their cell's result row was written.

    ``requests`` are (arrival epoch seconds, cell key); requests whose key is no cell of the
    run (a judge, a probe) are ignored.
    """
    return sum(1 for at, key in requests if key in recorded_at and at >= recorded_at[key])


def repeated_requests(keys: Iterable[Hashable]) -> int:
    """Requests beyond the first per cell key (re-work, whether or not it was recorded)."""
    return sum(n - 1 for n in Counter(keys).values() if n > 1)


def over_cap(costs_in_recorded_order: Sequence[float], cap: float) -> tuple[int, float]:
    """Cells recorded after the cumulative cost reached ``cap``, and the USD above it."""
    spent, over = 0.0, 0
    for cost in costs_in_recorded_order:
        if spent >= cap:
            over += 1
        spent += cost
    return over, max(0.0, spent - cap)


_ID_PART = re.compile(r"[0-9a-f]{8,}|\d+")


def key_pattern(key: str, run_id: str) -> str:
    """A Redis key with the run id as ``{id}`` and other ids (call ids, numbers) as ``*``."""
    return _ID_PART.sub("*", key.replace(run_id, "{id}"))


def redis_footprint(keys: Iterable[Mapping[str, Any]], run_id: str) -> list[dict[str, Any]]:
    """Keys left for a run grouped by pattern: how many, bytes, entries, how many never expire
    and the longest TTL of those that do.

    Each key is a mapping with ``key``, ``bytes``, ``entries`` (or None) and ``ttl_s``
    (-1: no expiry), as `faults_driver.redis_keys` reports them.
    """
    groups: dict[str, dict[str, Any]] = {}
    for k in keys:
        group = groups.setdefault(
            key_pattern(str(k["key"]), run_id),
            {"keys": 0, "bytes": 0, "entries": 0, "without_ttl": 0, "max_ttl_s": None},
        )
        group["keys"] += 1
        group["bytes"] += int(k["bytes"] or 0)
        group["entries"] += int(k["entries"] or 0)
        group["without_ttl"] += int(k["ttl_s"] == -1)
        if k["ttl_s"] >= 0:
            group["max_ttl_s"] = max(group["max_ttl_s"] or 0, int(k["ttl_s"]))
    return [{"pattern": p, **g} for p, g in sorted(groups.items())]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def one_line(text: object, limit: int = 160) -> str:
    """``text`` on one line without terminal colours, cut at ``limit`` characters."""
    return " ".join(_ANSI.sub("", str(text)).split())[:limit]


def epoch(iso: str) -> float:
    """Epoch seconds of an ISO-8601 timestamp with an offset (as the stores write them)."""
    return datetime.fromisoformat(iso).timestamp()


@dataclass
class FaultResult:
    """One scenario's measurement: a row of the table and an object of ``--json``.

    ``outcome`` is ``completed in 12.3 s``, ``stuck (status=running)``, ``failed (…)``…;
    ``ok`` says whether the run ended as the scenario expects (a measurement, not a verdict
    on the bench itself).
    """

    fault: str
    description: str
    expected_status: str
    cells: CellCounts | None = None
    after_recorded_requests: int | None = None
    repeated_requests: int | None = None
    provider_requests: int | None = None
    final_status: str = "unknown"
    seconds_to_end: float | None = None
    outcome: str = ""
    ok: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cells"] = asdict(self.cells) if self.cells else None
        return data


COLUMNS = (
    ("fault", 13),
    ("expected", 8),
    ("recorded", 8),
    ("dup", 4),
    ("missing", 7),
    ("req>rec", 7),
    ("repeat", 6),
    ("requests", 8),
    ("result", 40),
)


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def table_row(result: FaultResult) -> list[str]:
    cells = result.cells
    return [
        result.fault,
        _cell(cells and cells.expected),
        _cell(cells and cells.recorded),
        _cell(cells and cells.duplicated),
        _cell(cells and cells.missing),
        _cell(result.after_recorded_requests),
        _cell(result.repeated_requests),
        _cell(result.provider_requests),
        ("OK   " if result.ok else "FAULT ") + result.outcome,
    ]


def format_table(results: Sequence[FaultResult]) -> str:
    """The fixed-width table, one row per fault, then each fault's notes."""
    header = "  ".join(name.ljust(width) for name, width in COLUMNS)
    lines = [header, "-" * len(header)]
    for result in results:
        row = table_row(result)
        lines.append("  ".join(v.ljust(w) for v, (_, w) in zip(row, COLUMNS, strict=True)))
    for result in results:
        notes = "; ".join(f"{k}={v}" for k, v in result.extra.items())
        lines.append(f"{result.fault}: {result.description}" + (f" [{notes}]" if notes else ""))
    return "\n".join(lines)
