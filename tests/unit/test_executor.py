"""Which executor an engine picks (`engine.executor.choose_executor`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.data_dir import PublishedServices
from engine.executor import choose_executor
from engine.settings import Settings, load_settings


def _settings(tmp_path: Path, **values: object) -> Settings:
    return load_settings(data_dir=tmp_path, **values)


def _owner(ray_address: str | None) -> PublishedServices:
    return PublishedServices(pid=4242, redis_url=None, ray_address=ray_address, ray_auth_mode=None)


@pytest.fixture(autouse=True)
def _no_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RAY_ADDRESS", "AUTOFORGE_RAY_ADDRESS", "AUTOFORGE_EXECUTOR"):
        monkeypatch.delenv(name, raising=False)
    # A session's integration tests leave Ray initialised in this process: Ray's own rule.
    monkeypatch.delitem(sys.modules, "ray", raising=False)


def test_an_owner_with_no_cluster_to_use_runs_inline(tmp_path: Path) -> None:
    assert choose_executor(_settings(tmp_path), None) == "inline"


def test_a_ray_address_or_the_setting_picks_ray(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert choose_executor(_settings(tmp_path, ray_address="10.0.0.1:6379"), None) == "ray"
    assert choose_executor(_settings(tmp_path, executor="ray"), None) == "ray"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert choose_executor(_settings(tmp_path), None) == "ray"
    monkeypatch.setenv("AUTOFORGE_EXECUTOR", "inline")
    assert choose_executor(_settings(tmp_path), None) == "inline"


def test_a_guest_works_where_its_owner_does(tmp_path: Path) -> None:
    ray_only = _settings(tmp_path, executor="ray")
    assert choose_executor(ray_only, _owner(None)) == "inline"
    assert choose_executor(_settings(tmp_path), _owner("127.0.0.1:6379")) == "ray"


def test_an_unknown_executor_is_one_settings_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain.errors import ConfigurationError

    monkeypatch.setenv("AUTOFORGE_EXECUTOR", "threads")
    with pytest.raises(ConfigurationError, match="AUTOFORGE_EXECUTOR"):
        load_settings(data_dir=tmp_path)
