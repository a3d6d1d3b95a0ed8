"""Settings the API refuses, refused as one line (exit 2) before any service starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli import autoforge
from tests.e2e.serving import free_port

pytestmark = [pytest.mark.e2e]

HS256 = {"AUTOFORGE_AUTH_MODE": "hs256", "AUTOFORGE_AUTH_HS256_SECRET": "p" * 40}


def test_a_malformed_azp_allow_list_is_one_settings_line(tmp_path: Path, ray_tmp: Path) -> None:
    out = autoforge(tmp_path, ray_tmp, "config", AUTOFORGE_AUTH_ALLOWED_AZP='["https://a.example"')
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("autoforge: invalid setting AUTOFORGE_AUTH_ALLOWED_AZP: ")


def test_an_azp_allow_list_may_be_comma_separated(tmp_path: Path, ray_tmp: Path) -> None:
    azp = "https://a.example, https://b.example"
    out = autoforge(tmp_path, ray_tmp, "config", "--json", AUTOFORGE_AUTH_ALLOWED_AZP=azp)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["auth_allowed_azp"] == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    "env, host, says",
    [
        ({"AUTOFORGE_ENVIRONMENT": "production", **HS256}, "127.0.0.1", "AUTOFORGE_SECRET_KEYS"),
        ({"AUTOFORGE_AUTH_MODE": "none"}, "0.0.0.0", "AUTOFORGE_AUTH_MODE=none"),
    ],
)
def test_serve_refuses_unsafe_settings_before_redis_and_ray_start(
    tmp_path: Path, ray_tmp: Path, env: dict[str, str], host: str, says: str
) -> None:
    port = str(free_port())
    out = autoforge(tmp_path, ray_tmp, "serve", "--host", host, "--port", port, **env)
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.count("\n") == 1 and says in out.stderr
    assert not (tmp_path / "redis").exists(), "the embedded Redis was started"
    assert not list(ray_tmp.rglob("session_*")), "a Ray session was started"


def test_an_eval_file_with_three_mistakes_lists_all_three_before_any_service(
    tmp_path: Path, ray_tmp: Path
) -> None:
    bad = tmp_path / "eval.yaml"
    bad.write_text(
        "prompt: {name: calc, versions: [{template: 'x', temprature: 1}]}\n"
        "models: openai/sim-small\ndataset: missing.jsonl\n"
    )

    out = autoforge(tmp_path / "data", ray_tmp, "eval", str(bad))

    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and not list(ray_tmp.iterdir())
    lines = out.stderr.splitlines()
    assert lines[0] == f"autoforge: validation: eval file {bad} has 3 mistakes:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "prompt.versions[0].temprature",
        "models",
        "dataset",
    ]


def test_an_unknown_routing_is_refused_by_the_parser(tmp_path: Path, ray_tmp: Path) -> None:
    out = autoforge(tmp_path, ray_tmp, "eval", "x.yaml", "--routing", "fastest")

    assert out.returncode == 2
    assert "invalid choice: 'fastest'" in out.stderr and "cheapest" in out.stderr


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["inline", "ray"])
def test_run_list_and_show_name_versions_and_a_finished_run_refuses_a_cancel(
    tmp_path: Path, ray_tmp: Path, executor: str
) -> None:
    cases = [{"vars": {"a": a, "b": 2}, "expected": str(a + 2)} for a in range(3)]
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    (tmp_path / "eval.yaml").write_text(
        "name: named-eval\nprompt:\n  name: calc\n  versions:\n"
        "    - template: 'What is {{a}} + {{b}}?'\n"
        "    - template: 'What is {{a}} + {{b}}? Only the number.'\n"
        "models: [openai/sim-small]\ndataset: cases.jsonl\nscorers: [{type: numeric}]\n"
        "simulator: true\n"
    )
    data = tmp_path / "data"
    evaluated = autoforge(
        data,
        ray_tmp,
        "eval",
        str(tmp_path / "eval.yaml"),
        "--json",
        "--timings",
        AUTOFORGE_EXECUTOR=executor,
    )
    assert evaluated.returncode in (0, 1), evaluated.stderr[-2000:]
    phases = {line.split("  ")[0] for line in evaluated.stderr.splitlines()}
    assert {"db + migrations", "redis", "teardown: redis"} <= phases
    # The actors' moments are seen where they run: in this process only inline.
    assert ("first result recorded" in phases) == (executor == "inline")
    assert ("ray" in phases) == (executor == "ray")
    run_id = json.loads(evaluated.stdout[evaluated.stdout.index("{") :])["run_id"]
    labelled = autoforge(data, ray_tmp, "prompt", "label", "calc", "production", "v2")
    assert labelled.returncode == 0, labelled.stderr[-2000:]

    listed = autoforge(data, ray_tmp, "run", "list")
    shown = autoforge(data, ray_tmp, "run", "show", run_id)
    cancelled = autoforge(data, ray_tmp, "run", "cancel", run_id)

    assert listed.stdout.split("\n")[0].endswith("v1, v2 (production)  named-eval"), listed
    assert shown.stdout.startswith(f"{run_id} (named-eval): v1, v2 (production); completed")
    assert cancelled.returncode == 1
    refusal = f"autoforge: conflict: run {run_id} is already completed"
    assert cancelled.stderr.splitlines()[-1] == refusal  # after the services' start-up logs
