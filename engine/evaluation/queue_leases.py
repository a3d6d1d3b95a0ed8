"""Claims on annotation queue items as Redis leases, kept out of the database's write path.

Each item has a sorted set of the annotators who hold a lease on it, scored by when the
lease lapses (``af:queue:{q}:lease:{position}``), and each queue a hash of the one item each
annotator holds (``af:queue:{q}:held``). A Lua script claims atomically: given a window of
candidate items with their open slots, as the database last said, it returns the
annotator's live lease, else takes the first candidate whose live leases leave a slot. A
lapsed lease simply stops counting, so a crashed annotator's item returns by itself.

The open slots a candidate comes with may be stale by one answer committed meanwhile: the
script returns how many live leases the item had with the new one (its rank), and the store
keeps the lease only if a fresh read of the item's open slots covers that rank (see
`QueueStore.next`). A submitter holds a lease while its answer commits and lets it go after,
so a claim that sees the slot free also reads the answer that took it.

Measured (bench/queue_next.py, 20 annotators, closed loop): one claim, a Lua call over a
unix socket, ~0.1 ms against ~0.6 ms and a place in the writer's line for a claim row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

HELD = 0
"""The rank `claim` returns for a lease the annotator already held (renewed)."""

_CLAIM = """
local held_key, a, now, untl, ttl, prefix = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3],
  tonumber(ARGV[4]), ARGV[5]
local held = redis.call('HGET', held_key, a)
if held then
  local key = prefix .. held
  local score = redis.call('ZSCORE', key, a)
  if score and tonumber(score) > now then
    redis.call('ZADD', key, untl, a)
    redis.call('PEXPIRE', key, ttl)
    redis.call('PEXPIRE', held_key, ttl)
    return {tonumber(held), 0}
  end
end
for i = 6, #ARGV, 2 do
  local key = prefix .. ARGV[i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local taken = redis.call('ZCARD', key)
  if taken < tonumber(ARGV[i + 1]) then
    if held then redis.call('ZREM', prefix .. held, a) end
    redis.call('ZADD', key, untl, a)
    redis.call('PEXPIRE', key, ttl)
    redis.call('HSET', held_key, a, ARGV[i])
    redis.call('PEXPIRE', held_key, ttl)
    return {tonumber(ARGV[i]), taken + 1}
  end
end
return false
"""
_HOLD = """
local key, a, now, untl, ttl, free = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3],
  tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZSCORE', key, a) then
  redis.call('ZADD', key, untl, a)
  redis.call('PEXPIRE', key, ttl)
  return 0
end
local taken = redis.call('ZCARD', key)
if taken >= free then return -1 end
redis.call('ZADD', key, untl, a)
redis.call('PEXPIRE', key, ttl)
return taken + 1
"""
_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[2], ARGV[1]) end
return 1
"""


def lease_prefix(queue_id: str) -> str:
    """The key prefix of a queue's per-item lease sets (the queue id hash-tagged, so every key
    of one queue lives in one cluster slot).

    Examples:
        >>> lease_prefix("q_1")
        'af:queue:{q_1}:lease:'
    """
    return f"af:queue:{{{queue_id}}}:lease:"


def held_key(queue_id: str) -> str:
    """The hash of the item each annotator of a queue holds."""
    return f"af:queue:{{{queue_id}}}:held"


class RedisLeases:
    """Item leases of annotation queues in Redis.

    Args:
        redis: A client of the engine's Redis (``decode_responses`` either way).
    """

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._hold = redis.register_script(_HOLD)
        self._release = redis.register_script(_RELEASE)

    def claim(
        self,
        queue_id: str,
        annotator: str,
        candidates: Sequence[tuple[int, int]],
        now: float,
        lease_s: float,
    ) -> tuple[int, int] | None:
        """The annotator's live lease renewed, else a lease on the first of ``candidates``
        (position, open slots) with a slot no other live lease takes.

        Returns:
            ``(position, rank)``: rank `HELD` for a renewed lease, else how many live leases
            the item has with this one; ``None`` when no candidate has room.
        """
        args: list[Any] = [annotator, now, now + lease_s, _ttl_ms(lease_s), lease_prefix(queue_id)]
        for position, free in candidates:
            args += [position, free]
        got = self._claim(keys=[held_key(queue_id)], args=args)
        return None if not got else (int(got[0]), int(got[1]))

    def hold(
        self, queue_id: str, annotator: str, position: int, free: int, now: float, lease_s: float
    ) -> int | None:
        """A lease on one item for an answer about to be written: the annotator's own renewed
        (rank `HELD`), else a new one if a slot of ``free`` is left (its rank); ``None`` when
        other live leases take every slot. Leaves the item the annotator holds untouched."""
        key = lease_prefix(queue_id) + str(position)
        got = int(self._hold(keys=[key], args=[annotator, now, now + lease_s,
                                               _ttl_ms(lease_s), free]))  # fmt: skip
        return None if got < 0 else got

    def release(self, queue_id: str, annotator: str, position: int) -> None:
        """Drop the annotator's lease on an item (answered, skipped, or a claim not kept)."""
        key = lease_prefix(queue_id) + str(position)
        self._release(keys=[key, held_key(queue_id)], args=[annotator, position])

    def held(self, queue_id: str, position: int, now: float) -> int:
        """How many live leases an item has."""
        return int(self.redis.zcount(lease_prefix(queue_id) + str(position), f"({now}", "+inf"))


def _ttl_ms(lease_s: float) -> int:
    # The keys outlive their last lease a little: the scores, not the TTL, say what is live
    # (a test's clock may run apart from Redis's).
    return int(lease_s * 1000) + 60_000
