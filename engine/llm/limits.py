"""How long an exhausted provider limit really keeps us away.

Providers send ``x-ratelimit-reset-<resource>`` as the time until a limit is *fully*
replenished (OpenAI) or until a sliding window is empty (the simulator): up to a minute.
Both replenish continuously, so once ``remaining`` hits 0 the next request fits after about
one request's share of the window. Pausing until the full reset (what
`domain.llm.RateLimiter.observe` does with the raw headers) idles a run that merely reached
its limit exactly, for up to a minute. If the provider still refuses, its 429 carries
``Retry-After`` and the gateway pauses for that.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.llm import parse_duration

WINDOW_S = 60.0
"""Per-minute limits: a window of 60 s."""
TOKENS_PAUSE_S = 1.0
"""Longest pause for an exhausted token limit (one request's tokens are unknown here)."""


def _share(resource: str, limit: str | None) -> float:
    if resource == "requests" and limit:
        try:
            per_minute = float(limit)
        except ValueError:
            return WINDOW_S
        return WINDOW_S / per_minute if per_minute > 0 else WINDOW_S
    return TOKENS_PAUSE_S


def next_slot_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` (lower-cased) with each exhausted limit's reset cut to the next free slot.

    Examples:
        >>> h = {"x-ratelimit-limit-requests": "1200", "x-ratelimit-remaining-requests": "0",
        ...      "x-ratelimit-reset-requests": "59.9s"}
        >>> next_slot_headers(h)["x-ratelimit-reset-requests"]
        '0.050000s'
    """
    out = {str(k).lower(): str(v) for k, v in headers.items()}
    for resource in ("requests", "tokens"):
        remaining = out.get(f"x-ratelimit-remaining-{resource}")
        reset = out.get(f"x-ratelimit-reset-{resource}")
        if remaining is None or reset is None:
            continue
        try:
            exhausted = float(remaining) <= 0
        except ValueError:
            continue
        reset_s = parse_duration(reset)
        if exhausted and reset_s is not None:
            share = _share(resource, out.get(f"x-ratelimit-limit-{resource}"))
            out[f"x-ratelimit-reset-{resource}"] = f"{min(reset_s, share):.6f}s"
    return out
