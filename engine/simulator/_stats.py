"""Counters the simulator keeps and serves on ``GET /stats``."""

from __future__ import annotations

import hashlib
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.simulator._reply import text_of

REQUEST_LOG_CAP = 200_000
"""Chat requests remembered for ``GET /stats/requests``; older ones are dropped first."""


def request_key(model: str, prompt: str) -> str:
    """The key a chat request is logged under: its model and its last user message.

    A benchmark that renders a distinct prompt per cell can tell which cell each request
    served (e.g. requests repeated for an already recorded cell).
    """
    return hashlib.blake2b(f"{model}\n{prompt}".encode(), digest_size=8).hexdigest()


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    users = [m for m in messages if m.get("role") == "user"]
    return text_of(users[-1].get("content")) if users else ""


class Stats:
    """Counts API requests (``/v1/*`` only; ``/health`` and ``/stats`` are not counted).

    ``by_credential`` counts them by the `credential_fingerprint` of their ``Authorization``.
    ``clock`` (epoch seconds) times the request span and the in-flight mean.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        self.requests_total = 0
        self.by_route: Counter[str] = Counter()
        self.by_model: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.by_credential: Counter[str] = Counter()
        self.rate_limited = 0
        self.injected_errors = 0
        self.injected_timeouts = 0
        self.tool_calls = 0
        self.malformed_tool_calls = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.chat_log: deque[tuple[float, str, int]] = deque(maxlen=REQUEST_LOG_CAP)
        self.in_flight = getattr(self, "in_flight", 0)  # requests being served survive a reset
        self.max_in_flight = self.in_flight
        self.first_request_at: float | None = None
        self.last_response_at: float | None = None
        self._in_flight_area = 0.0  # request-seconds since the first arrival
        self._area_at_last_response = 0.0
        self._last_change = self._clock()
        self.started = time.monotonic()
        self.cpu_at_reset = time.process_time()

    def request_started(self) -> None:
        """Count one request arriving (``/v1/*``): in flight until `request_finished`."""
        now = self._advance()
        if self.first_request_at is None:
            self.first_request_at = now
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def request_finished(self) -> None:
        """Count one request answered (whatever the status)."""
        now = self._advance()
        self.in_flight -= 1
        self.last_response_at = now
        self._area_at_last_response = self._in_flight_area

    def _advance(self) -> float:
        now = self._clock()
        if self.first_request_at is not None:
            self._in_flight_area += self.in_flight * (now - self._last_change)
        self._last_change = now
        return now

    def _span(self) -> float | None:
        first, last = self.first_request_at, self.last_response_at
        return None if first is None or last is None or last < first else last - first

    def log_chat(self, arrived: float, model: str, prompt: str, status: int) -> None:
        """Remember one chat request: arrival (epoch s), ``request_key``, answered status."""
        self.chat_log.append((arrived, request_key(model, prompt), status))

    def request_log(self) -> dict[str, Any]:
        """The chat request log, oldest first, as served on ``GET /stats/requests``."""
        return {"chat": [{"at": a, "key": k, "status": s} for a, k, s in list(self.chat_log)]}

    def snapshot(self) -> dict[str, Any]:
        """A plain-dict copy, safe to read from another thread.

        ``process_cpu_seconds`` is the CPU time of the whole hosting process since the last
        reset: a per-request cost figure when the simulator runs in its own process.
        ``request_span_s`` runs from the first arrival to the last response since the reset
        (epoch ``first_request_at`` / ``last_response_at``); ``mean_in_flight`` is the
        time-weighted mean of requests in flight over that span. All three are ``None``
        until a request has been answered.
        """
        span = self._span()
        return {
            "requests_total": self.requests_total,
            "by_route": dict(self.by_route),
            "by_model": dict(self.by_model),
            "by_status": {str(k): v for k, v in dict(self.by_status).items()},
            "by_credential": dict(self.by_credential),
            "rate_limited": self.rate_limited,
            "injected_errors": self.injected_errors,
            "injected_timeouts": self.injected_timeouts,
            "tool_calls": self.tool_calls,
            "malformed_tool_calls": self.malformed_tool_calls,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "max_in_flight": self.max_in_flight,
            "in_flight": self.in_flight,
            "first_request_at": self.first_request_at,
            "last_response_at": self.last_response_at,
            "request_span_s": None if span is None else round(span, 6),
            "mean_in_flight": (round(self._area_at_last_response / span, 4) if span else None),
            "uptime_s": round(time.monotonic() - self.started, 3),
            "process_cpu_seconds": round(time.process_time() - self.cpu_at_reset, 4),
        }


def credential_fingerprint(authorization: str | None) -> str:
    """How ``by_credential`` names an ``Authorization`` header: ``none`` or a short digest.

    A digest, so a real key sent here by mistake is never served back on ``/stats``.
    """
    if not authorization:
        return "none"
    return "sha256:" + hashlib.sha256(authorization.encode()).hexdigest()[:16]
