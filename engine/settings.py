"""Every setting the engine reads, from the environment or a `.env` file.

Defaults are embedded so a fresh machine needs nothing: a libSQL file under the data
directory, an embedded Redis, a local Ray. Well-known names (`DATABASE_URL`, `REDIS_URL`,
`RAY_ADDRESS`) are accepted as well as their `AUTOFORGE_` forms.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.errors import ConfigurationError

DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "sqlite+libsql")
REDIS_SCHEMES = ("redis", "rediss", "unix")
_SECRET_MARKERS = ("secret", "token", "password", "key")
S = TypeVar("S", bound=BaseSettings)


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"AUTOFORGE_{name}", name)


class Settings(BaseSettings):
    """Effective configuration of one engine process (and the Ray workers it starts).

    What only the HTTP API reads (bind address, auth, rate limits) is `api.config.ApiSettings`.
    """

    model_config = SettingsConfigDict(
        env_prefix="AUTOFORGE_", env_file=".env", extra="ignore", populate_by_name=True
    )

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".autoforge")
    database_url: str | None = Field(default=None, validation_alias=_env("DATABASE_URL"))
    redis_url: str | None = Field(default=None, validation_alias=_env("REDIS_URL"))
    ray_address: str | None = Field(default=None, validation_alias=_env("RAY_ADDRESS"))
    ray_num_cpus: int | None = Field(default=None, ge=1)
    # Port of the Ray metrics agent a locally started Ray serves Prometheus on (the actors'
    # `ray_autoforge_*`); unset: a free port Ray picks (`engine.ray_runtime.metrics_targets`).
    ray_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # Echo the actors' output on the console (Ray's log files keep it either way). The CLI
    # turns it off: Ray prints it to stdout, into a command's own (`--json`) output.
    ray_log_to_driver: bool = True
    # Where the actors run: `auto` uses Ray only when there is a cluster to use (see
    # `engine.executor`); `inline` hosts them on a loop of the engine's own process.
    executor: Literal["auto", "inline", "ray"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "console", "json"] = "auto"
    prompt_shards: int = Field(default=2, ge=1, le=64)
    # The Python tools flow `tool` steps may call, as {"name": "module:function"}: only the
    # operator chooses code; a flow (over HTTP too) can only name one of these.
    flow_tools: dict[str, str] = Field(default_factory=dict)
    evaluators: int | None = Field(default=None, ge=1, le=256)
    catalogue_path: Path | None = None
    reports_dir: Path | None = None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"unsupported scheme {scheme or value!r}; use sqlite+libsql:///path, "
                "sqlite:///path or sqlite+libsql://host?secure=true for Turso"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in REDIS_SCHEMES:
            raise ValueError(
                f"unsupported scheme {scheme or value!r}; use redis://host:port/db, "
                "rediss://… or unix:///path/to/socket (unset it for an embedded Redis)"
            )
        return value

    @property
    def effective_database_url(self) -> str:
        """The database URL in force: the configured one or a libSQL file in the data dir."""
        return self.database_url or f"sqlite+libsql:///{self.data_dir / 'autoforge.db'}"

    def redacted(self) -> dict[str, Any]:
        """Settings as plain values with every secret replaced by `***`."""
        shown: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr) or (
                value is not None and any(m in name for m in _SECRET_MARKERS)
            ):
                shown[name] = "***" if value else None
            elif isinstance(value, Path):
                shown[name] = str(value)
            else:
                shown[name] = value
        shown["database_url"] = redact_url(self.effective_database_url)
        shown["redis_url"] = redact_url(self.redis_url) if self.redis_url else "embedded"
        shown["ray_address"] = self.ray_address or "local"
        return shown


def redact_url(url: str) -> str:
    """Hide passwords and auth tokens inside a URL."""
    head, sep, query = url.partition("?")
    if "@" in head and "://" in head:
        scheme, rest = head.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        head = f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://***@{host}"
    if sep:
        parts = []
        for pair in query.split("&"):
            key, eq, _ = pair.partition("=")
            secret = any(m in key.lower() for m in _SECRET_MARKERS)
            parts.append(f"{key}={'***'}" if eq and secret else pair)
        query = "&".join(parts)
    return head + sep + query


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning any invalid value into one readable `ConfigurationError`.

    Args:
        **overrides: explicit values that win over the environment.

    Raises:
        ConfigurationError: naming the variable and the problem.
    """
    return load(Settings, **overrides)


def load(cls: type[S], **overrides: Any) -> S:
    """``cls(**overrides)`` (a settings class), any invalid value one `ConfigurationError`."""
    try:
        return cls(**overrides)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        variable = _variable_name(cls, field)
        message = str(first["msg"]).removeprefix("Value error, ")
        problem = f"invalid setting {variable}: {message}"
        raise ConfigurationError(problem, variable=variable) from None


def _variable_name(cls: type[BaseSettings], field: str) -> str:
    """The environment variable a user sets for ``field`` (the one they set, if any); pydantic
    names a field by its name or, for a value read from the environment, by the alias."""
    for name, info in cls.model_fields.items():
        alias = info.validation_alias
        choices = [str(c) for c in alias.choices] if isinstance(alias, AliasChoices) else []
        if field == name or field in choices:
            break
    else:
        name, choices = field, []
    if not choices:
        prefix = str(cls.model_config.get("env_prefix", ""))
        choices = [f"{prefix}{name.upper().removeprefix(prefix)}"]
    env = [c.upper() for c in choices if c.upper().startswith("AUTOFORGE_") or c.isupper()]
    candidates = env or choices
    return next((c for c in candidates if c in os.environ), candidates[0])
