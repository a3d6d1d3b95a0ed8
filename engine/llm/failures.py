"""Turning whatever a provider call raised into plain data (LiteLLM's exceptions do not pickle).

Classes are matched by name along the exception's MRO, so LiteLLM need not be imported here
and its OpenAI-SDK bases are recognised too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.llm import Outcome, classify, retry_after

# Most specific first: ContextWindowExceededError is also a BadRequestError.
_KIND_BY_CLASS = (
    ("ContextWindowExceededError", "context_window"),
    ("ContentPolicyViolationError", "content_policy"),
    ("RateLimitError", "rate_limit"),
    ("Timeout", "timeout"),
    ("APITimeoutError", "timeout"),
    ("TimeoutError", "timeout"),
    ("AuthenticationError", "auth"),
    ("PermissionDeniedError", "auth"),
    ("NotFoundError", "not_found"),
    ("APIConnectionError", "connection"),
    ("ConnectionError", "connection"),
    ("ServiceUnavailableError", "server"),
    ("InternalServerError", "server"),
    ("BadGatewayError", "server"),
    ("BadRequestError", "bad_request"),
    ("UnprocessableEntityError", "bad_request"),
    ("UnsupportedParamsError", "bad_request"),
)
_BOILERPLATE = re.compile(r"^(litellm\.\w+: )?(\w+: )?")
_CONNECTION_TEXT = ("Connection error", "Cannot connect", "Connection reset", "Server disconnected")
_HEADER_PREFIX = "llm_provider-"
MAX_MESSAGE = 2000


@dataclass(frozen=True)
class Failure:
    """A failed provider request, as plain data.

    Attributes:
        outcome: Kind, retryability and status (`domain.llm.classify`).
        message: The provider's message, without LiteLLM's class-name preamble.
        retry_after_s: The wait the provider asked for, if any.
        headers: Response headers (lower-case names), if there was a response.
    """

    outcome: Outcome
    message: str
    retry_after_s: float | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _kind(exc: BaseException) -> str:
    names = {cls.__name__ for cls in type(exc).__mro__}
    for name, kind in _KIND_BY_CLASS:
        if name in names:
            return kind
    return "unknown"


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    return None


def plain_headers(raw: Mapping[str, object] | None) -> dict[str, str]:
    """Headers as a plain lower-case dict, LiteLLM's ``llm_provider-`` prefix removed."""
    if not raw:
        return {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        name = str(key).lower()
        out[name.removeprefix(_HEADER_PREFIX)] = str(value)
    return out


def _headers(exc: BaseException) -> dict[str, str]:
    raw = getattr(exc, "litellm_response_headers", None)
    if raw is None:
        response = getattr(exc, "response", None)
        raw = getattr(response, "headers", None)
    try:
        return plain_headers(raw)
    except Exception:  # an odd headers object must not hide the real failure
        return {}


def failure_of(exc: BaseException) -> Failure:
    """Classify anything a LiteLLM call raised.

    Examples:
        >>> failure_of(TimeoutError("slow")).outcome.kind
        'timeout'
    """
    message = str(getattr(exc, "message", None) or exc or type(exc).__name__)
    message = _BOILERPLATE.sub("", message, count=1)[:MAX_MESSAGE]
    kind = _kind(exc)
    if kind in ("server", "unknown") and any(t in message for t in _CONNECTION_TEXT):
        kind = "connection"  # LiteLLM reports a refused connection as a 500
    status = None if kind == "connection" else _status(exc)
    headers = _headers(exc)
    return Failure(classify(status, kind), message, retry_after(headers), headers)
