"""A provider account's global limiter: token buckets, a concurrency cap and AIMD backoff.

Pure and clock-free: every call takes ``now`` (seconds on any monotonic clock).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from domain.errors import ValidationError
from domain.llm.bucket import EPS, MIN_WAIT_S, TokenBucket
from domain.llm.headers import exhausted_reset, provider_pause
from domain.llm.specs import ProviderAccount

SHORT_S = 0.5
"""How long a grant refused for concurrency marks places as short (see `RateLimiter.finish`)."""


@dataclass(frozen=True)
class Lease:
    """Permission to send ``requests`` requests using about ``tokens`` tokens, now.

    Send them promptly, tell `RateLimiter.finish` as requests end (each frees its place
    under the concurrency cap at once) and `RateLimiter.release` the lease with the real
    usage; a lease not released by ``expires_at`` is reclaimed (its holder is presumed dead).
    """

    id: str
    requests: int
    tokens: int
    granted_at: float
    expires_at: float
    short: bool = False
    """Places under the concurrency cap were refused lately: hold no permit unused."""


@dataclass(frozen=True)
class Wait:
    """No permit now: ask again after ``seconds``. ``reason``: paused, concurrency, requests,
    tokens. For ``concurrency`` a release may free a slot sooner."""

    seconds: float
    reason: str


@dataclass(frozen=True)
class AimdPolicy:
    """Adaptive rate after 429s: multiply by ``decrease`` (at most once per ``hold_s``),
    regain ``increase_per_s`` of the full rate per second, never below ``floor``."""

    decrease: float = 0.7
    increase_per_s: float = 0.02
    floor: float = 0.05
    hold_s: float = 2.0


class RateLimiter:
    """Grants leases under RPM, TPM and concurrency limits; backs off when the provider objects.

    Args:
        rpm: Requests per minute.
        tpm: Tokens per minute; ``None`` for no token limit.
        max_concurrency: Requests in flight at once; ``None`` for no cap.
        burst_s: Seconds of rate a bucket may hold (see `TokenBucket.per_minute`).
        lease_ttl_s: Life of a lease before it is reclaimed.
        default_pause_s: Pause after a 429 that carries no timing signal.
        aimd: Adaptive backoff constants.
        id_prefix: Prefix of lease ids; give each limiter incarnation its own.

    Examples:
        >>> limiter = RateLimiter(rpm=120, tpm=100_000)
        >>> grant = limiter.acquire(requests=4, tokens=2_000, now=0.0)
        >>> grant.requests, grant.tokens  # the burst holds 2 requests: a partial lease
        (2, 1000)
        >>> wait = limiter.acquire(1, 500, now=0.0)
        >>> wait.reason, round(wait.seconds, 3)
        ('requests', 0.508)
        >>> limiter.release(grant.id, used_requests=2, used_tokens=700, now=0.2)
        True
    """

    def __init__(
        self,
        rpm: int,
        tpm: int | None = None,
        max_concurrency: int | None = None,
        *,
        burst_s: float = 1.0,
        lease_ttl_s: float = 120.0,
        default_pause_s: float = 1.0,
        aimd: AimdPolicy | None = None,
        id_prefix: str = "lease",
    ) -> None:
        self._requests = TokenBucket.per_minute(rpm, burst_s)
        self._tokens = TokenBucket.per_minute(tpm, burst_s) if tpm is not None else None
        self._full_rates = (
            self._requests.refill_per_s,
            self._tokens.refill_per_s if self._tokens else 0.0,
        )
        if max_concurrency is not None and max_concurrency < 1:
            raise ValidationError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency
        self.lease_ttl_s = lease_ttl_s
        self.default_pause_s = default_pause_s
        self.aimd = aimd or AimdPolicy()
        self._prefix = id_prefix
        self._leases: dict[str, Lease] = {}
        self._finished: dict[str, int] = {}
        self._in_flight = 0
        self._short_until = -math.inf
        self._issued = 0
        self._at: float | None = None
        self._paused_until = -math.inf
        self._last_decrease = -math.inf
        self.rate_factor = 1.0
        self.reclaimed = 0

    @classmethod
    def for_account(
        cls, account: ProviderAccount, *, burst_s: float = 1.0, id_prefix: str = "lease"
    ) -> RateLimiter:
        """A limiter for ``account`` whose leases outlive one request's timeout with margin."""
        return cls(
            account.rpm,
            account.tpm,
            account.max_concurrency,
            burst_s=burst_s,
            lease_ttl_s=2 * account.timeout_s + 10.0,
            id_prefix=id_prefix,
        )

    def _tick(self, now: float) -> None:
        if self._at is not None and now > self._at:
            recovering = now - max(self._at, self._paused_until)
            if recovering > 0 and self.rate_factor < 1.0:
                self.rate_factor = min(
                    1.0, self.rate_factor + self.aimd.increase_per_s * recovering
                )
                self._apply_rate(now)
        if self._at is None or now > self._at:
            self._at = now
        for lease in [x for x in self._leases.values() if x.expires_at <= now]:
            self._forget(lease.id)
            self.reclaimed += 1

    def _apply_rate(self, now: float) -> None:
        self._requests.set_rate(self._full_rates[0] * self.rate_factor, now)
        if self._tokens is not None:
            self._tokens.set_rate(self._full_rates[1] * self.rate_factor, now)

    def _forget(self, lease_id: str) -> Lease | None:
        lease = self._leases.pop(lease_id, None)
        if lease is not None:
            self._in_flight -= lease.requests - self._finished.pop(lease_id, 0)
        return lease

    def in_flight(self, now: float) -> int:
        """Requests granted by live leases and not yet finished."""
        self._tick(now)
        return self._in_flight

    def finish(self, lease_id: str, requests: int, now: float) -> bool:
        """``requests`` of lease ``lease_id`` ended (or will never be sent): their places
        under the concurrency cap are free now. The lease stays open until released.

        Returns:
            Whether places are short (`short_of_places`): the caller should then hand
            back permits it holds unused.
        """
        lease = self._leases.get(lease_id)
        if lease is not None and requests > 0:
            done = self._finished.get(lease_id, 0)
            freed = min(requests, lease.requests - done)
            self._finished[lease_id] = done + freed
            self._in_flight -= freed
        return self.short_of_places(now)

    def short_of_places(self, now: float) -> bool:
        """Whether a grant was refused for concurrency in the last `SHORT_S` seconds."""
        return now < self._short_until

    def acquire(self, requests: int, tokens: int, now: float) -> Lease | Wait:
        """Lease up to ``requests`` requests (estimated ``tokens`` in all), or say how long to wait.

        A partial lease (fewer requests, proportional tokens) is granted when only part fits.
        """
        if requests < 1 or tokens < 0:
            raise ValidationError(
                f"acquire needs requests >= 1 and tokens >= 0, got {requests}, {tokens}",
                requests=requests,
                tokens=tokens,
            )
        in_flight = self.in_flight(now)
        if now < self._paused_until:
            return Wait(self._paused_until - now, "paused")
        k = requests
        if self.max_concurrency is not None:
            k = min(k, self.max_concurrency - in_flight)
            if k < 1:
                self._short_until = now + SHORT_S
                soonest = min(lease.expires_at for lease in self._leases.values())
                return Wait(max(MIN_WAIT_S, soonest - now), "concurrency")
        per_request = tokens / requests
        k = min(k, math.floor(self._requests.available(now) + EPS))
        if self._tokens is not None:
            k = min(k, _fits(self._tokens, per_request, k, now))
        if k < 1:
            waits = [(self._requests.time_until(1, now), "requests")]
            if self._tokens is not None:
                waits.append((self._tokens.time_until(per_request, now), "tokens"))
            seconds, reason = max(waits)
            return Wait(max(MIN_WAIT_S, seconds), reason)
        granted_tokens = tokens if k == requests else math.ceil(per_request * k)
        self._requests.charge(k, now)
        if self._tokens is not None:
            self._tokens.charge(granted_tokens, now)
        self._issued += 1
        lease = Lease(
            f"{self._prefix}-{self._issued}",
            k,
            granted_tokens,
            now,
            now + self.lease_ttl_s,
            short=self.short_of_places(now),
        )
        self._leases[lease.id] = lease
        self._in_flight += k
        return lease

    def release(self, lease_id: str, used_requests: int, used_tokens: int, now: float) -> bool:
        """Close a lease with its real usage: refund what went unused, debit any excess.

        Returns:
            False if the lease is unknown, already released or reclaimed (nothing changes).
        """
        if used_requests < 0 or used_tokens < 0:
            raise ValidationError("used requests and tokens must be >= 0", lease_id=lease_id)
        self._tick(now)
        lease = self._forget(lease_id)
        if lease is None:
            return False
        _settle(self._requests, lease.requests - used_requests, now)
        if self._tokens is not None:
            _settle(self._tokens, lease.tokens - used_tokens, now)
        return True

    def on_rate_limited(
        self, retry_after_s: float | None, headers: Mapping[str, str], now: float
    ) -> float:
        """Pause grants until the provider's reset and cut the rate; returns the pause in s."""
        self._tick(now)
        wait = provider_pause(retry_after_s, headers)
        pause = self.default_pause_s if wait is None else wait
        if now >= self._last_decrease + self.aimd.hold_s:
            self._last_decrease = now
            self.rate_factor = max(self.aimd.floor, self.rate_factor * self.aimd.decrease)
            self._apply_rate(now)
        self._paused_until = max(self._paused_until, now + pause)
        return pause

    def observe(self, headers: Mapping[str, str], now: float) -> float:
        """Heed a successful response's headers: pause if a limit reports 0 remaining."""
        self._tick(now)
        wait = exhausted_reset(headers)
        if not wait:
            return 0.0
        self._paused_until = max(self._paused_until, now + wait)
        return wait

    def snapshot(self, now: float) -> dict[str, float]:
        """Current state, for status endpoints and metrics."""
        in_flight = self.in_flight(now)
        return {
            "requests_available": self._requests.available(now),
            "tokens_available": self._tokens.available(now) if self._tokens else math.inf,
            "in_flight": float(in_flight),
            "leases": float(len(self._leases)),
            "rate_factor": self.rate_factor,
            "paused_for_s": max(0.0, self._paused_until - now),
            "reclaimed": float(self.reclaimed),
            "issued": float(self._issued),
        }


def _settle(bucket: TokenBucket, unused: int, now: float) -> None:
    if unused > 0:
        bucket.put_back(unused, now)
    elif unused < 0:
        bucket.charge(-unused, now)


def _fits(bucket: TokenBucket, each: float, most: int, now: float) -> int:
    level = bucket.available(now) + EPS
    if each == 0:
        return most if level >= 0 else 0  # no estimate: only wait out a debt
    if each > bucket.capacity:
        return 1 if level >= bucket.capacity else 0  # oversized: admitted from a full bucket
    return math.floor(level / each)
