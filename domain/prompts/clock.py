"""Time for the prompt domain: an injectable clock and the one timestamp format we store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from domain.errors import ValidationError

Clock = Callable[[], datetime]
"""A zero-argument callable returning the current, timezone-aware time."""


def utc_now() -> datetime:
    """The default clock: the current time in UTC."""
    return datetime.now(UTC)


def to_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; naive datetimes are refused because their instant is unknown."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValidationError(
            "timestamps must be timezone-aware datetimes", reason="naive-datetime"
        )
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """ISO-8601 in UTC with microseconds, e.g. ``2024-05-01T12:00:00.000000+00:00``."""
    return to_utc(moment).isoformat(timespec="microseconds")


def parse_time(text: object) -> datetime:
    """Parse what :func:`format_time` wrote (any aware ISO-8601 string is accepted)."""
    if not isinstance(text, str):
        raise ValidationError("timestamp must be an ISO-8601 string", reason="malformed-time")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(
            f"timestamp {text!r} is not ISO-8601", reason="malformed-time"
        ) from exc
    return to_utc(moment)
