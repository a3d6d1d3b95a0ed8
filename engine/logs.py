"""Structured logging: readable in a terminal, JSON in production, secrets never printed.

Bind a request or run id once with `bound(run_id=...)`; every line logged inside carries it.
structlog is imported by the first line logged (or `configure_logging`, `bound`): with rich
installed its import pulls rich, attrs and pygments (~100 ms), and a process that logs
nothing, such as a guest of a running engine, need not pay it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from functools import cache
from typing import Any, Literal

_SECRET_KEYS = ("api_key", "apikey", "authorization", "password", "secret", "token")


def _redact_secrets(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event):
        if any(marker in key.lower() for marker in _SECRET_KEYS):
            event[key] = "***"
    return event


def configure_logging(
    level: str = "INFO", fmt: Literal["auto", "console", "json"] = "auto"
) -> None:
    """Route structlog and stdlib logging through one renderer on stderr."""
    structlog = _structlog()
    json_output = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        # plain_traceback: rich's pretty tracebacks print every frame's locals (secrets).
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if json_output else _identity,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("LiteLLM", "litellm", "httpx", "aiohttp.access", "filelock", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _identity(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    return event


@cache
def _structlog() -> Any:
    import structlog

    _route_to_stdlib_until_configured(structlog)
    return structlog


def _route_to_stdlib_until_configured(structlog: Any) -> None:
    # Unconfigured structlog prints to stdout, which corrupts machine-readable CLI output;
    # until `configure_logging` runs, hand every line to stdlib logging instead.
    if not structlog.is_configured():
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                _redact_secrets,
                structlog.stdlib.render_to_log_kwargs,
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
        )


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


class _Logger:
    """A structlog logger for `name`, made by its first line that stdlib logging (where
    both configurations send every line) would not drop."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, attr: str) -> Any:
        if self._logger is None:
            level = _LEVELS.get(attr)
            if level is not None and not logging.getLogger(self._name).isEnabledFor(level):
                return _dropped
            self._logger = _structlog().get_logger(self._name)
        return getattr(self._logger, attr)


def _dropped(*_args: Any, **_kwargs: Any) -> None:
    return None


def get_logger(name: str) -> Any:
    """A structlog logger for `name` (structlog is imported when it first logs)."""
    return _Logger(name)


@contextmanager
def bound(**ids: str) -> Iterator[None]:
    """Bind ids (e.g. `request_id`, `run_id`) into every log line within the block."""
    with _structlog().contextvars.bound_contextvars(**ids):
        yield
