"""Runs and their recorded results in the database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, exists, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.datasets import TestCase
from domain.errors import ConflictError, NotFoundError
from domain.evaluation import RunSpec, RunStatus, check_transition
from domain.evaluation.failure import stored_error
from domain.evaluation.rows import ResultRow
from domain.llm import tool_calls_from_dicts
from domain.reports import ResultRecord
from engine.evaluation.datasets import case_from_row
from engine.evaluation.tables import dataset_cases, dataset_versions, results, runs
from engine.logs import get_logger
from engine.store_util import new_id, unique_as_conflict, utc_now_iso

log = get_logger(__name__)
T = TypeVar("T")
OUTAGE_BACKOFF_S = (0.1, 2.0)
"""First and longest wait between two attempts while the database takes no write."""

DETAIL_FIELDS = (
    "reasons",
    "attempts",
    "model_used",
    "scoring_cost_usd",
    "finish_reason",
    "tool_calls",
    "trace",
)
"""`ResultRow` fields kept in the ``detail`` JSON column rather than a column of their own.

Tool calls and a flow cell's trace live here, not in a column: they are read with their
cell, never filtered or summed in SQL, and older rows simply lack the key (no migration,
no backfill)."""


@dataclass(frozen=True)
class RunInfo:
    """A run as stored: its spec, status and timestamps."""

    id: str
    owner: str
    name: str
    status: RunStatus
    spec: RunSpec
    total_cells: int
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    over_budget_cells: int = 0
    """Cells a budget cap kept from running when the run last stopped (0 otherwise)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "spec": self.spec.to_dict(),
            "total_cells": self.total_cells,
            "error": self.error,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "over_budget_cells": self.over_budget_cells,
        }


class RunStore:
    """Owner-scoped runs and idempotent result recording."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def create(
        self, owner: str, spec: RunSpec, *, name: str = "", idempotency_key: str | None = None
    ) -> RunInfo:
        if idempotency_key is not None:
            existing = self._by_idempotency_key(owner, idempotency_key)
            if existing is not None and existing.spec != spec:
                raise ConflictError(
                    "Idempotency-Key already used for a different run request",
                    reason="idempotency-mismatch",
                    run_id=existing.id,
                )
            if existing is not None:
                return existing
        row = {
            "id": new_id("run"),
            "owner": owner,
            "name": name,
            "status": RunStatus.PENDING.value,
            "spec": json.dumps(spec.to_dict(), sort_keys=True),
            "total_cells": spec.total_cells,
            "idempotency_key": idempotency_key,
            "error": None,
            "created_at": utc_now_iso(),
            "started_at": None,
            "finished_at": None,
        }
        reused = unique_as_conflict("idempotency key reused", reason="idempotency")
        with reused, self.db.begin() as conn:
            conn.execute(insert(runs).values(**row))
        return _run(row)

    def _by_idempotency_key(self, owner: str, key: str) -> RunInfo | None:
        with self.db.connect() as conn:
            row = (
                conn.execute(
                    select(runs).where(runs.c.owner == owner, runs.c.idempotency_key == key)
                )
                .mappings()
                .first()
            )
        return _run(dict(row)) if row else None

    def get(self, owner: str | None, run_id: str) -> RunInfo:
        """A run; `owner=None` is for trusted internal callers (actors) only."""
        query = select(runs).where(runs.c.id == run_id)
        if owner is not None:
            query = query.where(runs.c.owner == owner)
        with self.db.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFoundError(f"run {run_id!r} not found", reason="unknown-run")
        return _run(dict(row))

    def list_runs(self, owner: str, *, limit: int = 50, before: str | None = None) -> list[RunInfo]:
        query = select(runs).where(runs.c.owner == owner)
        if before is not None:
            query = query.where(runs.c.created_at < before)
        with self.db.connect() as conn:
            rows = conn.execute(query.order_by(runs.c.created_at.desc()).limit(limit)).mappings()
            return [_run(dict(r)) for r in rows]

    def set_status(
        self,
        run_id: str,
        status: RunStatus,
        error: str | None = None,
        *,
        over_budget_cells: int = 0,
    ) -> RunInfo:
        """Move a run to ``status``; ``error`` is stored as code + one sentence (never a
        traceback: see `stored_error`).

        Raises:
            ConflictError: the run may not move from its status to ``status``.
        """
        current = self.get(None, run_id)
        if current.status == status:
            return current
        check_transition(current.status, status)
        values: dict[str, Any] = {
            "status": status.value,
            "error": stored_error(error),
            "over_budget_cells": over_budget_cells,
        }
        if status == RunStatus.RUNNING:
            values["started_at"] = current.started_at or utc_now_iso()
            values["finished_at"] = None
        elif status != RunStatus.PENDING:
            values["finished_at"] = utc_now_iso()
        with self.db.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(**values))
        return self.get(None, run_id)

    def set_budget(self, run_id: str, budget_usd: float | None) -> RunInfo:
        """Change the cap of a stopped run before it is resumed (validated as at creation).

        Raises:
            ValidationError: not a positive, finite amount.
            ConflictError: the run is completed.
        """
        return self._revise(run_id, budget_usd=budget_usd)

    def set_concurrency(self, run_id: str, concurrency: int) -> RunInfo:
        """Change how many calls a stopped run makes at once, before it is resumed.

        Raises:
            ValidationError: not within 1..4096.
            ConflictError: the run is completed.
        """
        return self._revise(run_id, concurrency=concurrency)

    def _revise(self, run_id: str, **changes: Any) -> RunInfo:
        current = self.get(None, run_id)
        if current.status == RunStatus.COMPLETED:
            raise ConflictError(
                f"run is completed; its {', '.join(changes)} cannot change",
                reason="invalid-run-transition",
                status=current.status.value,
            )
        spec = replace(current.spec, **changes)
        with self.db.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(spec=json.dumps(spec.to_dict(), sort_keys=True))
            )
        return self.get(None, run_id)

    def unfinished(self) -> list[RunInfo]:
        """Runs the database says are pending or running, oldest first (for recovery)."""
        active = (RunStatus.PENDING.value, RunStatus.RUNNING.value)
        with self.db.connect() as conn:
            rows = conn.execute(
                select(runs).where(runs.c.status.in_(active)).order_by(runs.c.created_at)
            ).mappings()
            return [_run(dict(r)) for r in rows]

    def record(self, rows: Sequence[ResultRow]) -> int:
        """Insert result rows, ignoring cells already recorded; returns rows inserted."""
        if not rows:
            return 0
        prepared = [result_row(r) for r in rows]
        statement = sqlite_insert(results).on_conflict_do_nothing()
        with self.db.begin() as conn:
            outcome = conn.execute(statement, prepared)
        return max(outcome.rowcount, 0)

    def accepts_writes(self) -> bool:
        """Whether the database commits a write now. The probe changes a row: a write that
        changes no page commits even on a full disk."""
        try:
            with self.db.begin() as conn:
                conn.execute(_PROBE, {"at": utc_now_iso()})
        except Exception:  # locked, full, read-only, unreachable: each means "not now"
            return False
        return True

    def recorded_keys(self, run_id: str) -> set[tuple[str, str, str, int]]:
        cols = (results.c.prompt_version, results.c.model, results.c.case_id, results.c.repeat)
        with self.db.connect() as conn:
            rows = conn.execute(select(*cols).where(results.c.run_id == run_id)).all()
        return {(r[0], r[1], r[2], int(r[3])) for r in rows}

    def recorded_count(self, run_id: str) -> int:
        with self.db.connect() as conn:
            count = conn.execute(
                select(func.count()).select_from(results).where(results.c.run_id == run_id)
            ).scalar_one()
        return int(count)

    def recorded_cost(self, run_id: str) -> float:
        """USD the recorded cells of ``run_id`` cost, their scoring calls included."""
        scoring = func.json_extract(results.c.detail, "$.scoring_cost_usd")
        query = select(
            func.coalesce(func.sum(results.c.cost_usd), 0.0), func.coalesce(func.sum(scoring), 0.0)
        ).where(results.c.run_id == run_id)
        with self.db.connect() as conn:
            calls, scored = conn.execute(query).one()
        return float(calls) + float(scored)

    def results(self, owner: str | None, run_id: str) -> list[ResultRecord]:
        """Every recorded cell of a run with its case, in key order.

        Raises:
            NotFoundError: no such run of ``owner``.
        """
        run = self.get(owner, run_id)
        with self.db.connect() as conn:
            found = conn.execute(
                select(results)
                .where(results.c.run_id == run_id)
                .order_by(
                    results.c.repeat, results.c.case_id, results.c.prompt_version, results.c.model
                )
            )
            # One key list zipped with plain tuples: `.mappings()` builds a key view per row,
            # half the time of a 10,000-cell read (bench/viewer.py).
            keys = list(found.keys())
            rows = [dict(zip(keys, row, strict=True)) for row in found]
            cases = _cases(
                conn, run.owner, run.spec.dataset_version_id, {r["case_id"] for r in rows}
            )
        return [to_record(dict(r), cases.get(r["case_id"])) for r in rows]

    def cells(
        self,
        owner: str | None,
        run_id: str,
        filters: CellFilters | None = None,
        *,
        after: CellKey | None = None,
        limit: int = 50,
        overrides: Mapping[tuple[str, str, str, int], bool] | None = None,
    ) -> list[ResultRecord]:
        """Up to ``limit`` recorded cells after ``after`` that pass ``filters``, in key order
        (repeat, case, prompt version, model); filtered and paged by the database.
        ``overrides`` (cell key → people's verdict, `domain.feedback.verdict_overrides`)
        make ``filters.passed`` select by the effective verdict: people's, where given.

        Raises:
            NotFoundError: no such run of ``owner``.
        """
        run = self.get(owner, run_id)
        f = filters or CellFilters()
        key = tuple_(results.c.repeat, results.c.case_id, results.c.prompt_version, results.c.model)
        query = select(results).where(results.c.run_id == run_id)
        if f.passed is not None:
            query = query.where(_passing(key, f.passed, overrides or {}))
        if f.model is not None:
            query = query.where(results.c.model == f.model)
        if f.prompt_version is not None:
            query = query.where(
                results.c.prompt_version.startswith(f.prompt_version, autoescape=True)
            )
        if f.error is not None:
            query = query.where(
                results.c.error.is_not(None) if f.error else results.c.error.is_(None)
            )
        if after is not None:
            query = query.where(key > tuple_(*after))
        query = query.order_by(*key.clauses).limit(limit)
        with self.db.connect() as conn:
            rows = conn.execute(query).mappings().all()
            cases = _cases(
                conn, run.owner, run.spec.dataset_version_id, {r["case_id"] for r in rows}
            )
        return [to_record(dict(r), cases.get(r["case_id"])) for r in rows]

    def result_rows(self, owner: str | None, run_id: str) -> Iterable[dict[str, Any]]:
        self.get(owner, run_id)
        with self.db.connect() as conn:
            for row in conn.execute(select(results).where(results.c.run_id == run_id)).mappings():
                yield {
                    **dict(row),
                    "scores": json.loads(row["scores"]),
                    "detail": json.loads(row["detail"]),
                }


_PROBE = text(
    "INSERT INTO engine_meta (key, value) VALUES ('write-probe', :at) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)

CellKey = tuple[int, str, str, str]
"""A cell's place in a listing: (repeat, case id, prompt version, model)."""


@dataclass(frozen=True)
class CellFilters:
    """Which cells to list: every given filter must hold.

    Args:
        passed: The verdict (an unscored or errored cell matches neither): the scorers', or
            people's where `RunStore.cells` is given their overrides.
        model: The asked model.
        prompt_version: A version id or its prefix.
        error: Only failed cells (True) or only sound ones (False).
    """

    passed: bool | None = None
    model: str | None = None
    prompt_version: str | None = None
    error: bool | None = None


def cell_key(cell: ResultRecord) -> CellKey:
    """Where ``cell`` sorts in a listing."""
    return (cell.repeat, cell.case_id, cell.prompt_version, cell.model)


def to_record(row: Mapping[str, Any], case: TestCase | None = None) -> ResultRecord:
    """The record of a stored result row, with its case when known."""
    detail = row["detail"]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    scores = row["scores"]
    extra = {name: detail[name] for name in DETAIL_FIELDS if detail.get(name) is not None}
    extra["tool_calls"] = tool_calls_from_dicts(extra.get("tool_calls"))
    if "trace" in extra:
        extra["trace"] = tuple(extra["trace"])
    return ResultRecord(
        **{name: row[name] for name in _COLUMNS if name not in ("scores", "detail")},
        scores=json.loads(scores) if isinstance(scores, str) else scores,
        **extra,
        variables={} if case is None else case.variables,
        expected=None if case is None else case.expected,
    )


def result_row(result: ResultRow) -> dict[str, Any]:
    """The database row of one evaluator result (its error made fit to store)."""
    values = result.to_dict()
    row = {name: values[name] for name in _COLUMNS if name in values}
    row["scores"] = json.dumps(values["scores"], sort_keys=True)
    detail = {name: values[name] for name in DETAIL_FIELDS if values.get(name) is not None}
    row["detail"] = json.dumps(detail, sort_keys=True)
    row["error"] = stored_error(result.error)
    row["recorded_at"] = utc_now_iso()
    return row


def _passing(key: Any, passed: bool, overrides: Mapping[tuple[str, str, str, int], bool]) -> Any:
    """Cells whose effective verdict is ``passed``: the scorers', unless people said."""
    # Feedback keys are (version, model, case, repeat); cell keys (repeat, case, version, model).
    flip_in = [(r, c, v, m) for (v, m, c, r), said in overrides.items() if said == passed]
    flip_out = [(r, c, v, m) for (v, m, c, r), said in overrides.items() if said != passed]
    condition = results.c.passed.is_(passed)
    if flip_out:
        condition = condition & key.not_in(flip_out)
    if flip_in:
        condition = condition | key.in_(flip_in)
    return condition


def _cases(
    conn: Connection, owner: str, version_id: str, case_ids: Collection[str]
) -> dict[str, TestCase]:
    """The cases of a run's dataset version, read only when the version is the run's
    workspace's (a spec naming another workspace's version reads none of its cases)."""
    if not case_ids:
        return {}
    theirs = exists().where(dataset_versions.c.id == version_id, dataset_versions.c.owner == owner)
    bodies = conn.execute(
        select(dataset_cases.c.body).where(
            dataset_cases.c.version_id == version_id, dataset_cases.c.case_id.in_(case_ids), theirs
        )
    ).scalars()
    cases = (case_from_row(json.loads(body)) for body in bodies)
    return {case.id: case for case in cases}


_COLUMNS = tuple(column.name for column in results.columns if column.name != "recorded_at")


def _run(row: dict[str, Any]) -> RunInfo:
    return RunInfo(
        id=row["id"],
        owner=row["owner"],
        name=row["name"],
        status=RunStatus(row["status"]),
        spec=RunSpec.from_dict(json.loads(row["spec"])),
        total_cells=row["total_cells"],
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        over_budget_cells=int(row.get("over_budget_cells") or 0),
    )


async def through_outage(store: RunStore, write: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``write(*args, **kwargs)`` in a thread, retried with backoff for as long as the database
    takes no write at all (locked, disk full): a run's status must not be lost to an outage
    the recorder waited out. A write that fails twice while the database takes writes raises
    (once is not enough: the outage may have ended between the failure and the probe)."""
    delay, longest = OUTAGE_BACKOFF_S
    failed_while_writable = 0
    while True:
        try:
            return await asyncio.to_thread(write, *args, **kwargs)
        except Exception:
            if await asyncio.to_thread(store.accepts_writes):
                failed_while_writable += 1
                if failed_while_writable == 2:
                    raise
                continue
        log.warning("database takes no writes; retrying", write=write.__name__, retry_in_s=delay)
        await asyncio.sleep(delay)
        delay = min(2 * delay, longest)
