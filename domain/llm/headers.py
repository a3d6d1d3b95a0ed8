"""Reading a provider's rate-limit headers: how long it wants us to stay away."""

from __future__ import annotations

import re
from collections.abc import Mapping

_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|h|m|s)")
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")


def parse_duration(text: str) -> float | None:
    """Seconds in a duration such as ``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m3.5s"`` or ``"2"``.

    A bare number counts as seconds. Returns ``None`` when ``text`` is not a duration
    (an HTTP date, for instance).

    Examples:
        >>> parse_duration("6m0s")
        360.0
        >>> parse_duration("20ms")
        0.02
    """
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    parts = list(_PART.finditer(text))
    if not parts or "".join(p.group(0) for p in parts) != text:
        return None
    return sum(float(p.group(1)) * _UNIT_S[p.group(2)] for p in parts)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): str(v) for k, v in headers.items()}


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The provider's explicit wait: ``retry-after-ms``, else ``retry-after`` in seconds.

    ``Retry-After`` given as an HTTP date is ignored: the limiter's clock is not wall time.
    """
    h = _lower(headers)
    if "retry-after-ms" in h:
        ms = parse_duration(h["retry-after-ms"])
        if ms is not None:
            return ms / 1000.0
    if "retry-after" in h:
        return parse_duration(h["retry-after"])
    return None


def exhausted_reset(headers: Mapping[str, str]) -> float | None:
    """Seconds until the reset of each limit whose ``x-ratelimit-remaining-*`` is 0 (the longest).

    Covers requests and tokens (``x-ratelimit-reset-requests: 6m0s``). A limit with no
    ``remaining`` header or a non-zero one does not count.
    """
    h = _lower(headers)
    waits = []
    for resource in ("requests", "tokens"):
        remaining = h.get(f"x-ratelimit-remaining-{resource}")
        reset = h.get(f"x-ratelimit-reset-{resource}")
        if remaining is None or reset is None:
            continue
        try:
            exhausted = float(remaining) <= 0
        except ValueError:
            continue
        seconds = parse_duration(reset)
        if exhausted and seconds is not None:
            waits.append(seconds)
    return max(waits, default=None)


def provider_pause(retry_after_s: float | None, headers: Mapping[str, str]) -> float | None:
    """The longest wait any signal of a rate-limited response asks for, or ``None`` if none does.

    Args:
        retry_after_s: A wait already extracted by the caller (e.g. from the exception).
        headers: Response headers, any case.
    """
    explicit = retry_after_s if retry_after_s is not None else retry_after(headers)
    signals = [s for s in (explicit, exhausted_reset(headers)) if s is not None]
    return max(0.0, *signals) if signals else None
