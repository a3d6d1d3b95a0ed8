"""A token bucket on a caller-supplied clock."""

from __future__ import annotations

import math

from domain.errors import ValidationError

# Float slack when comparing levels, far below one token: it can never admit a whole extra one.
EPS = 1e-9
MIN_WAIT_S = 1e-6
_WINDOW_S = 60.0


class TokenBucket:
    """A bucket of ``capacity`` tokens refilled continuously at ``refill_per_s``.

    Starts full at the first ``now`` it sees. A take larger than the capacity is admitted
    only from a full bucket and leaves it in debt, so oversized requests wait rather than
    starve. Levels may also go negative through `charge` (real usage above an estimate).
    """

    def __init__(self, capacity: float, refill_per_s: float) -> None:
        if capacity <= 0 or refill_per_s < 0:
            raise ValidationError(f"bad bucket: capacity={capacity}, refill_per_s={refill_per_s}")
        self.capacity = float(capacity)
        self.refill_per_s = float(refill_per_s)
        self._level = self.capacity
        self._at: float | None = None

    @classmethod
    def per_minute(cls, limit: int, burst_s: float = 1.0) -> TokenBucket:
        """A bucket that never admits more than ``limit`` in any 60-s window.

        Capacity is ``burst_s`` worth of the rate (at least 1, at most ``limit - 1``); the
        refill is ``(limit - capacity) / 60`` per second, so burst plus a minute of refill
        stays within ``limit`` and the sustained rate is ``1 - capacity/limit`` of it.
        """
        if limit < 1 or burst_s <= 0:
            raise ValidationError(f"bad per-minute bucket: limit={limit}, burst_s={burst_s}")
        capacity = min(max(1.0, limit * burst_s / _WINDOW_S), max(1.0, limit - 1.0))
        # limit == 1: refill a hair under 1/min so two grants are always > 60 s apart.
        return cls(capacity, max(limit - capacity, 1.0 - 1e-6) / _WINDOW_S)

    def _advance(self, now: float) -> None:
        if self._at is not None and now > self._at:
            self._level = min(self.capacity, self._level + (now - self._at) * self.refill_per_s)
        if self._at is None or now > self._at:
            self._at = now

    def available(self, now: float) -> float:
        """Tokens in the bucket at ``now`` (negative while in debt)."""
        self._advance(now)
        return self._level

    def _admits(self, n: float) -> bool:
        return self._level + EPS >= min(n, self.capacity)

    def try_take(self, n: float, now: float) -> bool:
        """Take ``n`` tokens if the bucket holds them; report whether it did."""
        self._advance(now)
        if not self._admits(n):
            return False
        self._level -= n
        return True

    def time_until(self, n: float, now: float) -> float:
        """Seconds until `try_take` of ``n`` would succeed (0 if now, ``inf`` if never)."""
        self._advance(now)
        if self._admits(n):
            return 0.0
        if self.refill_per_s == 0:
            return math.inf
        return max(MIN_WAIT_S, (min(n, self.capacity) - self._level) / self.refill_per_s)

    def charge(self, n: float, now: float) -> None:
        """Remove ``n`` tokens unconditionally; the level may go negative."""
        self._advance(now)
        self._level -= n

    def put_back(self, n: float, now: float) -> None:
        """Return ``n`` unused tokens, never beyond the capacity."""
        self._advance(now)
        self._level = min(self.capacity, self._level + n)

    def set_rate(self, refill_per_s: float, now: float) -> None:
        """Change the refill rate from ``now`` on."""
        self._advance(now)
        self.refill_per_s = refill_per_s
