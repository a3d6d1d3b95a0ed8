"""Serve hosting is configured on purpose: two apps, sized slots, no secrets in bind args."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ray.serve import Application
from ray.serve.schema import ServeDeploySchema

from api import serve as hosting
from api.config import ApiSettings
from api.ratelimit import limits_storage_url
from api.replica_secrets import keyring_spec, split_secrets
from api.streams import STREAMS_PREFIX
from domain.errors import ConfigurationError
from engine.keys import Keyring, new_master_key
from engine.settings import Settings

CONFIG = Path(hosting.__file__).with_name("serve_config.yaml")


def test_serve_config_is_valid_and_matches_the_code() -> None:
    config = ServeDeploySchema.model_validate(yaml.safe_load(CONFIG.read_text()))
    apps = {app.name: app for app in config.applications}
    assert apps[hosting.API_APP].route_prefix == "/"
    assert apps[hosting.STREAMS_APP].route_prefix == STREAMS_PREFIX
    api = apps[hosting.API_APP].deployments[0]
    streams = apps[hosting.STREAMS_APP].deployments[0]
    assert api.max_ongoing_requests == hosting.API_MAX_ONGOING_REQUESTS
    assert streams.max_ongoing_requests == hosting.STREAMS_MAX_ONGOING_REQUESTS
    assert config.http_options.host == "127.0.0.1"


def test_import_paths_are_bound_applications() -> None:
    assert isinstance(hosting.app, Application)
    assert isinstance(hosting.streams_app, Application)


def test_streams_get_far_more_slots_than_the_default() -> None:
    assert hosting.API_MAX_ONGOING_REQUESTS >= 100
    assert hosting.STREAMS_MAX_ONGOING_REQUESTS > hosting.API_MAX_ONGOING_REQUESTS


def test_replicas_refuse_to_run_without_a_shared_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_URL", "AUTOFORGE_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match="REDIS_URL"):
        hosting.replica_settings({})


def test_replicas_run_their_actors_on_ray_whatever_the_server_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTOFORGE_EXECUTOR", "inline")
    settings = hosting.replica_settings({"executor": "inline", "redis_url": "redis://h:6379/0"})
    assert settings.executor == "ray"


def test_secrets_are_split_from_what_is_bound() -> None:
    settings = Settings()
    api = ApiSettings(
        auth_mode="hs256",
        auth_hs256_secret="k" * 40,  # type: ignore[arg-type]
        metrics_token="m" * 40,  # type: ignore[arg-type]
    )
    turso = "sqlite+libsql://db.turso.io?secure=true&authToken=tok-123"
    overrides = {
        **hosting.replica_overrides(settings, "redis://:pw-9@h:6379/0", api),
        "database_url": turso,
    }
    plain, secrets = split_secrets(overrides)
    assert not any(s in str(plain) for s in ("k" * 40, "m" * 40, "pw-9", "tok-123"))
    assert secrets == {
        "auth_hs256_secret": "k" * 40,
        "metrics_token": "m" * 40,
        "redis_url": "redis://:pw-9@h:6379/0",
        "database_url": turso,
    }
    local = hosting.replica_overrides(settings, "unix:///tmp/r.sock", api)
    assert split_secrets(local)[0]["redis_url"] == "unix:///tmp/r.sock"
    assert hosting.replica_settings(plain, secrets).redis_url == "redis://:pw-9@h:6379/0"
    replica = hosting.replica_api(plain, None, secrets)
    assert replica.auth_mode == "hs256"
    assert replica.auth_hs256_secret is not None
    assert replica.auth_hs256_secret.get_secret_value() == "k" * 40
    assert replica.metrics_token is not None
    assert replica.metrics_token.get_secret_value() == "m" * 40


def test_master_keys_survive_the_hand_over_with_the_current_key_first() -> None:
    ring = Keyring.parse(f"{new_master_key('old')},{new_master_key('new')}")
    ring = Keyring(keys=ring.keys, current="new")
    again = Keyring.parse(keyring_spec(ring))
    assert again.current == "new" and again.keys == ring.keys


@pytest.mark.parametrize(
    "url, expected",
    [
        ("redis://h:6379/1", "async+redis://h:6379/1"),
        ("rediss://u:p@h:6380", "async+rediss://u:p@h:6380"),
        ("unix:///tmp/r.sock", "async+redis+unix:///tmp/r.sock"),
    ],
)
def test_limits_storage_urls(url: str, expected: str) -> None:
    assert limits_storage_url(url) == expected
