"""Usage and cost per provider account, run and model; each record counted exactly once.

`UsageLedger` is the gateway's in-memory ledger (since its last start). `RedisUsageStore`
mirrors the same records into Redis, idempotently, so totals survive a gateway restart and
can be read by any process.
"""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from typing import Any

from engine.llm.types import UsageRecord

FIELDS = (
    "calls",
    "ok",
    "failed",
    "requests",
    "errors",
    "rate_limited",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
)
_SEEN_CAP = 1_000_000  # ids remembered for dedup; a replay older than this is unlikely
SEEN_TTL_S = 7 * 24 * 3600


def _scopes(record: UsageRecord) -> list[str]:
    scopes = ["account", f"model:{record.model}"]
    if record.run_id:
        scopes.append(f"run:{record.run_id}")
    if record.user_id:
        scopes += [user_scope(record.user_id), user_model_scope(record.user_id, record.model)]
    return scopes


def user_scope(user_id: str) -> str:
    """The ledger scope of all of one user's calls."""
    return f"user:{user_id}"


def user_model_scope(user_id: str, model: str) -> str:
    """The ledger scope of one user's calls of ``model``."""
    return f"{user_scope(user_id)}:model:{model}"


def usage_key(account: str, scope: str = "account") -> str:
    """The Redis hash of ``account``'s totals in ``scope``."""
    return f"af:usage:{account}:{scope}"


def _deltas(record: UsageRecord) -> dict[str, float]:
    return {
        "calls": 1,
        "ok": int(record.ok),
        "failed": int(not record.ok),
        "requests": record.requests,
        "errors": record.errors,
        "rate_limited": record.rate_limited,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "cost_usd": record.cost_usd,
    }


def _empty() -> dict[str, float]:
    return dict.fromkeys(FIELDS, 0)


class UsageLedger:
    """Totals per scope (``account``, ``run:<id>``, ``model:<name>``, ``user:<id>``,
    ``user:<id>:model:<name>``), deduplicated by record id.

    Examples:
        >>> ledger = UsageLedger()
        >>> rec = UsageRecord("c1/m", "c1", "openai/m", "r1", 2, 1, 0, True, 10, 5, 0.01)
        >>> ledger.record(rec), ledger.record(rec)
        (True, False)
        >>> ledger.totals("run:r1")["requests"]
        2
    """

    def __init__(self) -> None:
        self._totals: defaultdict[str, dict[str, float]] = defaultdict(_empty)
        self._seen: OrderedDict[str, None] = OrderedDict()

    def record(self, record: UsageRecord) -> bool:
        """Count ``record``; False (and nothing counted) if its id was seen before."""
        if record.id in self._seen:
            return False
        self._seen[record.id] = None
        if len(self._seen) > _SEEN_CAP:
            self._seen.popitem(last=False)
        deltas = _deltas(record)
        for scope in _scopes(record):
            totals = self._totals[scope]
            for name, value in deltas.items():
                totals[name] += value
        return True

    def record_all(self, records: Iterable[UsageRecord]) -> int:
        """Count every new record; returns how many were new."""
        return sum(self.record(r) for r in records)

    def totals(self, scope: str = "account") -> dict[str, float]:
        """Totals of ``scope``; zeros for a scope never seen."""
        return dict(self._totals.get(scope) or _empty())

    def scopes(self) -> list[str]:
        """Every scope with at least one record."""
        return sorted(self._totals)


# KEYS[1]: key prefix "af:usage:<account>:". ARGV[1]: JSON list of [id, scopes, deltas].
# New records (SET NX on their id) are summed per scope and field first, then written with one
# HINCRBY per scope and field: a release of 32 records of one run costs ~45 writes, not 1,440.
# A run's scope expires with the ids (ARGV[2] s after its last call): its usage is in its results.
_APPLY = """
local prefix = KEYS[1]
local new = 0
local sums = {}
local order = {}
for _, item in ipairs(cjson.decode(ARGV[1])) do
  if redis.call('SET', prefix .. 'seen:' .. item[1], '1', 'NX', 'EX', tonumber(ARGV[2])) then
    new = new + 1
    for _, scope in ipairs(item[2]) do
      local fields = sums[scope]
      if not fields then
        fields = {}
        sums[scope] = fields
        table.insert(order, scope)
      end
      for name, value in pairs(item[3]) do
        fields[name] = (fields[name] or 0) + value
      end
    end
  end
end
for _, scope in ipairs(order) do
  local key = prefix .. scope
  for name, value in pairs(sums[scope]) do
    if name == 'cost_usd' then
      redis.call('HINCRBYFLOAT', key, name, value)
    elseif value ~= 0 then
      redis.call('HINCRBY', key, name, value)
    end
  end
  if string.sub(scope, 1, 4) == 'run:' then redis.call('EXPIRE', key, tonumber(ARGV[2])) end
end
return new
"""


class RedisUsageStore:
    """The ledger of one account in Redis: ``af:usage:<account>:<scope>`` hashes.

    Args:
        redis: A ``redis.asyncio.Redis`` client.
        account: The provider account.
    """

    def __init__(self, redis: Any, account: str) -> None:
        self._redis = redis
        self._prefix = usage_key(account, "")
        self._apply = redis.register_script(_APPLY)

    async def apply(self, records: Iterable[UsageRecord]) -> int:
        """Count every record not counted before (by id); returns how many were new."""
        items = [[r.id, _scopes(r), _deltas(r)] for r in records]
        if not items:
            return 0
        return int(await self._apply(keys=[self._prefix], args=[json.dumps(items), SEEN_TTL_S]))

    async def totals(self, scope: str = "account") -> dict[str, float]:
        """Durable totals of ``scope``."""
        raw = await self._redis.hgetall(self._prefix + scope)
        totals = _empty()
        for name, value in raw.items():
            key = name.decode() if isinstance(name, bytes) else name
            totals[key] = float(value) if key == "cost_usd" else int(value)
        return totals
