"""What a stored run or cell error may say: a stable code and one sentence, nothing more.

Errors are read by users (HTTP, SDK, CLI); the details behind them (tracebacks, pids, hosts,
file paths) belong in the server log. Every run and cell error passes `stored_error` on its
way into the database, so no writer can leak one by forgetting.
"""

from __future__ import annotations

import re

from domain.errors import NexusError

MAX_ERROR_CHARS = 300
INTERNAL = "internal: an internal error stopped this work; details are in the server log"
INTERRUPTED = "interrupted: nobody is working this run any more; resume it to finish"

# Text that only a traceback or a Ray task error carries: never shown to a user.
_LEAKS = re.compile(
    r"Traceback \(most recent call last\)|File \"|\bpid=\d|\bip=\d|\bray::|actor_id=|\bat 0x"
    r"|(?:^|\s)/(?:home|root|tmp|usr|opt|var|work|proc)/",
)
_SPACE = re.compile(r"\s+")


def run_error(code: str, sentence: str) -> str:
    """The stored form of an error: ``"<code>: <sentence>"``."""
    return f"{code}: {sentence}"


def error_of(exc: BaseException) -> str:
    """The stored form of an exception: ours keep their code and message; anything else is
    internal (its type and text go to the log, not to the user)."""
    if isinstance(exc, NexusError):
        return stored_error(run_error(exc.code, exc.message)) or INTERNAL
    return INTERNAL


def stored_error(text: str | None) -> str | None:
    """``text`` made fit to store: one line, bounded, and `INTERNAL` if it leaks details.

    Examples:
        >>> stored_error("timeout: no answer in 30 s")
        'timeout: no answer in 30 s'
        >>> stored_error('Traceback (most recent call last):\\n  File "/x.py"') == INTERNAL
        True
    """
    if text is None:
        return None
    if _LEAKS.search(text):
        return INTERNAL
    line = _SPACE.sub(" ", text).strip()
    if len(line) > MAX_ERROR_CHARS:
        line = line[: MAX_ERROR_CHARS - 1].rstrip() + "…"
    return line or INTERNAL
