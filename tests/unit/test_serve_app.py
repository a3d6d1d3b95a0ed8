"""How our Serve applications are built: logging per our settings, replicas per `ApiSettings`."""

from __future__ import annotations

import pytest

from api.serve import serve_logging


def test_access_log_is_off_unless_asked_for_and_the_level_is_ours() -> None:
    assert serve_logging({"log_level": "WARNING"}, None) == {
        "log_level": "WARNING",
        "enable_access_log": False,
    }
    assert serve_logging({"log_level": "DEBUG"}, {"access_log": True}) == {
        "log_level": "DEBUG",
        "enable_access_log": True,
    }


def test_the_level_defaults_to_the_engine_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOFORGE_LOG_LEVEL", "ERROR")
    assert serve_logging({}, {})["log_level"] == "ERROR"


def test_api_replicas_come_from_the_api_settings() -> None:
    from api.serve import build_api_app

    def replicas(app: object) -> object:
        return app._bound_deployment._deployment_config.num_replicas  # type: ignore[attr-defined]

    assert replicas(build_api_app({}, {"replicas": 3})) == 3
    assert replicas(build_api_app({}, {})) == 1
