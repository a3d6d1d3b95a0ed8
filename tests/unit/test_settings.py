from __future__ import annotations

from pathlib import Path

import pytest

from api.config import load_api_settings
from domain.errors import ConfigurationError
from engine.settings import load_settings, redact_url


def test_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"AUTOFORGE_{name}", raising=False)
    monkeypatch.setenv("AUTOFORGE_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.effective_database_url == f"sqlite+libsql:///{tmp_path / 'autoforge.db'}"
    assert settings.redacted()["redis_url"] == "embedded"
    assert settings.redacted()["ray_address"] == "local"


def test_plain_and_prefixed_names_are_both_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///a.db")
    assert load_settings().database_url == "sqlite:///a.db"
    monkeypatch.setenv("AUTOFORGE_DATABASE_URL", "sqlite:///b.db")
    assert load_settings().database_url == "sqlite:///b.db"


def test_bad_database_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "nonsense://")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert caught.value.message.startswith("invalid setting DATABASE_URL: unsupported scheme")
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("REDIS_URL", "http://x", "unsupported scheme 'http'"),
        ("AUTOFORGE_LOG_LEVEL", "loud", "Input should be"),
        ("AUTOFORGE_PROMPT_SHARDS", "0", "greater than or equal to 1"),
        ("AUTOFORGE_API_PORT", "99999", "less than or equal to 65535"),
        ("AUTOFORGE_RATE_LIMIT_PER_MINUTE", "0", "greater than or equal to 1"),
        ("AUTOFORGE_AUTH_MODE", "open", "Input should be"),
    ],
)
def test_invalid_values_fail_with_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    api = name in ("AUTOFORGE_API_PORT", "AUTOFORGE_RATE_LIMIT_PER_MINUTE", "AUTOFORGE_AUTH_MODE")
    with pytest.raises(ConfigurationError) as caught:
        (load_api_settings if api else load_settings)()
    assert name in caught.value.message
    assert fragment in caught.value.message


def test_hs256_mode_refuses_short_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOFORGE_AUTH_MODE", "hs256")
    monkeypatch.setenv("AUTOFORGE_AUTH_HS256_SECRET", "short")
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        load_api_settings()


def test_no_auth_refused_off_loopback_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOFORGE_ENVIRONMENT", "production")
    monkeypatch.setenv("AUTOFORGE_API_HOST", "0.0.0.0")
    with pytest.raises(ConfigurationError, match="only allowed when the API binds to loopback"):
        load_api_settings()


def test_secrets_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s" * 40
    monkeypatch.setenv("AUTOFORGE_AUTH_MODE", "hs256")
    monkeypatch.setenv("AUTOFORGE_AUTH_HS256_SECRET", secret)
    monkeypatch.setenv("REDIS_URL", "redis://user:hunter2@cache:6379/0")
    monkeypatch.setenv("DATABASE_URL", "sqlite+libsql://db.turso.io?secure=true&authToken=abc")
    shown = load_settings().redacted()
    api = load_api_settings().redacted()
    text = repr(shown) + repr(api)
    assert secret not in text and "hunter2" not in text and "authToken=abc" not in text
    assert api["auth_hs256_secret"] == "***"
    assert shown["redis_url"] == "redis://user:***@cache:6379/0"


def test_redact_url_keeps_plain_urls() -> None:
    assert redact_url("sqlite:///tmp/x.db") == "sqlite:///tmp/x.db"
    assert redact_url("redis://cache:6379?password=x") == "redis://cache:6379?password=***"
