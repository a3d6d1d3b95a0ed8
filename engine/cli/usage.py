"""Refusals of a command's input, which exit 2 whatever error said so.

A `NotFoundError` is exit 1 for `prompt show nope`, but for `eval --baseline nope` or an
eval file naming an unknown model it is a usage mistake: CI must tell "fix the invocation"
(2) from "the gate failed" (1).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from domain.errors import NexusError


class UsageError(Exception):
    """``error`` refused the command's input before it did anything."""

    def __init__(self, error: NexusError) -> None:
        super().__init__(error.message)
        self.error = error


@contextmanager
def refused_as_usage() -> Iterator[None]:
    """Raise any `NexusError` of the block as a `UsageError`."""
    try:
        yield
    except NexusError as exc:
        raise UsageError(exc) from None
