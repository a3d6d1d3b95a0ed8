"""Spending caps in Redis, shared by every process: reserve a forecast, settle the real cost.

Each scope (``run:<id>``, ``user:<id>``, anything) is a hash ``af:budget:{scope}`` holding
``limit``, ``spent``, ``reserved`` and ``calls``, plus per-call hashes of reservations
(``...:reserved``) and settlements (``...:settled``). Reservations count against the cap at
once (`domain.llm.Budget.forecast`, atomically in Lua), so concurrent calls cannot all pass
the check and overshoot together. A call that fits next to what is spent but not next to
what calls in flight hold waits for them (`BudgetStore.admit`): a cap is refused only when
it is really spent. Every operation is idempotent per call id.

A scope without a limit admits everything but still tracks spend. A refused reservation is
not an exception: `engine.llm.LLMClient` returns a result whose ``error.kind`` is
``"budget"`` and makes no provider call; evaluators mark the cell budget-exceeded and stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import ValidationError

RUN_TTL_S = 30 * 24 * 3600
"""Life of a run's budget keys after its last settled call."""
_SLACK = 1e-9  # as domain.llm.Budget: float sums must not refuse a call that fits exactly
PATIENCE_S = 120.0
"""How long `BudgetStore.admit` waits on calls in flight that neither settle nor free."""
_POLL_S = (0.01, 0.25)  # first and longest wait between two tries of a call kept waiting
_REFUSED, _RESERVED, _HELD, _NOT_NOW = 0, 1, 2, 3

# KEYS: (state, reserved, settled) per scope. ARGV: call id, estimate, slack.
# Returns {verdict, state}: 1 reserved, 2 already held or settled (no change), 0 refused (the
# estimate does not fit next to what is spent), 3 not now (it fits once calls in flight settle;
# state: the blocking scopes' settled calls and reservations, to tell whether anything moved).
_RESERVE = """
local call, estimate, slack = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local function known(i)
  return redis.call('HEXISTS', KEYS[i + 2], call) == 1
      or redis.call('HEXISTS', KEYS[i + 1], call) == 1
end
local held, blocked = 0, ''
for i = 1, #KEYS, 3 do
  if known(i) then
    held = held + 1
  else
    local limit = redis.call('HGET', KEYS[i], 'limit')
    if limit then
      local spent = tonumber(redis.call('HGET', KEYS[i], 'spent') or '0')
      local reserved = redis.call('HGET', KEYS[i], 'reserved') or '0'
      if spent + estimate > tonumber(limit) + slack then return {0, ''} end
      if spent + tonumber(reserved) + estimate > tonumber(limit) + slack then
        blocked = blocked .. (redis.call('HGET', KEYS[i], 'calls') or '0') .. ':' .. reserved .. ';'
      end
    end
  end
end
if blocked ~= '' then return {3, blocked} end
if held * 3 == #KEYS then return {2, ''} end
for i = 1, #KEYS, 3 do
  if not known(i) then
    redis.call('HSET', KEYS[i + 1], call, ARGV[2])
    redis.call('HINCRBYFLOAT', KEYS[i], 'reserved', ARGV[2])
  end
end
return {1, ''}
"""

# ARGV: call id, actual cost ('' = charge the reservation), TTL of a run's keys. Returns
# scopes newly settled. A run scope's keys expire RUN_TTL_S after its last settlement: the
# run's cost is in its results; otherwise every capped run would stay in Redis forever.
_SETTLE = """
local call, actual, run_ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local settled = 0
for i = 1, #KEYS, 3 do
  if redis.call('HEXISTS', KEYS[i + 2], call) == 0 then
    local held = redis.call('HGET', KEYS[i + 1], call)
    if held then
      redis.call('HDEL', KEYS[i + 1], call)
      redis.call('HINCRBYFLOAT', KEYS[i], 'reserved', '-' .. held)
    end
    local cost = actual
    if cost == '' then cost = held or '0' end
    redis.call('HINCRBYFLOAT', KEYS[i], 'spent', cost)
    redis.call('HINCRBY', KEYS[i], 'calls', 1)
    redis.call('HSET', KEYS[i + 2], call, cost)
    settled = settled + 1
  end
  if string.find(KEYS[i], '{run:', 1, true) then
    for k = i, i + 2 do redis.call('EXPIRE', KEYS[k], run_ttl) end
  end
end
return settled
"""

_CANCEL = """
local freed = 0
for i = 1, #KEYS, 3 do
  local held = redis.call('HGET', KEYS[i + 1], ARGV[1])
  if held then
    redis.call('HDEL', KEYS[i + 1], ARGV[1])
    redis.call('HINCRBYFLOAT', KEYS[i], 'reserved', '-' .. held)
    freed = freed + 1
  end
end
return freed
"""


def _keys(scopes: Sequence[str]) -> list[str]:
    keys: list[str] = []
    for scope in scopes:
        base = f"af:budget:{{{scope}}}"
        keys += [base, f"{base}:reserved", f"{base}:settled"]
    return keys


@dataclass(frozen=True)
class BudgetStatus:
    """A scope's figures in USD (``limit_usd`` is ``None`` when the scope has no cap)."""

    scope: str
    limit_usd: float | None
    spent_usd: float
    reserved_usd: float
    calls: int

    @property
    def remaining_usd(self) -> float | None:
        """USD still free to reserve (``None`` without a cap)."""
        if self.limit_usd is None:
            return None
        return max(0.0, self.limit_usd - self.spent_usd - self.reserved_usd)


LIMITS_TTL_S = 1.0


class BudgetStore:
    """Budgets of every scope, in one Redis.

    Args:
        redis: A ``redis.asyncio.Redis`` client.

    Examples:
        >>> budgets = BudgetStore(redis)  # doctest: +SKIP
        >>> await budgets.set_limit("run:r1", 0.50)  # doctest: +SKIP
        >>> await budgets.reserve(["run:r1"], "call-1", 0.01)  # doctest: +SKIP
        True
    """

    def __init__(self, redis: Any, limits_ttl_s: float = LIMITS_TTL_S) -> None:
        self.redis = redis
        self._limits_ttl_s = limits_ttl_s
        self._limits: dict[str, tuple[float, bool]] = {}
        self._looking: dict[str, asyncio.Future[None]] = {}
        self._reserve = redis.register_script(_RESERVE)
        self._settle = redis.register_script(_SETTLE)
        self._cancel = redis.register_script(_CANCEL)
        self._freed = asyncio.Event()

    @classmethod
    def from_url(cls, url: str) -> BudgetStore:
        """A store on the Redis at ``url``."""
        from engine.redis_client import async_redis

        return cls(async_redis(url))

    async def set_limit(self, scope: str, limit_usd: float | None) -> None:
        """Cap ``scope`` at ``limit_usd`` (``None`` removes the cap, keeping the figures)."""
        key = _keys([scope])[0]
        if limit_usd is None:
            await self.redis.hdel(key, "limit")
            return
        if not limit_usd >= 0:
            raise ValidationError(f"budget limit must be >= 0, got {limit_usd}", scope=scope)
        await self.redis.hset(key, "limit", repr(float(limit_usd)))
        if scope.startswith("run:"):  # a run that never settles a call must not stay forever
            await self.redis.expire(key, RUN_TTL_S)

    async def capped(self, scopes: Sequence[str]) -> list[str]:
        """The scopes among ``scopes`` that have a cap (cached for a second).

        Reserving and settling cost two Redis round trips per call; scopes without a cap
        skip both, so an uncapped run pays nothing for budgets. Spending of such scopes is
        still in the run's results and the gateways' usage ledger. A cap set on a scope
        takes effect within ``limits_ttl_s`` (runs set theirs before their first call).
        """
        now = time.monotonic()
        unknown = [s for s in scopes if self._limits.get(s, (0.0, False))[0] <= now]
        if unknown:
            # One lookup per scope however many calls ask at once: when the cached answer
            # expires, hundreds of cells in flight would otherwise each ask Redis.
            await asyncio.gather(*(asyncio.shield(self._lookup(s)) for s in unknown))
        return [s for s in scopes if self._limits[s][1]]

    def _lookup(self, scope: str) -> asyncio.Future[None]:
        looking = self._looking.get(scope)
        if looking is None:
            looking = self._looking[scope] = asyncio.ensure_future(self._has_limit(scope))
        return looking

    async def _has_limit(self, scope: str) -> None:
        try:
            has_limit = await self.redis.hexists(_keys([scope])[0], "limit")
            self._limits[scope] = (time.monotonic() + self._limits_ttl_s, bool(has_limit))
        finally:
            del self._looking[scope]

    async def reserve(self, scopes: Sequence[str], call_id: str, estimate_usd: float) -> bool:
        """Hold ``estimate_usd`` in every scope for ``call_id`` if it fits in all of them now.

        All or nothing. An id already held or settled is admitted without holding more.

        Returns:
            False when a cap refuses: do not make the call.
        """
        verdict, _ = await self._try(scopes, call_id, estimate_usd)
        return verdict in (_RESERVED, _HELD)

    async def admit(
        self,
        scopes: Sequence[str],
        call_id: str,
        estimate: Callable[[], float],
        patience_s: float = PATIENCE_S,
    ) -> bool:
        """Reserve ``estimate()`` for ``call_id``, waiting while only calls in flight stand in
        the way: their real cost, once settled, is usually far below what they hold.

        Refusing such a call instead stopped a run whose budget was mostly held, not spent.
        The estimate is asked again before each try (it may have been learnt meanwhile).

        Returns:
            False when the estimate does not fit next to what is already spent, or nothing
            was settled or freed in the blocking scopes for ``patience_s``.
        """
        delay, seen, quiet_since = _POLL_S[0], "", time.monotonic()
        while True:
            verdict, state = await self._try(scopes, call_id, estimate())
            if verdict != _NOT_NOW:
                return verdict != _REFUSED
            if state != seen:
                delay, seen, quiet_since = _POLL_S[0], state, time.monotonic()
            elif time.monotonic() - quiet_since > patience_s:
                return False
            freed = self._freed
            with contextlib.suppress(TimeoutError):
                # A settlement here wakes the wait at once; one in another process is polled.
                await asyncio.wait_for(freed.wait(), delay)
            delay = min(2 * delay, _POLL_S[1])

    async def _try(
        self, scopes: Sequence[str], call_id: str, estimate_usd: float
    ) -> tuple[int, str]:
        if not estimate_usd >= 0:
            raise ValidationError(f"estimate must be >= 0, got {estimate_usd}", call_id=call_id)
        if not scopes:
            return _RESERVED, ""
        verdict, state = await self._reserve(
            keys=_keys(scopes), args=[call_id, repr(float(estimate_usd)), repr(_SLACK)]
        )
        return int(verdict), state.decode() if isinstance(state, bytes) else str(state)

    def _wake(self) -> None:
        self._freed.set()
        self._freed = asyncio.Event()

    async def settle(self, scopes: Sequence[str], call_id: str, actual_usd: float | None) -> bool:
        """Record the real cost of ``call_id`` and free its reservation, once per scope.

        Args:
            scopes: The scopes reserved in.
            call_id: The call.
            actual_usd: Real cost; ``None`` charges the reservation (cost unknown).

        Returns:
            False if every scope had settled ``call_id`` already (nothing counted twice).
        """
        if actual_usd is not None and not actual_usd >= 0:
            raise ValidationError(f"cost must be >= 0, got {actual_usd}", call_id=call_id)
        if not scopes:
            return False
        cost = "" if actual_usd is None else repr(float(actual_usd))
        args = [call_id, cost, RUN_TTL_S]
        settled = int(await self._settle(keys=_keys(scopes), args=args)) > 0
        self._wake()
        return settled

    async def cancel(self, scopes: Sequence[str], call_id: str) -> bool:
        """Free the reservation of a call that was never made; False if none was held."""
        if not scopes:
            return False
        freed = int(await self._cancel(keys=_keys(scopes), args=[call_id])) > 0
        self._wake()
        return freed

    async def status(self, scope: str) -> BudgetStatus:
        """The figures of ``scope`` (zeros for a scope never used)."""
        raw = await self.redis.hgetall(_keys([scope])[0])
        values = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
        limit = values.get("limit")
        return BudgetStatus(
            scope=scope,
            limit_usd=None if limit is None else float(limit),
            spent_usd=float(values.get("spent", 0)),
            reserved_usd=max(0.0, float(values.get("reserved", 0))),
            calls=int(values.get("calls", 0)),
        )

    async def clear(self, scope: str) -> None:
        """Forget ``scope`` entirely: cap, figures and call ids."""
        await self.redis.delete(*_keys([scope]))

    async def aclose(self) -> None:
        """Close the Redis connections."""
        await self.redis.aclose()
