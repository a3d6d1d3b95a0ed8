from __future__ import annotations

import json

import pytest

from engine.logs import bound, configure_logging, get_logger


def test_json_lines_carry_bound_ids_and_hide_secrets(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    with bound(run_id="run-123"):
        get_logger("test").info("cell done", api_key="sk-secret", cells=3)
    get_logger("test").info("after")
    lines = [json.loads(line) for line in capfd.readouterr().err.strip().splitlines()]
    assert lines[0]["run_id"] == "run-123"
    assert lines[0]["api_key"] == "***"
    assert lines[0]["cells"] == 3
    assert "run_id" not in lines[1]


def test_stdlib_loggers_use_the_same_renderer(capfd: pytest.CaptureFixture[str]) -> None:
    import logging

    configure_logging("INFO", "json")
    with bound(request_id="req-9"):
        logging.getLogger("third.party").warning("plain stdlib")
    line = json.loads(capfd.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "plain stdlib" and line["request_id"] == "req-9"
