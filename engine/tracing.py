"""OpenTelemetry traces, off by default: API request → run → cell → provider call.

`AUTOFORGE_TRACING=otlp` turns them on in every process that calls `configure` (the API,
an SDK engine, each evaluator); the OTLP/HTTP exporter then reads the standard
``OTEL_EXPORTER_OTLP_*`` variables (endpoint, headers, timeout), so a collector's token stays
in the environment and never in a run, a log or Ray's ``runtime_env``. A run carries its
trace context (a W3C ``traceparent``) to the evaluators, which may be other processes.

Off, `span` hands back one shared no-op context: a cell pays an attribute read and a call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from domain.errors import ConfigurationError

MODES = ("off", "otlp")
_NOOP: AbstractContextManager[None] = nullcontext()
_PROPAGATOR = TraceContextTextMapPropagator()
_state: dict[str, Any] = {"tracer": None}


def mode() -> str:
    """What ``AUTOFORGE_TRACING`` asks for; anything unknown is refused by `configure`."""
    return os.environ.get("AUTOFORGE_TRACING", "off").strip().lower() or "off"


def configure(service: str) -> bool:
    """Start exporting this process's spans when tracing is on; True when it is.

    The first call in a process names its service; later calls change nothing.

    Raises:
        ConfigurationError: ``AUTOFORGE_TRACING`` is neither ``off`` nor ``otlp``.
    """
    wanted = mode()
    if wanted not in MODES:
        raise ConfigurationError(
            f"AUTOFORGE_TRACING must be one of {', '.join(MODES)}, not {wanted[:40]!r}",
            reason="tracing-mode",
        )
    if _state["tracer"] is not None or wanted == "off":
        return _state["tracer"] is not None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _state["provider"] = provider
    _state["tracer"] = provider.get_tracer("autoforge")
    return True


def enabled() -> bool:
    return _state["tracer"] is not None


def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    parent: str | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
) -> AbstractContextManager[Span | None]:
    """A span around a block, child of ``parent`` (a ``traceparent``) or of the current
    span; a no-op while tracing is off."""
    tracer = _state["tracer"]
    if tracer is None:
        return _NOOP
    return _span(tracer, name, attributes, parent, kind)


@contextmanager
def _span(
    tracer: Any,
    name: str,
    attributes: Mapping[str, Any] | None,
    parent: str | None,
    kind: SpanKind,
) -> Iterator[Span]:
    ctx = _PROPAGATOR.extract({"traceparent": parent}) if parent else None
    # Exceptions are not recorded: their text may quote a provider's request. Callers mark
    # the outcome they already made safe (an error kind, a status).
    with tracer.start_as_current_span(
        name,
        context=ctx,
        kind=kind,
        attributes=_clean(attributes),
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        yield current


def server_span(name: str, headers: Mapping[str, str]) -> AbstractContextManager[Span | None]:
    """A server span continuing the caller's ``traceparent`` header when it sent one."""
    tracer = _state["tracer"]
    if tracer is None:
        return _NOOP
    parent = headers.get("traceparent")
    return _span(tracer, name, None, parent, SpanKind.SERVER)


def traceparent() -> str | None:
    """The current span's context as a W3C ``traceparent``, to hand to another process."""
    if _state["tracer"] is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=otel_context.get_current())
    return carrier.get("traceparent")


def mark(current: Span | None, **attributes: Any) -> None:
    """Set attributes on ``current`` (None while tracing is off: nothing to do)."""
    if current is not None:
        current.set_attributes(_clean(attributes) or {})


def flush(timeout_ms: int = 5000) -> None:
    """Export what is buffered (before a process ends on purpose)."""
    provider = _state.get("provider")
    if provider is not None:
        provider.force_flush(timeout_ms)


def _clean(attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not attributes:
        return None
    return {k: v for k, v in attributes.items() if v is not None}


__all__ = [
    "SpanKind",
    "configure",
    "enabled",
    "flush",
    "mark",
    "server_span",
    "span",
    "traceparent",
]
