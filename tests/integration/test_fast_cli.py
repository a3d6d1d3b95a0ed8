"""The CLI's database-only commands: a real subprocess on a fresh data dir, no Ray, no Redis.

Each command runs through ``PROBE``, which calls the console script's ``main`` and then
reports on stderr which of the heavy packages the command imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.prompt_shards import ShardPool
from engine.data_dir import SERVICES_FILE, DataDirClaim
from engine.db import create_db_engine, migrate
from engine.sdk.prompts import Prompts
from tests.integration.drivers import driver_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEAVY = ("ray", "litellm", "redis")
PROBE = f"""
import json, sys
from engine.cli import main
code = main(sys.argv[1:])
sys.stderr.write("\\nLOADED " + json.dumps([m for m in {HEAVY!r} if m in sys.modules]) + "\\n")
raise SystemExit(code)
"""


class Result:
    def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
        self.code = done.returncode
        self.stdout = done.stdout
        lines = done.stderr.strip().splitlines()
        probe = lines[-1] if lines and lines[-1].startswith("LOADED ") else "LOADED null"
        self.loaded: list[str] | None = json.loads(probe.removeprefix("LOADED "))
        self.stderr = "\n".join(lines[:-1]) if self.loaded is not None else done.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli(data_dir: Path, *args: str, timeout: float = 60) -> Result:
    env = driver_env(data_dir, api_base="")
    env.pop("AUTOFORGE_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(done)


def ok(data_dir: Path, *args: str) -> Result:
    result = cli(data_dir, *args)
    assert result.code == 0, f"{args}: {result.stderr}"
    assert result.loaded == [], f"{args} imported {result.loaded}"
    return result


def started_nothing(data_dir: Path) -> bool:
    return not (data_dir / "redis").exists() and not (data_dir / SERVICES_FILE).exists()


def stored_run(data_dir: Path) -> str:
    from domain.evaluation import RunSpec
    from engine.evaluation.runs import RunStore

    db = create_db_engine(f"sqlite+libsql:///{data_dir / 'autoforge.db'}")
    try:
        migrate(db)
        spec = RunSpec("p", ("v",), ("openai/sim-small",), "dv", ("c1",))
        return RunStore(db).create("local", spec, name="stored").id
    finally:
        db.dispose()


def test_prompt_dataset_and_run_commands_answer_from_the_database_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"vars": {"q": "1+1"}, "expected": "2"}\n', encoding="utf-8")

    ok(data, "prompt", "create", "greeter", "--template", "Hello {{ name }}", "--model", "m1")
    ok(data, "prompt", "commit", "greeter", "--template", "Hi {{ name }}", "-m", "shorter")
    ok(data, "prompt", "branch", "greeter", "exp")
    ok(data, "prompt", "commit", "greeter", "--branch", "exp", "--model", "m2", "-m", "m2")
    merged = ok(data, "prompt", "merge", "greeter", "exp", "--json").json()
    labelled = ok(data, "prompt", "label", "greeter", "production", "--json").json()
    log = ok(data, "prompt", "log", "greeter", "--json").json()
    assert labelled["id"] == log[0]["id"] == merged["version"]["id"]
    assert [v["number"] for v in log] == [3, 2, 1]  # exp fast-forwarded main
    assert ok(data, "prompt", "list", "--json").json()[0]["name"] == "greeter"

    ok(data, "dataset", "import", "qa", str(cases))
    assert "qa  v1" in ok(data, "dataset", "list").stdout
    assert json.loads(ok(data, "dataset", "export", "qa").stdout)["expected"] == "2"

    run_id = stored_run(data)
    assert [r["id"] for r in ok(data, "run", "list", "--json").json()] == [run_id]
    assert ok(data, "run", "show", run_id, "--json").json()["recorded_cells"] == 0
    shown = ok(data, "run", "show", run_id).stdout
    assert "pending" in shown and f"no engine works it: `autoforge run resume {run_id}`" in shown
    assert ok(data, "run", "report", run_id, "--format", "json").json()["kind"] == "report"
    assert started_nothing(data)


def test_commands_work_while_another_process_owns_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    claim = DataDirClaim.acquire(data)  # an owner still starting: it published nothing yet
    try:
        assert claim.owner
        ok(data, "prompt", "create", "greeter", "--template", "Hello {{ name }}")
        ok(data, "prompt", "label", "greeter", "production")
        assert ok(data, "run", "list", "--json").json() == []
        assert started_nothing(data)
    finally:
        claim.release()


def test_bad_input_is_reported_before_any_service_starts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (tmp_path / "cases.jsonl").write_text('{"vars": {"q": "x"}}\n', encoding="utf-8")
    eval_file = tmp_path / "eval.yaml"
    eval_file.write_text(
        "prompt: {name: qa, versions: [{template: '{{ q }}'}]}\n"
        "models: [openai/no-such-model]\ndataset: cases.jsonl\n",
        encoding="utf-8",
    )
    refusals = {
        ("eval", str(tmp_path / "missing.yaml")): "not found",
        ("eval", str(eval_file)): "no-such-model",
        ("run", "resume", "run_x", "--budget", "-1"): "budget",
    }
    for args, message in refusals.items():
        result = cli(data, *args)
        assert result.code != 0, args
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert "ray" not in (result.loaded or []), f"{args} imported ray"
    assert started_nothing(data)


@pytest.fixture
def shard_prompts(tmp_path: Path, ray_cluster: dict[str, Any]) -> Iterator[tuple[Path, Prompts]]:
    data = tmp_path / "data"
    url = f"sqlite+libsql:///{data / 'autoforge.db'}"
    db = create_db_engine(url)
    migrate(db)
    pool = ShardPool(url, size=1)
    yield data, Prompts(db=db, owner="local", shards=pool)
    pool.close()
    db.dispose()


def test_a_cli_commit_is_seen_by_the_shard_that_cached_the_prompt(
    shard_prompts: tuple[Path, Prompts],
) -> None:
    data, prompts = shard_prompts
    name = f"greeter-{uuid.uuid4().hex[:6]}"
    prompts.create(name, "Hello {{ name }}")
    prompts.commit(name, "Hi {{ name }}", message="cached by the shard")

    by_cli = ok(data, "prompt", "commit", name, "--model", "m1", "-m", "cli", "--json").json()

    pinned = prompts.commit(name, "Hey {{ name }}", message="on top", parent=by_cli["id"])
    assert pinned.parents == (by_cli["id"],)
    labelled = prompts.label(name, "production", "main")
    assert labelled.id == pinned.id
    unpinned = prompts.commit(name, "Yo {{ name }}", message="after")
    history = prompts.log(name)
    assert [v.message for v in history] == [
        "after",
        "on top",
        "cli",
        "cached by the shard",
        "Initial version",
    ]
    assert unpinned.parents == (pinned.id,)
