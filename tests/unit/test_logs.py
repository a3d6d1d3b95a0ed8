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


def test_a_process_that_logs_nothing_imports_no_structlog_and_a_first_line_goes_to_stderr() -> None:
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from engine.logs import get_logger\n"
        "log = get_logger('quiet')\n"
        "print('structlog' in sys.modules)\n"
        "log.warning('first line', api_key='sk-secret')\n"
        "print('structlog' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["False", "True"]  # stdout stays the program's own
    assert "first line" in done.stderr and "sk-secret" not in done.stderr


def test_a_line_below_the_level_is_dropped_and_imports_no_structlog() -> None:
    import subprocess
    import sys

    script = (
        "import logging, sys\n"
        "from engine.logs import get_logger\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "get_logger('quiet').info('dropped')\n"
        "print('structlog' in sys.modules)\n"
        "logging.getLogger('loud').setLevel(logging.DEBUG)\n"
        "get_logger('loud').debug('shown')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["False"]
    assert "dropped" not in done.stderr and "shown" in done.stderr
