"""A process's pool of permits for one account, bought from its gateway in leases.

Calls wait in FIFO order; one refill loop per account asks the gateway for a lease covering
the calls waiting plus a prefetch of ``PREFETCH_S`` worth of the recent call rate (at most
``max_lease``), and refills when the spare permits run low, so at high rates a call rarely
waits for a round trip and leases amortise the RPCs. Each finished call frees its place
under the account's concurrency cap: the gateway hears of it with the next acquire, or
``FINISH_AFTER_S`` later (at once while places are short, when unused permits go back
too). Counting a lease's permits in flight until the whole lease was released held about
half of a run's concurrency idle at 100 ms latency. A lease is released with its real
usage once every call it admitted finished; permits still unused after ``LINGER_S`` are
returned. Usage records ride along with releases, and a timer flushes any left over.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.llm import Lease, exhausted_reset
from domain.llm.limiter import SHORT_S
from engine.llm.gateways import GatewayLink
from engine.llm.types import UsageRecord
from engine.logs import get_logger

log = get_logger(__name__)

CONCURRENCY_POLL_S = 0.02
"""A release may free a concurrency slot long before the gateway's estimate: poll."""
PATIENCE_S = 0.25
"""How long the gateway holds an acquire for calls waiting until a place frees."""
FINISH_AFTER_S = 0.02
"""Longest delay before the gateway hears of finished calls while places are not short."""
FLUSH_AFTER_S = 0.5
PREFETCH_S = 0.25
"""Seconds of the recent call rate bought ahead of demand."""
LINGER_S = 0.5
"""Life of a lease's unused permits before they go back to the gateway."""
_RATE_WINDOW_S = 0.25


@dataclass
class _Held:
    lease: Lease
    left: int
    handed: int = 0
    finished: int = 0
    unsent: int = 0
    used_tokens: int = 0
    open: bool = True
    told: int = 0
    """Permits the gateway knows are finished (or were handed back unused)."""


@dataclass(frozen=True)
class Permit:
    """Leave to send one request, taken from lease ``lease_id``."""

    lease_id: str


class LeasePool:
    """Permits for one account.

    Args:
        link: The account's gateway.
        max_lease: Most permits asked for in one lease.
        max_concurrency: The account's cap; a lease takes at most half of it, so unused
            permits of one process never hold the whole cap.
    """

    def __init__(
        self, link: GatewayLink, max_lease: int = 32, max_concurrency: int | None = None
    ) -> None:
        self._link = link
        self.max_lease = (
            max_lease if max_concurrency is None else max(1, min(max_lease, max_concurrency // 2))
        )
        # Prefetched permits count against the cap: in use plus spare stay within half of it,
        # or two processes prefetching at 2× a run's concurrency were refused places.
        self._prefetch_cap = math.inf if max_concurrency is None else max_concurrency // 2
        self._in_use = 0
        self._held: dict[str, _Held] = {}
        self._open: deque[_Held] = deque()
        self._waiters: deque[tuple[asyncio.Future[Permit], int]] = deque()
        self._refill: asyncio.Task[None] | None = None
        self._records: list[UsageRecord] = []
        self._flush: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._rate = 0.0  # permits per second, smoothed
        self._window = (0.0, 0)  # start, permits taken since
        self._tokens_each = 0.0
        self._untold: dict[str, _Held] = {}
        self._tell: asyncio.Handle | None = None
        self._short_until = -math.inf
        self.leases = 0

    async def permit(self, tokens: int) -> Permit:
        """A permit for one request estimated at ``tokens`` tokens; waits for the gateway."""
        self._tokens_each = (
            tokens if not self._tokens_each else (0.9 * self._tokens_each + 0.1 * tokens)
        )
        taken = self._take()
        if taken is not None:
            self._maybe_refill()
            return taken
        future: asyncio.Future[Permit] = asyncio.get_running_loop().create_future()
        entry = (future, tokens)
        self._waiters.append(entry)
        self._maybe_refill()
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.exception() is None:
                self.done(future.result(), 0, sent=False)
            elif entry in self._waiters:
                self._waiters.remove(entry)
            raise

    def done(self, permit: Permit, used_tokens: int, sent: bool = True) -> None:
        """The request of ``permit`` finished (``sent=False``: it never went out)."""
        held = self._held.get(permit.lease_id)
        if held is None:
            return
        held.finished += 1
        self._in_use -= 1
        held.used_tokens += used_tokens
        held.unsent += not sent
        if not self._maybe_release(held):
            self._untold[held.lease.id] = held
            self._tell_soon()

    def add_record(self, record: UsageRecord) -> None:
        """Queue a usage record for the gateway (sent with the next release, or soon)."""
        self._records.append(record)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(FLUSH_AFTER_S, self._flush_now)

    async def rate_limited(self, retry_after_s: float | None, headers: Mapping[str, str]) -> None:
        """Tell the gateway the provider answered 429."""
        await self._link.on_rate_limited(retry_after_s, headers)

    async def observe(self, headers: Mapping[str, str]) -> None:
        """Tell the gateway when a response says a limit is exhausted (else: no RPC)."""
        if exhausted_reset(headers):
            await self._link.observe(headers)

    async def aclose(self) -> None:
        """Return unused permits, send pending records and wait for every gateway call."""
        for held in list(self._open):
            self._close(held)
        self._tell_now()
        self._flush_now()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _count(self, n: int) -> None:
        now = time.monotonic()
        start, count = self._window
        if now - start >= _RATE_WINDOW_S:
            measured = count / (now - start) if start else 0.0
            self._rate = 0.5 * self._rate + 0.5 * measured
            self._window = (now, n)
        else:
            self._window = (start, count + n)

    def _spare(self) -> int:
        return sum(h.left for h in self._open)

    def _prefetch(self) -> int:
        if self._short():
            return 0
        room = max(0, self._prefetch_cap - self._in_use)
        return int(min(self.max_lease, math.ceil(self._rate * PREFETCH_S), room))

    def _short(self) -> bool:
        return time.monotonic() < self._short_until

    def _tell_soon(self) -> None:
        if self._tell is not None:
            return
        loop = asyncio.get_running_loop()
        if self._short():
            self._tell = loop.call_soon(self._tell_now)
        else:
            self._tell = loop.call_later(FINISH_AFTER_S, self._tell_now)

    def _finished(self) -> dict[str, int]:
        """Finished permits the gateway has not heard of, by lease (now counted as told)."""
        if self._tell is not None:
            self._tell.cancel()
            self._tell = None
        counts: dict[str, int] = {}
        for lease_id, held in self._untold.items():
            done = held.finished + (held.lease.requests - held.handed - held.left)
            if done > held.told:
                counts[lease_id] = done - held.told
                held.told = done
        self._untold.clear()
        return counts

    def _tell_now(self) -> None:
        self._tell = None
        counts = self._finished()
        if counts:
            self._spawn(self._told(counts), "finish")

    async def _told(self, counts: dict[str, int]) -> None:
        if await self._link.finish(counts):
            self._shortage()

    def _shortage(self) -> None:
        """Places are short at the gateway: stop prefetching, hand back unused permits."""
        self._short_until = time.monotonic() + SHORT_S
        for held in list(self._open):
            if held.left > 0:
                self._close(held)

    def _take(self) -> Permit | None:
        while self._open:
            held = self._open[0]
            if held.left > 0:
                held.left -= 1
                held.handed += 1
                self._in_use += 1
                self._count(1)
                return Permit(held.lease.id)
            self._open.popleft()
            held.open = False
        return None

    def _wanted(self) -> int:
        need = len(self._waiters)
        if need == 0 and self._spare() * 2 > self._prefetch():
            return 0
        return min(self.max_lease, need + max(0, self._prefetch() - self._spare()))

    def _maybe_refill(self) -> None:
        if self._refill is None and self._wanted() > 0:
            self._refill = asyncio.create_task(self._refill_loop())

    async def _refill_loop(self) -> None:
        try:
            while (want := self._wanted()) > 0:
                waiting = list(self._waiters)[:want]
                tokens = sum(t for _, t in waiting)
                tokens += math.ceil(self._tokens_each * (want - len(waiting)))
                patience = PATIENCE_S if self._waiters else 0.0
                grant = await self._link.acquire(want, tokens, self._finished(), patience)
                if isinstance(grant, Lease):
                    self._grant(grant)
                    if grant.short:
                        self._shortage()
                    continue
                if grant.reason == "concurrency":
                    self._shortage()
                if not self._waiters:
                    return  # only prefetching: not worth waiting for
                pause = grant.seconds
                if grant.reason == "concurrency":
                    pause = min(pause, CONCURRENCY_POLL_S)
                # Spread clients that were told the same instant.
                await asyncio.sleep(pause * (1.0 + 0.1 * random.random()))
        except Exception as exc:
            while self._waiters:
                future, _ = self._waiters.popleft()
                if not future.done():
                    future.set_exception(exc)
        finally:
            self._refill = None

    def _grant(self, lease: Lease) -> None:
        self.leases += 1
        held = _Held(lease, lease.requests)
        self._held[lease.id] = held
        served = 0
        while held.left > 0 and self._waiters:
            future, _ = self._waiters.popleft()
            if future.done():
                continue
            held.left -= 1
            held.handed += 1
            served += 1
            self._in_use += 1
            future.set_result(Permit(lease.id))
        self._count(served)
        if held.left > 0:
            self._open.append(held)
            asyncio.get_running_loop().call_later(LINGER_S, self._close, held)
        else:
            held.open = False
            self._maybe_release(held)

    def _close(self, held: _Held) -> None:
        unused = held.left
        held.left = 0
        held.open = False
        if held in self._open:
            self._open.remove(held)
        if not self._maybe_release(held) and unused:
            self._untold[held.lease.id] = held  # unused permits free their places too
            self._tell_soon()

    def _maybe_release(self, held: _Held) -> bool:
        """Release ``held`` if it is used up; whether it is (or was) released."""
        if held.left > 0 or held.finished < held.handed:
            return False
        self._untold.pop(held.lease.id, None)  # the release frees every place it holds
        if self._held.pop(held.lease.id, None) is None:
            return True
        records, self._records = self._records, []
        self._spawn(
            self._link.release(held.lease.id, held.handed - held.unsent, held.used_tokens, records),
            "release",
        )
        return True

    def _flush_now(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._records:
            records, self._records = self._records, []
            self._spawn(self._link.report(records), "report")

    def _spawn(self, coro: Any, what: str) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def finished(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.warning("gateway call failed", call=what, error=str(t.exception()))

        task.add_done_callback(finished)
