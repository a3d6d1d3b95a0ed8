"""Prompt optimizations for notebooks, scripts, the CLI and the API: start, follow, resume,
cancel, promote, report.

An optimization runs in the background of the process that started it (the loop of
`engine.optimization.loop` on a thread); every evaluation it makes is an engine run.
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from domain.errors import ConflictError, NotFoundError, ServiceUnavailableError, ValidationError
from domain.evaluation import check_concurrency
from domain.optimization.aggregate import TERMINAL
from domain.optimization.aggregate import Optimization as OptimizationState
from domain.optimization.config import (
    OptimizationConfig,
    check_budget,
    default_parallel,
    split_cases,
)
from domain.optimization.events import Event
from domain.optimization.promotion import check_alpha, paired_test, promotion_data
from domain.optimization.report_data import candidate_dicts, info_fields, report_data
from domain.optimization.strategy import OPTIMIZERS, load_strategy
from engine.evaluation import streams
from engine.optimization import alive_key, branch_name, stream_key
from engine.optimization.loop import OptimizationLoop, content_of, works_here
from engine.optimization.store import OptimizationRow, OptimizationStore, new_optimization_id
from engine.sdk.evaluations import split_scorers
from engine.sdk.hosting import call_gateways
from engine.sdk.run import _progress_bar
from engine.store_util import utc_now_iso

if TYPE_CHECKING:
    from engine.sdk.evaluations import ScorerInput

SIMULATED_PREFIX = "openai/sim-"
DEFAULT_REFLECTOR = "openai/sim-reflector"
REFLECTING = frozenset({"gepa"})
"""Optimizers that call a reflection model (the others propose without one)."""
JOIN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class CandidateInfo:
    """One candidate of an optimization (``c0`` is the baseline).

    Attributes:
        id: ``c0``, ``c1``, … in proposal order.
        version: Its prompt version id (on branch ``opt/<id>``; the baseline's is ``base``).
        parent_ids: The candidates it derives from.
        kind: ``baseline``, ``mutation`` or ``merge``.
        rationale: Why the optimizer proposed it.
        accepted: Whether it beat its parent on its minibatch (None: not judged yet).
        minibatch_score: Its score sum on its minibatch.
        parent_minibatch_score: The parent's on the same cases.
        val_score: Its mean validation score (None: not validated).
        calls_at: Metric calls used when it was proposed.
        system: Its system message ("" for none).
        template: Its user-message template.
    """

    id: str
    version: str
    parent_ids: tuple[str, ...]
    kind: str
    rationale: str
    accepted: bool | None
    minibatch_score: float | None
    parent_minibatch_score: float | None
    val_score: float | None
    calls_at: int
    system: str
    template: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["parent_ids"] = list(self.parent_ids)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CandidateInfo:
        return cls(**{**dict(data), "parent_ids": tuple(data["parent_ids"])})


@dataclass(frozen=True)
class OptimizationInfo:
    """An optimization as stored: what it optimizes, how far it got, what it found."""

    id: str
    owner: str
    name: str
    status: str
    prompt_id: str
    prompt_name: str
    dataset_version_id: str
    optimizer: str
    models: tuple[str, ...]
    reflection_model: str | None
    branch: str
    baseline_version: str | None
    best_candidate: str | None
    best_version: str | None
    baseline_val_score: float | None
    best_val_score: float | None
    calls: int
    max_metric_calls: int
    reflection_calls: int
    judge_calls: int
    test_calls: int
    cost_usd: float
    budget_usd: float | None
    candidates: int
    front_size: int
    generation: int
    created_at: str
    updated_at: str
    finished_at: str | None
    error: str | None
    promoted: dict[str, Any] | None
    config: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["models"] = list(self.models)
        return data


def stored_info(
    store: OptimizationStore,
    row: OptimizationRow,
    alive: Callable[[str], bool] | None = None,
) -> OptimizationInfo:
    """An optimization's info from its stored events alone (the database: no Ray, no Redis).

    ``alive`` tells whether a running one is still worked; without it (a database-only
    read) a running optimization stays ``running`` unless its row says it was interrupted.
    """
    state = OptimizationState.replay(row.id, row.owner, store.events(row.id))
    working = alive(row.id) if alive is not None and state.status == "running" else None
    return _info(row, state, working)


def _info(row: OptimizationRow, state: OptimizationState, alive: bool | None) -> OptimizationInfo:
    fields = info_fields(state)
    status = fields["status"]
    if status == "running" and alive is False:
        status = "interrupted"  # nobody works it: the process that did has gone
    elif status == "running" and row.status == "interrupted":
        status = "interrupted"
    return OptimizationInfo(
        id=row.id,
        owner=row.owner,
        name=row.name,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at if status in TERMINAL else None,
        **{
            **fields,
            "status": status,
            "models": tuple(fields["models"]),
        },
    )


def owns_optimization(db: Any, owner: str, optimization_id: str) -> bool:
    """Whether ``optimization_id`` is an optimization of ``owner`` (for who may follow its
    events, as `owns_run` for runs)."""
    try:
        OptimizationStore(db).get(owner, optimization_id)
    except NotFoundError:
        return False
    return True


def _process_alive(holder: Any) -> bool:
    """Whether the process whose pid ``holder`` names still runs on this machine (the loop
    runs in an engine process on the data dir's machine); a killed one left its key."""
    import os

    try:
        pid = int(holder)
    except (TypeError, ValueError):
        return True
    if pid == os.getpid():
        return False  # no thread of this process works it (asked first): it has stopped
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Loops:
    """The optimization loops this process works (one registry per engine)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loops: dict[str, OptimizationLoop] = {}

    def get(self, optimization_id: str) -> OptimizationLoop | None:
        with self._lock:
            return self._loops.get(optimization_id)

    def start(self, loop: OptimizationLoop) -> bool:
        """Start ``loop`` unless one already works its optimization here."""
        with self._lock:
            current = self._loops.get(loop.state.id)
            if current is not None and current.thread is not None and current.thread.is_alive():
                return False
            self._loops[loop.state.id] = loop
        loop.start()
        return True

    def close(self) -> None:
        """Stop every loop (their optimizations end `interrupted`) and wait for them."""
        with self._lock:
            loops = list(self._loops.values())
        for loop in loops:
            loop.interrupt()
        for loop in loops:
            if loop.thread is not None:
                loop.thread.join(JOIN_TIMEOUT_S)


class Optimizations:
    """Optimizations of one owner: validate, start, resume, cancel, promote, find.

    Args:
        engine: The owner's `Engine` (its prompts, datasets, evaluations and catalogue).
        loops: The process's loop registry.
    """

    def __init__(self, engine: Any, loops: Loops) -> None:
        self.engine = engine
        self.owner = engine.owner
        self.store = OptimizationStore(engine._db())
        self.redis: Any = engine.runtime.redis
        self.loops = loops

    # -- start -----------------------------------------------------------------------------

    def optimize(
        self,
        prompt: str,
        dataset: str,
        models: Sequence[str],
        scorers: Sequence[ScorerInput],
        *,
        optimizer: str = "gepa",
        reflection_model: str | None = None,
        max_metric_calls: int = 500,
        budget: float | None = None,
        split: Sequence[float] = (0.5, 0.25, 0.25),
        minibatch: int = 8,
        seed: int = 0,
        concurrency: int = 32,
        parallel: int | None = None,
        base: str = "main",
        dataset_version: int | None = None,
        name: str = "",
        idempotency_key: str | None = None,
        api_keys: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
        patience: int | None = None,
        allow_code: bool = False,
    ) -> Optimization:
        """Validate everything, store the optimization, start its loop; see `Engine.optimize`."""
        engine = self.engine
        engine.evaluations._ensure_accepting()
        if optimizer not in OPTIMIZERS:
            raise ValidationError(
                f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}",
                reason="unknown-optimizer",
                optimizer=optimizer,
            )
        strategy_options = dict(options or {})
        load_strategy(optimizer, strategy_options)  # the options are the strategy's to check
        if isinstance(scorers, str | dict):
            scorers = [scorers]
        if not scorers:
            raise ValidationError(
                "an optimization needs at least one scorer to tell better from worse",
                reason="no-scorer",
            )
        registered, custom = split_scorers(scorers, allow_code=allow_code)
        if custom:
            raise ValidationError(
                "an optimization takes registered scorers only (names or specs): a Python "
                "scorer cannot be stored for a resume",
                reason="unsupported-scorer",
            )
        check_budget(budget)
        check_concurrency(concurrency)
        model_list = [models] if isinstance(models, str) else list(models)
        reflection = self._reflection_model(optimizer, model_list, reflection_model)
        self._check_models(model_list, reflection, registered)
        prompt_info = engine.prompts.get(prompt)
        base_version = engine.prompts.show(prompt_info.id, base)
        baseline = content_of(base_version.template)
        version = engine.datasets.version(dataset, dataset_version)
        cases = engine.datasets.cases(version.id)
        parts = split_cases([c.id for c in cases], tuple(split), seed)
        config = OptimizationConfig(
            prompt_id=prompt_info.id,
            prompt_name=prompt_info.name,
            dataset_version_id=version.id,
            optimizer=optimizer,
            models=tuple(model_list),
            reflection_model=reflection,
            scorers=registered,
            max_metric_calls=max_metric_calls,
            budget_usd=budget,
            split=(float(split[0]), float(split[1]), float(split[2])),
            minibatch=minibatch,
            seed=seed,
            concurrency=concurrency,
            parallel=parallel
            if parallel is not None
            else default_parallel(concurrency, minibatch, reflection=optimizer in REFLECTING),
            base=base,
            options=strategy_options,
            patience=patience,
            allow_code=allow_code,
        )
        optimization_id = new_optimization_id()
        branch = branch_name(optimization_id)
        started = Event(
            "started",
            {
                "config": config.to_dict(),
                "split": parts.to_dict(),
                "branch": branch,
                "baseline": {
                    "version": base_version.id,
                    "system": baseline.system,
                    "template": baseline.template,
                },
            },
        )
        request = {"config": config.to_dict(), "base_version": base_version.id, "name": name}
        row, new = self.store.create(
            self.owner,
            name=name,
            prompt_id=prompt_info.id,
            request=request,
            idempotency_key=idempotency_key,
            started=started,
            optimization_id=optimization_id,
        )
        if not new:
            return Optimization(self, row.id)
        try:
            engine.prompts.branch(prompt_info.id, branch, start=base_version.id)
        except Exception as exc:
            state = self.store.load(self.owner, row.id)
            state.record(Event("failed", {"error": f"cannot create branch {branch}: {exc}"}))
            self.store.append(state)
            raise
        self._start(row.id, api_keys=api_keys)
        return Optimization(self, row.id)

    def _reflection_model(
        self, optimizer: str, models: Sequence[str], reflection_model: str | None
    ) -> str | None:
        if reflection_model is not None:
            return reflection_model
        if optimizer not in REFLECTING:
            return None
        if models and all(m.startswith(SIMULATED_PREFIX) for m in models):
            return DEFAULT_REFLECTOR
        raise ValidationError(
            f"optimizer {optimizer!r} needs a reflection_model when the models are not simulated",
            reason="no-reflection-model",
        )

    def _check_models(
        self, models: Sequence[str], reflection: str | None, scorers: Sequence[Mapping[str, Any]]
    ) -> None:
        if not models:
            raise ValidationError(
                "an optimization needs at least one model", reason="unknown-model"
            )
        catalogue = self.engine.catalogue
        for model in [*models, *([reflection] if reflection else [])]:
            try:
                catalogue.model(model)
            except NotFoundError as exc:
                which = "reflection model" if model == reflection else "model"
                raise ValidationError(
                    f"unknown {which} {model!r}: {exc.message}", reason="unknown-model", model=model
                ) from None
        del scorers  # judge models are checked by each run before its first call

    def _start(
        self,
        optimization_id: str,
        *,
        api_keys: Mapping[str, str] | None = None,
        concurrency: int | None = None,
        budget: float | None = None,
    ) -> None:
        state = self.store.load(self.owner, optimization_id)
        assert state.config is not None
        strategy = load_strategy(state.config.optimizer, state.config.options)
        links, call_on = call_gateways(self.engine)
        loop = OptimizationLoop(
            engine=self.engine,
            links=links,
            call_on=call_on,
            store=self.store,
            state=state,
            strategy=strategy,
            redis=self.redis,
            api_keys=api_keys,
            concurrency=concurrency,
            budget_usd=budget,
        )
        if not self.loops.start(loop):
            raise ConflictError(
                f"optimization {optimization_id} is already being worked",
                reason="optimization-running",
            )

    # -- reads -----------------------------------------------------------------------------

    def state(self, optimization_id: str) -> OptimizationState:
        return self.store.load(self.owner, optimization_id)

    def info(self, optimization_id: str) -> OptimizationInfo:
        return stored_info(self.store, self.store.get(self.owner, optimization_id), self._alive)

    def _alive(self, optimization_id: str) -> bool:
        if works_here(optimization_id):
            return True
        try:
            holder = self.redis.get(alive_key(optimization_id))
        except Exception:
            return True  # cannot tell: do not call it interrupted
        return holder is not None and _process_alive(holder)

    def get(self, optimization_id: str) -> Optimization:
        self.store.get(self.owner, optimization_id)
        return Optimization(self, optimization_id)

    def list(
        self, *, limit: int = 50, before: str | None = None
    ) -> builtins.list[OptimizationInfo]:
        rows = self.store.list_optimizations(self.owner, limit=limit, before=before)
        return [stored_info(self.store, row, self._alive) for row in rows]

    # -- commands --------------------------------------------------------------------------

    def resume(
        self,
        optimization_id: str,
        *,
        concurrency: int | None = None,
        budget: float | None = None,
        api_keys: Mapping[str, str] | None = None,
    ) -> Optimization:
        """Continue an interrupted optimization from its event log; see
        `Engine.resume_optimization`."""
        self.engine.evaluations._ensure_accepting()
        info = self.info(optimization_id)
        if info.status in TERMINAL and not (info.status == "budget-exceeded" and budget):
            raise ConflictError(
                f"optimization {optimization_id} is already {info.status}",
                reason="optimization-finished",
                status=info.status,
            )
        if info.status == "running":
            raise ConflictError(
                f"optimization {optimization_id} is running", reason="optimization-running"
            )
        check_budget(budget)
        if concurrency is not None:
            check_concurrency(concurrency)
        self.store.set_status(optimization_id, "running")
        self._start(optimization_id, api_keys=api_keys, concurrency=concurrency, budget=budget)
        return Optimization(self, optimization_id)

    def cancel(self, optimization_id: str) -> Optimization:
        """Stop the loop after the runs in flight; the optimization ends `cancelled`.

        Raises:
            ConflictError: ``reason="optimization-finished"``.
        """
        info = self.info(optimization_id)
        if info.status in TERMINAL:
            raise ConflictError(
                f"optimization {optimization_id} is already {info.status}",
                reason="optimization-finished",
                status=info.status,
            )
        loop = self.loops.get(optimization_id)
        if loop is not None and loop.thread is not None and loop.thread.is_alive():
            loop.cancel()
            return Optimization(self, optimization_id)
        if info.status == "running":
            raise ServiceUnavailableError(
                f"optimization {optimization_id} is worked by another process",
                reason="optimization-elsewhere",
            )
        state = self.store.load(self.owner, optimization_id)
        state.record(Event("cancelled", {"reason": "cancelled by the user"}))
        self.store.append(state)
        return Optimization(self, optimization_id)

    def promote(self, optimization_id: str, label: str, alpha: float) -> dict[str, Any]:
        """Move ``label`` to the best version if the test split shows a significant gain."""
        check_alpha(alpha)
        from domain.prompts.names import validate_ref_name

        validate_ref_name(label, "label")
        state = self.store.load(self.owner, optimization_id)
        if state.status not in ("completed", "budget-exceeded"):
            raise ConflictError(
                f"optimization {optimization_id} is {state.status}: promote a finished one",
                reason="optimization-unfinished",
                status=state.status,
            )
        best, baseline = state.best(), state.baseline
        assert best is not None and baseline is not None and state.config is not None
        test = None
        if "test" in best.scores and "test" in baseline.scores:
            test = paired_test(list(state.split.test), baseline.test_passed, best.test_passed)
        data = promotion_data(label, best.version, test, alpha, utc_now_iso())
        if best.id == baseline.id and data["promoted"]:
            data = {**data, "promoted": False, "reason": "the best is the baseline"}
        if data["promoted"]:
            self.engine.prompts.label(state.config.prompt_id, label, to=best.version)
        state.record(Event("promoted", data))
        self.store.append(state)
        return {k: data[k] for k in ("promoted", "label", "version", "p_value", "reason")}


class Optimization:
    """An optimization started by `Engine.optimize` (or found by id).

    Examples:
        >>> opt = engine.optimize("qa", "qa-cases", ["openai/sim-small"], ["equals"],
        ...                       optimizer="random", max_metric_calls=200)  # doctest: +SKIP
        >>> opt.wait().best_val_score                                        # doctest: +SKIP
        0.75
        >>> print(opt.report("markdown"))                                    # doctest: +SKIP
    """

    def __init__(self, service: Optimizations, optimization_id: str) -> None:
        self._service = service
        self.id = optimization_id

    def __repr__(self) -> str:
        return f"Optimization({self.id!r}, status={self.status!r})"

    @property
    def info(self) -> OptimizationInfo:
        """The optimization as stored now."""
        return self._service.info(self.id)

    @property
    def status(self) -> str:
        return self.info.status

    @property
    def best(self) -> CandidateInfo | None:
        """The candidate with the best mean validation score so far."""
        state = self._service.state(self.id)
        best = state.best()
        return CandidateInfo.from_dict(best.to_dict(state.split.val)) if best else None

    @property
    def front(self) -> list[CandidateInfo]:
        """The Pareto front over the validation cases."""
        state = self._service.state(self.id)
        return [
            CandidateInfo.from_dict(state.candidates[c].to_dict(state.split.val))
            for c in state.front()
        ]

    @property
    def candidates(self) -> list[CandidateInfo]:
        """Every candidate, in proposal order."""
        return [CandidateInfo.from_dict(c) for c in candidate_dicts(self._service.state(self.id))]

    @property
    def history(self) -> list[dict[str, Any]]:
        """The event log, JSON-able."""
        return [e.to_dict() for e in self._service.store.events(self.id)]

    def report_data(self) -> dict[str, Any]:
        """The report's data (see the seam contract's schema)."""
        state = self._service.state(self.id)
        return report_data(state, self.info.to_dict())

    def report(self, fmt: Literal["markdown", "json", "html"] = "markdown") -> str:
        """The report as Markdown, JSON or one self-contained HTML page."""
        from engine.reports import render_optimization

        result: str = render_optimization(self.report_data(), fmt)
        return result

    def promote(self, label: str = "production", alpha: float = 0.05) -> dict[str, Any]:
        """Move ``label`` to the best version only if McNemar's exact test on the test split
        gives ``p < alpha`` with more wins than losses; returns ``{promoted, label, version,
        p_value, reason}`` (``reason="no significant improvement"`` when refused)."""
        return self._service.promote(self.id, label, alpha)

    def cancel(self) -> Optimization:
        """Stop after the runs in flight; the optimization ends `cancelled`."""
        return self._service.cancel(self.id)

    def resume(
        self,
        *,
        concurrency: int | None = None,
        budget: float | None = None,
        api_keys: Mapping[str, str] | None = None,
    ) -> Optimization:
        """Continue where it stopped (see `Engine.resume_optimization`)."""
        return self._service.resume(
            self.id, concurrency=concurrency, budget=budget, api_keys=api_keys
        )

    def events(self, after: str = "0-0", block_ms: int = 1000) -> list[tuple[str, dict[str, Any]]]:
        """Live progress events after stream id ``after`` (waits up to ``block_ms``)."""
        redis: Any = self._service.redis
        reply = redis.xread({stream_key(self.id): after}, count=1000, block=block_ms)
        return [
            (eid, streams.decode(fields)) for _, entries in reply or [] for eid, fields in entries
        ]

    def wait(self, *, progress: bool = True, timeout: float | None = None) -> OptimizationInfo:
        """Block until the optimization stops, with a progress bar (calls / max, best score,
        front size, cost) when ``progress``.

        Raises:
            ServiceUnavailableError: ``timeout`` seconds passed first.
        """
        info = self.info
        tqdm = _progress_bar()
        bar = tqdm(total=info.max_metric_calls, desc=self.id, unit="call", disable=not progress)
        deadline = None if timeout is None else time.monotonic() + timeout
        last = "0-0"
        checked = time.monotonic()
        try:
            while info.status in ("pending", "running"):
                batch = self.events(last, block_ms=500)
                for event_id, event in batch:
                    last = event_id
                    bar.n = min(int(event.get("calls", 0)), info.max_metric_calls)
                    bar.set_postfix_str(_postfix(event), refresh=False)
                    bar.refresh()
                if (
                    not batch
                    or time.monotonic() - checked >= 1.0
                    or any(e.get("type") != "progress" for _, e in batch)
                ):
                    info = self.info
                    checked = time.monotonic()
                if deadline is not None and time.monotonic() > deadline:
                    raise ServiceUnavailableError(
                        f"optimization {self.id} still {info.status} after {timeout} s",
                        reason="timeout",
                    )
            bar.n = min(info.calls, info.max_metric_calls)
            bar.refresh()
        finally:
            bar.close()
        return info


def _postfix(event: Mapping[str, Any]) -> str:
    """The progress line's tail.

    Examples:
        >>> _postfix({"best_score": 0.5, "front_size": 2, "cost_usd": 0.01})
        'best=0.500, front=2, cost=$0.0100'
    """
    best = event.get("best_score")
    shown = "-" if best is None else f"{float(best):.3f}"
    return f"best={shown}, front={event.get('front_size', 0)}, cost=${event.get('cost_usd', 0):.4f}"
