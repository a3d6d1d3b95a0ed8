"""Settings only the HTTP API reads: bind address, auth, rate limits, browser policy.

Most are `AUTOFORGE_API_*`; auth and the per-user rate limit keep their established names
(`AUTOFORGE_AUTH_*`, `AUTOFORGE_RATE_LIMIT_PER_MINUTE`). The engine's own settings (data,
Redis, Ray, logging) live in `engine.settings`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _env(name: str, default: Any = None, **kwargs: Any) -> Any:
    """A field read from ``AUTOFORGE_<NAME>`` (no `API_` prefix: the established names)."""
    alias = AliasChoices(f"AUTOFORGE_{name.upper()}", name)
    if "default_factory" in kwargs:
        return Field(validation_alias=alias, **kwargs)
    return Field(default, validation_alias=alias, **kwargs)


class ApiSettings(BaseSettings):
    """Bind address, auth, limits and browser policy of the HTTP API."""

    model_config = SettingsConfigDict(
        env_prefix="AUTOFORGE_API_", env_file=".env", extra="ignore", populate_by_name=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Read here too: production refuses auth `none` beyond loopback.
    environment: Literal["development", "production"] = _env("environment", "development")
    auth_mode: Literal["none", "hs256", "jwks"] = _env("auth_mode", "none")
    auth_hs256_secret: SecretStr | None = _env("auth_hs256_secret")
    auth_jwks_url: str | None = _env("auth_jwks_url")
    auth_issuer: str | None = _env("auth_issuer")
    auth_audience: str | None = _env("auth_audience")
    auth_allowed_azp: Annotated[list[str], NoDecode] = _env(
        "auth_allowed_azp", default_factory=list
    )
    # Requests a minute per authenticated user, across replicas (Redis).
    rate_limit_per_minute: int = _env("rate_limit_per_minute", 60, ge=1)

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
    # `/metrics` spans every user's runs and spend: `token` serves it to the bearer of
    # `metrics_token` (and to loopback callers when auth is off), `public` to anyone.
    metrics: Literal["public", "token", "off"] = _env("metrics", "token")
    metrics_token: SecretStr | None = _env("metrics_token")

    @field_validator("cors_allow_origins", "trusted_proxies", "auth_allowed_azp", mode="before")
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

    @model_validator(mode="after")
    def _check_auth(self) -> ApiSettings:
        if self.auth_mode == "hs256":
            secret = self.auth_hs256_secret.get_secret_value() if self.auth_hs256_secret else ""
            if len(secret) < 32:
                raise ValueError(
                    "AUTOFORGE_AUTH_HS256_SECRET must be at least 32 characters in hs256 mode"
                )
        if self.auth_mode == "jwks" and not (self.auth_jwks_url and self.auth_issuer):
            raise ValueError("jwks auth needs AUTOFORGE_AUTH_JWKS_URL and AUTOFORGE_AUTH_ISSUER")
        token = self.metrics_token.get_secret_value() if self.metrics_token else None
        if token is not None and len(token) < 32:
            raise ValueError("AUTOFORGE_METRICS_TOKEN must be at least 32 characters")
        if self.environment == "production" and self.auth_mode == "none":
            if self.host not in LOOPBACK:
                raise ValueError("auth_mode=none is only allowed when the API binds to loopback")
        return self

    def redacted(self) -> dict[str, Any]:
        """The settings as plain values, the secrets replaced by `***`."""
        shown = self.model_dump(mode="json")
        shown["auth_hs256_secret"] = "***" if self.auth_hs256_secret else None
        shown["metrics_token"] = "***" if self.metrics_token else None
        return shown


def load_api_settings(**overrides: Any) -> ApiSettings:
    """Read the API's settings, any invalid value one readable `ConfigurationError`."""
    from engine.settings import load

    return load(ApiSettings, **overrides)
