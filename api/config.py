"""Settings only the HTTP API reads (`AUTOFORGE_API_*`); the rest live in `engine.settings`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024


class ApiSettings(BaseSettings):
    """Limits and browser policy of the HTTP API."""

    model_config = SettingsConfigDict(
        env_prefix="AUTOFORGE_API_", env_file=".env", extra="ignore", populate_by_name=True
    )

    cors_allow_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=MIB, ge=0)
    docs_enabled: bool = True
    jwt_leeway_seconds: float = Field(default=5.0, ge=0, le=300)
    jwks_cache_seconds: float = Field(default=300.0, gt=0)
    # Bounds how often unknown `kid`s can make us refetch the JWKS (a cheap DoS otherwise).
    jwks_refetch_cooldown_seconds: float = Field(default=10.0, ge=0)
    jwks_timeout_seconds: float = Field(default=5.0, gt=0)
    stream_block_ms: int = Field(default=15_000, ge=100, le=60_000)
    # Serve's per-request access log line (Ray's log files, echoed to the driver's console).
    # Off by default: at 64 clients it cost ~12% of GET throughput (bench/api_latency.py),
    # and errors are logged by our middleware either way.
    access_log: bool = False
    # REST replicas `autoforge serve` starts; each holds an engine (~300 MB). On 2 cores, 2
    # replicas served 248 GET/s against 190 for one (bench/api_latency.py).
    replicas: int = Field(default=1, ge=1, le=64)
    # Per client address, before any token is trusted: a bad-token flood is refused after
    # this many failures a minute (120 bad tokens in 1.8 s all got a verification and a 401).
    auth_failures_per_minute: int = Field(default=30, ge=1)
    # Health, readiness and docs need no token; a probe every second stays far below this.
    anonymous_per_minute: int = Field(default=600, ge=1)
    # Peers whose `X-Forwarded-For` names the client (a reverse proxy you run); anyone else's
    # header is ignored, since a client can write it.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_allow_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("list the allowed origins explicitly; '*' is not accepted")
        return [origin.rstrip("/") for origin in value]
