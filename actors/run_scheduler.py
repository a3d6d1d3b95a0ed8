"""`RunScheduler`: the one place that decides which cells run next.

It expands a run into the cells not yet recorded (so resume is the same as start), hands
batches to the evaluator pool round-robin between runs (fairness), re-queues a batch whose
evaluator died, stops a run at its budget or on cancel, and completes it once the recorder
has every cell in the database. Progress goes to `af:run:{id}:events`.

A scheduler restarted by Ray continues every run the database says is pending or running
whose context the cluster still holds (`LiveRuns`), after the evaluators have finished any
batch its previous life dispatched, so no recorded cell is asked again. A running run whose
context is gone is marked `interrupted` (resumable). Stored errors are a code and one
sentence; the details are logged here.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from dataclasses import dataclass, field, replace
from typing import Any

from actors.evaluator import BatchReport, Dispatch
from actors.host import Host, RayHost
from actors.naming import deployment_tag
from actors.remote import actor_class, is_ray_error
from domain.errors import NexusError
from domain.evaluation import Cell, FairQueue, RunStatus, expand_cells
from domain.evaluation.failure import INTERNAL, INTERRUPTED, error_of, run_error
from domain.evaluation.finish import RunTally, run_end
from engine import timings
from engine.evaluation import streams
from engine.evaluation.retries import retries_of
from engine.evaluation.runs import through_outage
from engine.logs import get_logger
from engine.metrics import exported

log = get_logger(__name__)
EVENTS_MAXLEN = 10_000
MAX_REPAIRS = 3
ENGINE_STOPPED = run_error("interrupted", "the engine working this run was stopped; resume it")
BATCHES_PER_SHARE = 2
"""A run's concurrency is split over the evaluators (`concurrency_shares`); each runs at most
its share at once, and twice its share in cells is out to it, in batches of about half its
share. A slot freed in an evaluator is taken by a cell already there, instead of waiting for
the whole batch, its report and the next dispatch (at 100 ms latency and concurrency 256
that gap cost a third of the throughput); a finished batch is replaced while the others keep
the slots busy. Batches go to the evaluator with the most room for the run: round-robin sent
one to an evaluator that had one already while the other idled, and with shares rounded
down an odd concurrency lost a slot (17 ran at most 10 at once, 33 at 32)."""


def concurrency_shares(concurrency: int, evaluators: int, first: int = 0) -> list[int]:
    """``concurrency`` split over ``evaluators`` as evenly as integers allow, summing to it;
    the remainder goes to the evaluators from index ``first`` on (a run below the pool size
    leaves some with none).

    Examples:
        >>> concurrency_shares(33, 2), concurrency_shares(1, 2, first=1)
        ([17, 16], [0, 1])
    """
    base, extra = divmod(concurrency, evaluators)
    return [base + ((i - first) % evaluators < extra) for i in range(evaluators)]


@dataclass
class _RunState:
    run_id: str
    dispatch: Dispatch
    total: int
    concurrency: int
    shares: list[int]
    """Slots of the run in each evaluator (they sum to its concurrency)."""
    out: list[int] = field(init=False)
    """Cells of the run dispatched to each evaluator and not yet reported."""
    batch: int = field(init=False)
    dispatches: list[Dispatch] = field(init=False)
    """What each evaluator is handed: the run with that evaluator's slots."""
    budget_usd: float | None = None
    already: int = 0
    spent_before: float = 0.0
    """USD the cells recorded before this start cost: a resume counts on from there."""
    done: int = 0
    errors: int = 0
    cached: int = 0
    cost_usd: float = 0.0
    inflight: int = 0
    retries: int = 0
    """Cells dispatched again after their evaluator was lost."""
    provider_retries: int = 0
    """Failed provider attempts that another followed (429s, 5xx), as evaluators count them."""
    repairs: int = 0
    cancelled: bool = False
    budget_exceeded: bool = False
    stopped: tuple[RunStatus, str] | None = None
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.out = [0] * len(self.shares)
        self.batch = max(1, -(-max(self.shares) // BATCHES_PER_SHARE))
        self.dispatches = [replace(self.dispatch, slots=max(1, n)) for n in self.shares]

    def roomiest(self) -> int:
        """The evaluator with the most room for more of this run's cells."""
        rooms = [2 * n - out for n, out in zip(self.shares, self.out, strict=True)]
        return rooms.index(max(rooms))

    def room(self) -> int:
        """Cells the run may dispatch now, in one batch to `roomiest`."""
        index = self.roomiest()
        return min(self.batch, 2 * self.shares[index] - self.out[index])

    def progress(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "done": self.already + self.done,
            "errors": self.errors,
            "cached": self.cached,
            "cost_usd": round(self.spent_before + self.cost_usd, 8),
            "inflight": self.inflight,
            "concurrency": self.concurrency,
            "retries": self.retries + self.provider_retries,
            "elapsed_s": round(time.monotonic() - self.started, 3),
        }


class RunScheduler:
    """See module docstring. One per deployment, named by `actors.naming.scheduler_name`."""

    def __init__(
        self,
        redis_url: str,
        database_url: str,
        evaluators: int,
        batch_size: int = 32,
        max_inflight: int = 4096,
        host: Host | None = None,
    ) -> None:
        from engine.db import create_db_engine
        from engine.evaluation.runs import RunStore
        from engine.redis_client import async_redis

        self.redis: Any = async_redis(redis_url, decode_responses=True)
        self.runs = RunStore(create_db_engine(database_url))
        self.host: Host = host or RayHost()
        self.live = self.host.live_runs(deployment_tag(database_url))
        self.pool, self.recorder = self.host.workers(redis_url, database_url, evaluators)
        self._urls = (redis_url, database_url)
        self.batch_size = batch_size
        self.max_inflight = max_inflight
        self.queue: FairQueue[Cell] = FairQueue()
        self.active: dict[str, _RunState] = {}
        self.inflight = 0
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._starting = asyncio.Lock()
        # Queued behind __init__: a (re)started scheduler picks up the runs it was working.
        self.host.after_init(self, "recover")

    async def ready(self) -> int:
        await asyncio.gather(*(e.ready.remote() for e in self.pool), self.recorder.ready.remote())
        return len(self.pool)

    async def submit(self, context: Any) -> dict[str, Any]:
        """Start or resume a run from its resolved `RunContext`; returns its progress."""
        async with self._starting:
            return await self._start(context)

    async def recover(self, run_id: str | None = None) -> list[str]:
        """Continue the runs the database says are pending or running and nobody here works.

        A run whose context this cluster no longer holds cannot be continued: a running one
        (or ``run_id``, asked for by a waiting caller) becomes `interrupted`. Returns the ids
        of the runs continued.
        """
        continued: list[str] = []
        async with self._starting:
            for info in await asyncio.to_thread(self.runs.unfinished):
                if info.id in self.active or (run_id is not None and info.id != run_id):
                    continue
                context = await asyncio.to_thread(self.live.get, info.id)
                if context is not None:
                    await self._start(context)
                    continued.append(info.id)
                elif info.status == RunStatus.RUNNING or info.id == run_id:
                    await asyncio.to_thread(
                        self.runs.set_status, info.id, RunStatus.INTERRUPTED, INTERRUPTED
                    )
                    log.warning("run interrupted: nobody holds its context", run_id=info.id)
        if continued:
            log.info("runs recovered", runs=continued)
        return continued

    async def _start(self, context: Any) -> dict[str, Any]:
        run_id = context.run_id
        if run_id in self.active:
            return self.active[run_id].progress()
        if self._loop is None:
            await self.ready()
            self._loop = asyncio.create_task(self._dispatch_forever())
        # A batch a previous life of this scheduler dispatched may still be calling the
        # provider: its cells are recorded once it is done, not asked a second time.
        await asyncio.gather(*(e.drain.remote(run_id) for e in self.pool))
        await self.recorder.flush.remote(run_id)
        recorded = await asyncio.to_thread(self.runs.recorded_keys, run_id)
        spent_before = await asyncio.to_thread(self.runs.recorded_cost, run_id) if recorded else 0.0
        cells = list(expand_cells(context.spec, recorded))
        await asyncio.to_thread(self.runs.set_status, run_id, RunStatus.RUNNING)
        await asyncio.to_thread(self.live.keep, context)
        concurrency = max(1, context.concurrency)
        # Stable per run: a restarted scheduler finds the same shares in the evaluators.
        first = zlib.crc32(run_id.encode()) % len(self.pool)
        state = _RunState(
            run_id=run_id,
            dispatch=Dispatch(self.host.share(context), run_id),
            total=context.spec.total_cells,
            concurrency=concurrency,
            shares=concurrency_shares(concurrency, len(self.pool), first),
            budget_usd=context.spec.budget_usd,
            already=len(recorded),
            spent_before=spent_before,
            provider_retries=await retries_of(self.redis, run_id),
        )
        self.active[run_id] = state
        await self._event(
            run_id, "started", resumed=len(recorded), remaining=len(cells), **state.progress()
        )
        if cells:
            self.queue.add(run_id, cells)
            self._wake.set()
        else:
            self._spawn(self._finish(state))
        self._export(state)
        return state.progress()

    async def cancel(self, run_id: str) -> bool:
        """Stop dispatching `run_id`; in-flight cells finish and are recorded."""
        state = self.active.get(run_id)
        if state is None:
            return False
        state.cancelled = True
        self.queue.remove(run_id)
        if state.inflight == 0:
            self._spawn(self._finish(state))
        return True

    async def interrupt(self, run_id: str) -> bool:
        """Stop dispatching `run_id` for an engine that is stopping: in-flight cells finish
        and are recorded, and the run ends `interrupted` (resumable), not `cancelled`."""
        state = self.active.get(run_id)
        if state is None:
            return False
        state.stopped = state.stopped or (RunStatus.INTERRUPTED, ENGINE_STOPPED)
        self.queue.remove(run_id)
        if state.inflight == 0:
            self._spawn(self._finish(state))
        return True

    async def progress(self, run_id: str) -> dict[str, Any] | None:
        state = self.active.get(run_id)
        if state is None:
            return None
        state.provider_retries = await retries_of(self.redis, run_id)
        return state.progress()

    async def active_runs(self) -> list[str]:
        return sorted(self.active)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("scheduler task failed", error=repr(task.exception()))

    def _allowance(self, run_id: str) -> int:
        state = self.active.get(run_id)
        return 0 if state is None else state.room()

    async def _dispatch_forever(self) -> None:
        while True:
            while self.inflight < self.max_inflight:
                size = min(self.batch_size, self.max_inflight - self.inflight)
                picked = self.queue.next_batch(size, self._allowance)
                if picked is None:
                    break
                run_id, cells = picked
                state = self.active[run_id]
                worker = state.roomiest()
                state.out[worker] += len(cells)
                state.inflight += len(cells)
                self.inflight += len(cells)
                self._spawn(self._work(worker, state, cells))
            await self._wake.wait()
            self._wake.clear()

    async def _work(self, worker: int, state: _RunState, cells: list[Cell]) -> None:
        done = 0
        try:
            report: BatchReport = await self.pool[worker].work.remote(
                state.dispatches[worker], cells
            )
        except self.host.lost as exc:
            log.warning("evaluator lost", run_id=state.run_id, error=repr(exc))
            lost = self.pool[worker]
            revived = await asyncio.to_thread(self.host.revive, *self._urls, worker, lost)
            if self.pool[worker] is lost:  # another lost batch may have replaced it already
                self.pool[worker] = revived
            again = await self._unwritten(state.run_id, cells)
            state.done += len(cells) - len(again)
            state.retries += len(again)
            going = not state.cancelled and not state.budget_exceeded and state.stopped is None
            if again and going:
                self.queue.push_front(state.run_id, again)
            if again:
                await self._event(
                    state.run_id, "retrying", cells=len(again), reason="an evaluator stopped"
                )
        except Exception as exc:  # stop the run with a readable reason, keep the scheduler
            log.exception("batch failed", run_id=state.run_id)
            if state.stopped is None:
                state.stopped = stop_reason(exc)
            self.queue.remove(state.run_id)
        else:
            done = report.done
            state.done += report.done
            state.errors += report.errors
            state.cached += report.cached
            state.cost_usd += report.cost_usd
            if report.budget_exceeded and not state.budget_exceeded:
                state.budget_exceeded = True
                self.queue.remove(state.run_id)
            if report.retried:  # else the counter did not move: no Redis round trip per batch
                state.provider_retries = await retries_of(self.redis, state.run_id)
            await self._event(state.run_id, "progress", **state.progress())
        finally:
            state.out[worker] -= len(cells)
            state.inflight -= len(cells)
            self.inflight -= len(cells)
            self._wake.set()
            self._export(state, done)
        if state.inflight == 0 and state.run_id not in self.queue:
            await self._finish(state)

    async def _finish(self, state: _RunState) -> None:
        if self.active.get(state.run_id) is not state:
            return
        try:
            flushed = await self.recorder.flush.remote(state.run_id)
        except Exception as exc:  # the recorder could not reach Redis or the database
            log.exception("flush failed", run_id=state.run_id)
            state.stopped = state.stopped or stop_reason(exc)
            flushed = {"recorded": state.already + state.done, "dead": 0}
        tally = RunTally(
            total=state.total,
            recorded=flushed["recorded"],
            dead=flushed["dead"],
            repairs_left=MAX_REPAIRS - state.repairs,
            stopped=state.stopped,
            cancelled=state.cancelled,
            budget_exceeded=state.budget_exceeded,
            run_id=state.run_id,
            spent_usd=state.spent_before + state.cost_usd,
            limit_usd=state.budget_usd,
        )
        missing = await self._missing(state) if tally.may_repair else []
        end = run_end(replace(tally, missing=len(missing)))
        if end.repair:
            state.repairs += 1
            self.queue.add(state.run_id, missing)
            self._wake.set()
            return
        assert end.status is not None
        status, over_budget = end.status, end.over_budget_cells
        # Under the start lock: a recovery must not see this run unfinished and not active.
        async with self._starting:
            if self.active.get(state.run_id) is not state:
                return
            del self.active[state.run_id]
            # Before the status: wait() must not see the run over before its keys expire.
            await self.recorder.retire.remote(state.run_id)
            current = await through_outage(self.runs, self.runs.get, None, state.run_id)
            # `interrupted` too: another process may have judged it orphaned while it ran.
            if current.status in (RunStatus.RUNNING, RunStatus.INTERRUPTED):
                await through_outage(
                    self.runs,
                    self.runs.set_status,
                    state.run_id,
                    status,
                    end.error,
                    over_budget_cells=over_budget,
                )
            else:
                status = current.status
            timings.moment("run end")  # what `wait` sees: the caller may close the engine now
            await asyncio.to_thread(self.live.drop, state.run_id)
        await asyncio.gather(
            *(e.forget.remote(state.run_id) for e in self.pool), return_exceptions=True
        )
        state.provider_retries = await retries_of(self.redis, state.run_id)
        await self._event(
            state.run_id,
            status.value,
            final=True,
            message=end.error or "",
            recorded=flushed["recorded"],
            dead=flushed["dead"],
            over_budget=over_budget,
            **state.progress(),
        )
        self._export(state)
        log.info("run finished", run_id=state.run_id, status=status.value, **state.progress())

    async def _unwritten(self, run_id: str, cells: list[Cell]) -> list[Cell]:
        """``cells`` less those whose result was written: an evaluator lost after it wrote
        its batch's results (its node died before the reply came back) must not have them
        asked of the provider again. A result is in the run's results stream until the
        recorder has it in the database (it writes, then deletes the entry), so the stream
        is read first, then the database: none slips between the two reads."""
        written: set[tuple[str, str, str, int]] = set()
        try:
            entries = await self.redis.xrange(streams.results_stream(run_id))
        except Exception as exc:  # Redis is down: the batch goes out again, as it did
            log.warning("results stream unread", run_id=run_id, error=repr(exc))
            return cells
        for _, fields in entries:
            try:
                row = streams.decode(fields)
                written.add((row["prompt_version"], row["model"], row["case_id"], row["repeat"]))
            except (ValueError, KeyError):
                continue
        try:
            written |= await asyncio.to_thread(self.runs.recorded_keys, run_id)
        except Exception as exc:  # the database is out: only the stream's cells are left out
            log.warning("recorded cells unread", run_id=run_id, error=repr(exc))
        return [cell for cell in cells if cell.key not in written]

    async def _missing(self, state: _RunState) -> list[Cell]:
        context = await state.dispatch.context
        recorded = await asyncio.to_thread(self.runs.recorded_keys, state.run_id)
        return list(expand_cells(context.spec, recorded))

    def _export(self, state: _RunState, done: int = 0) -> None:
        exported.run_progress(
            state.run_id,
            queued=self.queue.pending(state.run_id),
            inflight=state.inflight,
            spent_usd=state.spent_before + state.cost_usd,
            budget_usd=state.budget_usd,
            done=done,
        )

    async def _event(self, run_id: str, kind: str, **fields: Any) -> None:
        try:
            await self.redis.xadd(
                streams.events_stream(run_id),
                streams.encode({"type": kind, **fields}),
                maxlen=EVENTS_MAXLEN,
                approximate=True,
            )
        except Exception as exc:  # progress is best effort; the run's state is in the DB
            log.warning("event not sent", run_id=run_id, type=kind, error=repr(exc))


def _outages() -> tuple[type[BaseException], ...]:
    import redis.exceptions
    import sqlalchemy.exc

    return (
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        sqlalchemy.exc.OperationalError,
        ConnectionError,
        TimeoutError,
    )


def stop_reason(exc: BaseException) -> tuple[RunStatus, str]:
    """How a batch's exception stops its run: a lost service interrupts it (resumable);
    anything else fails it. The stored error is a code and one sentence, never the text of
    a Ray task error (it embeds the remote traceback, pid and host)."""
    cause = getattr(exc, "cause", exc) if is_ray_error(exc, "RayTaskError") else exc
    if isinstance(cause, NexusError):
        if cause.code == "service-unavailable":
            return RunStatus.INTERRUPTED, run_error("interrupted", cause.message)
        return RunStatus.FAILED, error_of(cause)
    if isinstance(cause, _outages()) or is_ray_error(cause):
        return RunStatus.INTERRUPTED, run_error(
            "interrupted", "a service the run needs stopped; resume it to finish"
        )
    return RunStatus.FAILED, INTERNAL


RunSchedulerActor = actor_class(RunScheduler, num_cpus=0, max_restarts=-1, max_concurrency=1_000)
"""The Ray actor class of `RunScheduler` (name it with `actors.naming.scheduler_name`)."""
