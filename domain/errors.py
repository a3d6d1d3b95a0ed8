"""The error hierarchy every layer speaks.

Each error carries a stable ``code``; the API maps it to an RFC 9457 problem ``type``
and an HTTP status, the CLI to one readable line and a non-zero exit.
"""

from __future__ import annotations

from typing import Any, ClassVar


class NexusError(Exception):
    """Base of every error we raise on purpose."""

    code: ClassVar[str] = "internal"
    status: ClassVar[int] = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        # Survive pickling across Ray process boundaries with details intact.
        return (_rebuild, (type(self), self.message, self.details))

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


def _rebuild(cls: type[NexusError], message: str, details: dict[str, Any]) -> NexusError:
    return cls(message, **details)


class ConfigurationError(NexusError):
    code = "configuration"
    status = 500


class ValidationError(NexusError):
    code = "validation"
    status = 422


class NotFoundError(NexusError):
    code = "not-found"
    status = 404


class ConflictError(NexusError):
    code = "conflict"
    status = 409


class AuthError(NexusError):
    code = "unauthorized"
    status = 401


class RateLimitedError(NexusError):
    code = "rate-limited"
    status = 429


class BudgetExceededError(NexusError):
    code = "budget-exceeded"
    status = 402


class ProviderError(NexusError):
    """An upstream model provider failed; ``retryable`` says whether trying again may help."""

    code = "provider-error"
    status = 502

    def __init__(self, message: str, *, retryable: bool = False, **details: Any) -> None:
        super().__init__(message, retryable=retryable, **details)
        self.retryable = retryable


class CodeNotAllowedError(NexusError):
    """A scorer that runs a program (``python``, ``javascript``) where code may not run: over
    the HTTP API, or in a run not started with ``allow_code=True`` (the SDK or CLI)."""

    code = "code-not-allowed"
    status = 403


class ServiceUnavailableError(NexusError):
    code = "service-unavailable"
    status = 503


class ForbiddenError(NexusError):
    """The caller is a member of the workspace but their role lacks the permission."""

    code = "forbidden"
    status = 403
