"""Cursor pagination shared by every list route: `?limit=&cursor=` in, `Page[T]` out.

A cursor is opaque to clients: base64url of a small JSON object that the route chose (e.g.
the last key it returned). Every query stays filtered by owner, so a forged cursor can only
skip within the caller's own data.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from domain.errors import ValidationError

T = TypeVar("T")
S = TypeVar("S")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_MAX_CURSOR_CHARS = 1024


def encode_cursor(position: Mapping[str, Any]) -> str:
    """An opaque cursor for ``position`` (a JSON-serialisable mapping)."""
    raw = json.dumps(dict(position), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The position inside a cursor made by `encode_cursor`.

    Raises:
        ValidationError: the cursor was not made by us (or was cut short).
    """
    try:
        if len(cursor) > _MAX_CURSOR_CHARS:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("invalid cursor", parameter="cursor") from None
    if not isinstance(position, dict):
        raise ValidationError("invalid cursor", parameter="cursor")
    return position


@dataclass(frozen=True)
class PageParams:
    """What a list route was asked for."""

    limit: int
    position: dict[str, Any] | None


async def page_params(  # async: no thread-pool hop (see api.services)
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-200).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=_MAX_CURSOR_CHARS,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="`next_cursor` of the previous page; omit for the first page.",
        ),
    ] = None,
) -> PageParams:
    """Read `limit` and `cursor` from the query string."""
    return PageParams(limit=limit, position=decode_cursor(cursor) if cursor else None)


PageDep = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None = Field(default=None, examples=["eyJhZnRlciI6Im9wZW5haSJ9"])


def paginate(
    rows: Sequence[S],
    limit: int,
    position_of: Callable[[S], Mapping[str, Any]],
    convert: Callable[[S], T],
) -> Page[T]:
    """A page from ``rows`` fetched with ``limit + 1`` (the extra row proves there is more)."""
    more = len(rows) > limit
    shown = list(rows[:limit])
    cursor = encode_cursor(position_of(shown[-1])) if more and shown else None
    return Page(items=[convert(row) for row in shown], next_cursor=cursor)
