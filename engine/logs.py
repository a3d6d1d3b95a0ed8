"""Structured logging: readable in a terminal, JSON in production, secrets never printed.

Bind a request or run id once with `bound(run_id=...)`; every line logged inside carries it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Literal

import structlog

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


def _route_to_stdlib_until_configured() -> None:
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


_route_to_stdlib_until_configured()


def get_logger(name: str) -> Any:
    """A structlog logger for `name`."""
    return structlog.get_logger(name)


@contextmanager
def bound(**ids: str) -> Iterator[None]:
    """Bind ids (e.g. `request_id`, `run_id`) into every log line within the block."""
    with structlog.contextvars.bound_contextvars(**ids):
        yield
