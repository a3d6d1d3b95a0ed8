"""Configuration of the simulated provider."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.errors import ValidationError


@dataclass(frozen=True)
class SimulatorConfig:
    """How the simulated OpenAI-compatible server behaves.

    Args:
        host: Interface to bind; keep the loopback default in tests.
        port: TCP port; 0 picks a free one (read it back from ``Simulator.url``).
        latency_ms: Mean added latency per request, scaled by the model's ``latency_factor``.
        jitter_ms: Latency varies uniformly within ``latency_ms ± jitter_ms`` (never below 0).
        rpm: Requests per sliding window (of ``window_s``, a minute by default); ``None``
            means unlimited.
        tpm: Estimated tokens per sliding window; ``None`` means unlimited.
        window_s: Length of the rate-limit window in seconds: 60 makes ``rpm`` and ``tpm``
            per minute, as providers count; tests shorten it so a 429 waits seconds, not a
            minute (the headers then announce the shorter resets).
        error_rate: Fraction of admitted requests answered with an injected 500/503.
        timeout_rate: Fraction of admitted requests that hang ``timeout_hang_s`` first
            (drawn after errors: when both rates sum above 1, timeouts get the remainder).
        timeout_hang_s: How long a "timed out" request hangs before answering normally.
        stream_piece_ms: Pause between the pieces of a streamed answer (after the latency,
            which is the time to the first piece).
        tool_error_rate: Fraction of tool calls (answers to requests offering ``tools``)
            whose arguments are malformed: invalid JSON or JSON breaking the tool's schema.
        seed: Seed of every random choice (answers, injected faults, jitter).
        api_key: When set, `/v1` requests must carry ``Authorization: Bearer <api_key>``
            and others get 401 ``invalid_api_key``, as a real provider answers (in-process
            simulators only; a test key, never a real one).

    Raises:
        ValidationError: If a value is out of range.

    Examples:
        >>> SimulatorConfig(rpm=60, error_rate=0.1).rpm
        60
    """

    host: str = "127.0.0.1"
    port: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rpm: int | None = None
    tpm: int | None = None
    window_s: float = 60.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_hang_s: float = 30.0
    stream_piece_ms: float = 0.0
    tool_error_rate: float = 0.0
    seed: int = 0
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        problems = list(_problems(self))
        if problems:
            raise ValidationError(
                "invalid simulator config: " + "; ".join(problems), problems=problems
            )


def _problems(config: SimulatorConfig) -> list[str]:
    problems = []
    if not 0 <= config.port <= 65535:
        problems.append(f"port must be in [0, 65535], got {config.port}")
    for name in ("latency_ms", "jitter_ms", "timeout_hang_s", "stream_piece_ms"):
        value = getattr(config, name)
        if value < 0:
            problems.append(f"{name} must be >= 0, got {value}")
    if config.window_s <= 0:
        problems.append(f"window_s must be > 0, got {config.window_s}")
    for name in ("rpm", "tpm"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            problems.append(f"{name} must be > 0 or None (unlimited), got {value}")
    for name in ("error_rate", "timeout_rate", "tool_error_rate"):
        value = getattr(config, name)
        if not 0.0 <= value <= 1.0:
            problems.append(f"{name} must be within [0, 1], got {value}")
    return problems
