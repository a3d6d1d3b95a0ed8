"""Small helpers every SQL store shares: unique-violation translation, ids, timestamps."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from domain.errors import ConflictError


def is_unique_violation(exc: BaseException) -> bool:
    """True for a unique/primary-key violation from stdlib sqlite *or* libSQL.

    libSQL reports them as a plain `ValueError('UNIQUE constraint failed: …')`.
    """
    text = str(getattr(exc, "orig", exc))
    if isinstance(exc, IntegrityError | ValueError):
        return "UNIQUE constraint failed" in text or "PRIMARY KEY" in text.upper()
    return False


@contextmanager
def unique_as_conflict(message: str, **details: object) -> Iterator[None]:
    """Turn a unique violation inside the block into a ConflictError."""
    try:
        yield
    except (IntegrityError, ValueError) as exc:
        if is_unique_violation(exc):
            raise ConflictError(message, **details) from None
        raise


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
