"""`Evaluator`: a pooled async worker that works batches of cells for any run.

It owns nothing durable: per run it caches the resolved `RunContext` and a `CellRunner`;
per process it owns one LLM client (leases, response cache, HTTP connections). Results go
to the run's Redis stream, pipelined per batch; the scheduler gets counts back.
"""

from __future__ import annotations

import asyncio
import importlib
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

from actors.gateway_links import ray_links
from actors.remote import actor_class, is_ray_error
from domain.errors import NexusError, ServiceUnavailableError
from domain.evaluation import Cell
from engine import tracing
from engine.evaluation import streams
from engine.llm.gateways import LinkFactory
from engine.logs import get_logger
from engine.metrics import exported

log = get_logger(__name__)

MAX_CACHED_RUNS = 8


@dataclass(frozen=True)
class Dispatch:
    """What the scheduler hands an evaluator with each batch of a run.

    Attributes:
        context: The run's `RunContext` shared by the host (a Ray object ref, or
            `actors.host.Shared`), awaited once per evaluator.
        run_id: The run the batch belongs to.
        slots: At most this many of the run's cells at once in one evaluator; ``None``: all
            of the batch.
    """

    context: Any
    run_id: str
    slots: int | None = None


@dataclass
class BatchReport:
    """What one batch did, for the scheduler's progress and budget decisions."""

    run_id: str
    done: int = 0
    errors: int = 0
    cached: int = 0
    cost_usd: float = 0.0
    retried: int = 0
    """Provider requests beyond the first of each cell (retries and fallbacks)."""
    budget_exceeded: list[tuple[str, str, str, int]] = field(default_factory=list)


class Evaluator:
    """One member of the evaluator pool; see module docstring.

    Args:
        redis_url: Where results, retries, budgets and the response cache live.
        links: The gateway links of its LLM clients; default the named gateway actors.
    """

    def __init__(self, redis_url: str, links: LinkFactory | None = None) -> None:
        from engine.evaluation.retries import RetryCounter
        from engine.redis_client import async_redis

        tracing.configure("autoforge-evaluator")
        self.redis_url = redis_url
        self._links = links
        self.redis: Any = async_redis(redis_url, decode_responses=True)
        self.retries = RetryCounter(self.redis)
        self._runners: OrderedDict[str, asyncio.Future[Any]] = OrderedDict()
        self._clients: dict[str, Any] = {}
        self._batches: Counter[str] = Counter()
        self._idle: dict[str, asyncio.Event] = {}

    async def ready(self) -> bool:
        """Answer once the lean OpenAI-compatible path's HTTP client is imported (aiohttp,
        ~0.2 s: imported by the first calls, it counted in their provider latency). LiteLLM
        (~2.5 s) is imported by the first call that needs it; that path needs none."""
        await asyncio.to_thread(importlib.import_module, "aiohttp")
        return True

    async def _runner(self, dispatch: Dispatch) -> Any:
        run_id = dispatch.run_id
        runner = self._runners.get(run_id)
        if runner is None or (runner.done() and (runner.cancelled() or runner.exception())):
            # The first batches of a run arrive together: they must share one runner and so
            # one slot gate. Each building its own while the context resolved put 1.5× a
            # run's concurrency in flight (192 of 128).
            runner = self._runners[run_id] = asyncio.ensure_future(self._new_runner(dispatch))
            while len(self._runners) > MAX_CACHED_RUNS:
                self._runners.popitem(last=False)
        self._runners.move_to_end(run_id)
        return await runner

    async def _new_runner(self, dispatch: Dispatch) -> Any:
        from engine.evaluation.cell_runner import CellRunner
        from engine.llm import LLMClient

        context = await dispatch.context
        key = context.client_key
        client = self._clients.get(key)
        if client is None:
            client = LLMClient(
                context.catalogue,
                redis_url=self.redis_url,
                env=context.env(),
                links=self._links or ray_links(self.redis_url),
                on_retry=self.retries.retried,
            )
            self._clients[key] = client
        return CellRunner(context, client, slots=dispatch.slots)

    async def work(self, dispatch: Dispatch, cells: list[Cell]) -> BatchReport:
        """Run `cells` of `dispatch`'s run concurrently and XADD every result.

        Raises:
            ServiceUnavailableError: Redis could not take the results (the run is resumable).
            NexusError: anything else went wrong; the details are in this actor's log only.
        """
        run_id = dispatch.run_id
        self._batches[run_id] += 1
        batch = asyncio.ensure_future(self._work(dispatch, cells))
        batch.add_done_callback(lambda done: self._settle(run_id, done))
        try:
            # Ray cancels this call when the scheduler that made it dies; the cells already
            # asked of the provider must still be recorded, so the batch itself goes on.
            return await asyncio.shield(batch)
        except NexusError:
            raise
        except Exception as exc:
            log.exception("batch failed", run_id=run_id)
            raise _ours(exc) from None

    def _settle(self, run_id: str, batch: asyncio.Future[BatchReport]) -> None:
        if not batch.cancelled() and batch.exception() is not None:
            log.debug("batch ended with an error", run_id=run_id, error=repr(batch.exception()))
        self._batches[run_id] -= 1
        if self._batches[run_id] <= 0:
            del self._batches[run_id]
            idle = self._idle.pop(run_id, None)
            if idle is not None:
                idle.set()

    async def drain(self, run_id: str) -> None:
        """Return once no batch of ``run_id`` is being worked here."""
        while run_id in self._batches:
            await self._idle.setdefault(run_id, asyncio.Event()).wait()

    async def _work(self, dispatch: Dispatch, cells: list[Cell]) -> BatchReport:
        runner = await self._runner(dispatch)
        outcomes = await asyncio.gather(*(runner.run(cell) for cell in cells))
        report = BatchReport(run_id=dispatch.run_id)
        await self.retries.flush(report.run_id)  # counted before the scheduler reads them
        pipe = self.redis.pipeline(transaction=False)
        stream = streams.results_stream(report.run_id)
        rows = []
        for cell, outcome in zip(cells, outcomes, strict=True):
            if outcome.budget_exceeded or outcome.row is None:
                report.budget_exceeded.append(cell.key)
                continue
            row = outcome.row
            rows.append(row)
            # Never trimmed while the run is live: trimming could drop unrecorded entries.
            pipe.xadd(stream, streams.encode(row.to_dict()))
            report.done += 1
            report.errors += row.errored
            report.cached += row.cached
            report.cost_usd += row.spent_usd
            report.retried += max(0, row.attempts - 1)
        await pipe.execute()
        exported.cells_finished(rows, _account_names(runner.context.catalogue))
        return report

    async def forget(self, run_id: str) -> None:
        self._runners.pop(run_id, None)


def _account_names(catalogue: Any) -> Any:
    def account_of(model: str) -> str:
        try:
            return str(catalogue.account_for(model).name)
        except Exception:  # a model the catalogue no longer names: still counted
            return "unknown"

    return account_of


def _ours(exc: Exception) -> NexusError:
    """Our error for ``exc``, fit to cross to the scheduler and to be shown (no traceback)."""
    import redis.exceptions

    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | OSError):
        return ServiceUnavailableError(
            "the evaluators lost Redis; resume the run to finish", reason="service-lost"
        )
    if is_ray_error(exc):
        return ServiceUnavailableError(
            "the evaluators lost part of the Ray cluster; resume the run to finish",
            reason="service-lost",
        )
    return NexusError(
        f"an evaluator failed on a batch ({type(exc).__name__}); details are in the server log",
        reason="evaluator-failed",
    )


EvaluatorActor = actor_class(Evaluator, num_cpus=0, max_restarts=-1, max_concurrency=10_000)
"""The Ray actor class of `Evaluator` (name it with `actors.naming.evaluator_name`; place it
with `actors.host.evaluator_placements`)."""
