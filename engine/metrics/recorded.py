"""What the results table says, per run and model, read cheaply enough to run on every scrape.

A stopped run's results no longer change, so its totals are read once and kept; each scrape
re-reads only runs that are still working or whose status moved (a resume) since the last.
The first scrape of a process reads every run once, in chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, and_, case, func, select

from domain.evaluation import RunStatus
from engine.evaluation.tables import results, runs

CHUNK = 500
"""Runs per `IN (...)` query: far below SQLite's 32,766 bound variables."""


@dataclass
class ModelTotals:
    """The recorded cells of one run and model."""

    cells: int = 0
    passed: int = 0
    failed: int = 0
    errored: int = 0
    cached: int = 0
    cost_usd: float = 0.0
    scoring_cost_usd: float = 0.0
    attempts: int = 0
    retries: int = 0
    answered: int = 0
    """Cells a provider answered (not from the cache): the latency sample."""
    latency_seconds: float = 0.0

    @property
    def ungraded(self) -> int:
        return self.cells - self.passed - self.failed - self.errored

    def add(self, other: ModelTotals) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class RunTotals:
    """One run: its row in `runs` and its recorded cells per model."""

    run_id: str
    status: str
    created_at: str
    total_cells: int
    marker: tuple[str, str | None]
    models: dict[str, ModelTotals] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return not RunStatus(self.status).terminal()

    def overall(self) -> ModelTotals:
        summed = ModelTotals()
        for totals in self.models.values():
            summed.add(totals)
        return summed


class RecordedTotals:
    """Per-run totals of the results table, kept between scrapes (see the module doc)."""

    def __init__(self, db: Engine) -> None:
        self._db = db
        self._runs: dict[str, RunTotals] = {}

    def read(self) -> list[RunTotals]:
        """Every run, newest first, with fresh totals for those that may have changed."""
        with self._db.connect() as conn:
            rows = conn.execute(
                select(
                    runs.c.id,
                    runs.c.status,
                    runs.c.created_at,
                    runs.c.total_cells,
                    runs.c.finished_at,
                ).order_by(runs.c.created_at.desc(), runs.c.id.desc())
            ).all()
            current: dict[str, RunTotals] = {}
            stale: list[str] = []
            for run_id, status, created_at, total, finished_at in rows:
                marker = (status, finished_at)
                known = self._runs.get(run_id)
                if known is not None and known.marker == marker and not known.active:
                    current[run_id] = known
                    continue
                current[run_id] = RunTotals(run_id, status, created_at, int(total), marker)
                stale.append(run_id)
            for start in range(0, len(stale), CHUNK):
                for run_id, model, totals in _per_model(conn, stale[start : start + CHUNK]):
                    current[run_id].models[model] = totals
        self._runs = current
        return list(current.values())


def _per_model(conn: Any, run_ids: list[str]) -> list[tuple[str, str, ModelTotals]]:
    ok = results.c.error.is_(None)
    attempts = func.coalesce(func.json_extract(results.c.detail, "$.attempts"), 0)
    scoring = func.coalesce(func.json_extract(results.c.detail, "$.scoring_cost_usd"), 0.0)
    answered = and_(results.c.cached.is_(False), results.c.latency_ms.is_not(None), ok)
    query = (
        select(
            results.c.run_id,
            results.c.model,
            func.count(),
            func.sum(case((and_(ok, results.c.passed.is_(True)), 1), else_=0)),
            func.sum(case((and_(ok, results.c.passed.is_(False)), 1), else_=0)),
            func.sum(case((ok, 0), else_=1)),
            func.sum(case((results.c.cached.is_(True), 1), else_=0)),
            func.coalesce(func.sum(results.c.cost_usd), 0.0),
            func.sum(scoring),
            func.sum(attempts),
            func.sum(case((attempts > 1, attempts - 1), else_=0)),
            func.sum(case((answered, 1), else_=0)),
            func.coalesce(func.sum(case((answered, results.c.latency_ms), else_=0.0)), 0.0),
        )
        .where(results.c.run_id.in_(run_ids))
        .group_by(results.c.run_id, results.c.model)
    )
    out = []
    for row in conn.execute(query).all():
        cells, passed, failed, errored, cached, cost, scored, tries, retries, n, ms = row[2:]
        totals = ModelTotals(
            cells=int(cells),
            passed=int(passed or 0),
            failed=int(failed or 0),
            errored=int(errored or 0),
            cached=int(cached or 0),
            cost_usd=float(cost or 0.0),
            scoring_cost_usd=float(scored or 0.0),
            attempts=int(tries or 0),
            retries=int(retries or 0),
            answered=int(n or 0),
            latency_seconds=float(ms or 0.0) / 1000,
        )
        out.append((row[0], row[1], totals))
    return out
