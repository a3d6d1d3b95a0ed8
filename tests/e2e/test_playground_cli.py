"""`autoforge playground` as a user runs it: a turn across two simulated models, a single
model's answer streamed to the terminal, a turn saved as a case, and the session's history
read back by the next process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli import autoforge

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_session_across_processes(tmp_path: Path, ray_tmp: Path) -> None:
    data = tmp_path / "data"
    made = autoforge(
        data, ray_tmp, "prompt", "create", "tides", "--template", "Two lines on {{topic}}."
    )
    assert made.returncode == 0, made.stderr
    both = autoforge(
        data,
        ray_tmp,
        "playground",
        "run",
        "tides",
        "--model",
        "openai/sim-small",
        "--model",
        "openai/sim-large",
        "--var",
        "topic=tides",
        "--simulator",
        "--json",
        AUTOFORGE_EXECUTOR="inline",
    )
    assert both.returncode == 0, both.stderr
    first = json.loads(both.stdout)
    session = first["session"]
    assert [a["model"] for a in first["turn"]["answers"]] == [
        "openai/sim-small",
        "openai/sim-large",
    ]
    assert all(a["content"] and a["error"] is None for a in first["turn"]["answers"])

    one = autoforge(
        data,
        ray_tmp,
        "playground",
        "run",
        "--session",
        session,
        "--var",
        "topic=moon",
        "--simulator",
        "--save-case",
        "from-cli",
        "--case-model",
        "openai/sim-large",
        AUTOFORGE_EXECUTOR="inline",
    )
    assert one.returncode == 0, one.stderr
    lines = one.stdout.splitlines()
    assert lines[-2] == f"session {session} turn 2" and lines[-1] == "saved as a case: from-cli v1"

    history = autoforge(data, ray_tmp, "playground", "history", session, "--json")
    assert history.returncode == 0, history.stderr
    turns = json.loads(history.stdout)
    assert [t["number"] for t in turns] == [1, 2] and turns[0] == first["turn"]
    large = turns[1]["answers"][1]
    assert large["model"] == "openai/sim-large" and large["content"] in one.stdout

    refused = autoforge(data, ray_tmp, "playground", "run", "tides", "--var", "broken")
    assert refused.returncode == 2 and "NAME=VALUE" in refused.stderr
