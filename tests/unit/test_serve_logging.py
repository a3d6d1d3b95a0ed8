"""Serve's own logging of our replicas follows our settings; its access log is opt-in."""

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
