"""Sliding windows (60 seconds unless configured) for requests and tokens, with OpenAI-style
headers.

Limits are global to one simulator (one "organisation"), shared by all models and both
POST endpoints. Rejected requests consume nothing.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_S = 60.0


class SlidingWindow:
    """Amounts admitted within the last ``window_s`` seconds, against a limit."""

    def __init__(self, limit: int, window_s: float = WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._events: deque[tuple[float, int]] = deque()
        self._used = 0

    def _purge(self, now: float) -> None:
        horizon = now - self.window_s
        events = self._events
        while events and events[0][0] <= horizon:
            self._used -= events.popleft()[1]

    def remaining(self, now: float) -> int:
        self._purge(now)
        return max(0, self.limit - self._used)

    def wait_for(self, amount: int, now: float) -> float:
        """Seconds until ``amount`` more fits (0 if it fits now, a full window if never)."""
        self._purge(now)
        need = self._used + amount - self.limit
        if need <= 0:
            return 0.0
        if amount > self.limit:
            return self.window_s
        freed = 0
        for stamp, n in self._events:
            freed += n
            if freed >= need:
                return max(stamp + self.window_s - now, 0.001)
        return self.window_s

    def reset_in(self, now: float) -> float:
        """Seconds until the window is empty again, as OpenAI's ``x-ratelimit-reset-*`` mean."""
        self._purge(now)
        return self._events[-1][0] + self.window_s - now if self._events else 0.0

    def add(self, amount: int, now: float) -> None:
        self._events.append((now, amount))
        self._used += amount


@dataclass(frozen=True)
class Admission:
    """The limiter's verdict on one request and the headers to send with the reply."""

    allowed: bool
    retry_after_s: float = 0.0
    limited_by: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def format_duration(seconds: float) -> str:
    """Format like OpenAI's reset headers: ``20ms``, ``1.5s``, ``1m0s``."""
    ms = math.ceil(seconds * 1000)
    if ms <= 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    minutes, rest = divmod(ms / 1000, 60)
    return f"{int(minutes)}m{rest:g}s" if minutes else f"{rest:g}s"


class RateLimiter:
    """RPM and TPM limits over sliding windows of ``window_s``; ``None`` disables either."""

    def __init__(
        self,
        rpm: int | None,
        tpm: int | None,
        clock: Callable[[], float] = time.monotonic,
        window_s: float = WINDOW_S,
    ) -> None:
        self._requests = SlidingWindow(rpm, window_s) if rpm else None
        self._tokens = SlidingWindow(tpm, window_s) if tpm else None
        self._clock = clock

    def admit(self, tokens: int) -> Admission:
        """Admit one request of ``tokens`` estimated tokens, or say how long to wait."""
        now = self._clock()
        wait_requests = self._requests.wait_for(1, now) if self._requests else 0.0
        wait_tokens = self._tokens.wait_for(tokens, now) if self._tokens else 0.0
        wait = max(wait_requests, wait_tokens)
        if wait > 0:
            limited_by = "requests" if wait_requests >= wait_tokens else "tokens"
            headers = self._headers(now)
            retry_s = max(1, math.ceil(wait))
            headers["Retry-After"] = str(retry_s)
            headers["retry-after-ms"] = str(max(1, math.ceil(wait * 1000)))
            return Admission(False, wait, limited_by, headers)
        if self._requests:
            self._requests.add(1, now)
        if self._tokens:
            self._tokens.add(tokens, now)
        return Admission(True, headers=self._headers(now))

    def _headers(self, now: float) -> dict[str, str]:
        headers: dict[str, str] = {}
        for kind, window in (("requests", self._requests), ("tokens", self._tokens)):
            if window is not None:
                headers[f"x-ratelimit-limit-{kind}"] = str(window.limit)
                headers[f"x-ratelimit-remaining-{kind}"] = str(window.remaining(now))
                headers[f"x-ratelimit-reset-{kind}"] = format_duration(window.reset_in(now))
        return headers
