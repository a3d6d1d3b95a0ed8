"""``autoforge engine start|status|stop`` and the processes that use a running engine.

Every engine here is a real background process with its own Ray and embedded Redis on the
test's data dir; clients are fresh processes that reach it through the control channel."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.daemons import engine_cli, engine_env, running_engine
from tests.integration.drivers import last_json_line, wait_until_gone

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLIENT = """
import json, sys
from engine import Engine
name, cases, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
keys = json.loads(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "custom" else None
def mentions_a(context):  # a custom scorer defined here, in the client's __main__
    return "a" in context.output
scorers = ["icontains", mentions_a] if sys.argv[4:] == ["custom"] else ["icontains"]
with Engine() as engine:
    engine.prompts.create(name, "Say {{word}}")
    engine.datasets.create(name)
    engine.datasets.add(name, [{"variables": {"word": f"{name}-{i}a"}} for i in range(cases)])
    run = engine.evaluate(prompt=name, dataset=name, models=["openai/sim-small"],
                          scorers=scorers, cache=False, concurrency=concurrency,
                          api_keys=keys)
    print(run.id, flush=True)
    try:
        info = run.wait(progress=False, timeout=300)
    except Exception as exc:
        print(json.dumps({"error": type(exc).__name__, "code": getattr(exc, "code", None),
                          "message": str(exc)}), flush=True)
        raise SystemExit(3)
    print(json.dumps({"status": info.status.value, "recorded": run.recorded(),
                      "total": info.total_cells,
                      "loaded": sorted(m for m in ("ray", "litellm") if m in sys.modules)}))
"""


def _catalogue(api_base: str, **account: Any) -> dict[str, Any]:
    from engine.llm import simulator_catalogue

    data = simulator_catalogue(api_base, max_concurrency=account.pop("max_concurrency", 64))
    catalogue = data.to_dict()
    for entry in catalogue["accounts"]:
        entry.update(account)
    return catalogue


def _client(env: dict[str, str], name: str, cases: int, concurrency: int, *extra: str) -> Any:
    return subprocess.Popen(
        [sys.executable, "-c", CLIENT, name, str(cases), str(concurrency), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _outcome(client: Any, timeout: float = 400) -> dict[str, Any]:
    out, err = client.communicate(timeout=timeout)
    assert client.returncode in (0, 3), err[-3000:]
    return dict(last_json_line(out))


def test_start_status_stop(tmp_path: Path) -> None:
    from engine.simulator import running_simulator

    data = tmp_path / "data"
    with running_simulator() as sim:
        env = engine_env(data, _catalogue(sim.api_base))
        before = engine_cli(env, "status")
        assert before.returncode == 3, before.stderr
        assert "no engine runs" in before.stdout
        with running_engine(env) as pid:
            again = engine_cli(env, "start")
            assert again.returncode == 1
            assert "already has an owner" in again.stderr and str(pid) in again.stderr
            assert "Traceback" not in again.stderr
            status = engine_cli(env, "status", "--json")
            assert status.returncode == 0, status.stderr
            shown = json.loads(status.stdout)
            assert shown["pid"] == pid and shown["daemon"] and shown["pool_ready"]
            assert shown["data_dir"] == str(data) and shown["active_runs"] == []
            assert stat.S_IMODE((data / "engine.log").stat().st_mode) == 0o600
            stopped = engine_cli(env, "stop")
            assert stopped.returncode == 0, stopped.stderr
            assert f"pid {pid}" in stopped.stdout
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        after = engine_cli(env, "status")
        assert after.returncode == 3


@pytest.mark.parametrize("executor", ["inline", "ray"])
def test_clients_of_a_running_engine_record_every_cell_once_within_the_account_limit(
    tmp_path: Path, executor: str
) -> None:
    from engine.simulator import SimulatorConfig, running_simulator

    with running_simulator(SimulatorConfig(latency_ms=30, seed=3)) as sim:
        env = engine_env(tmp_path / "data", _catalogue(sim.api_base, max_concurrency=4))
        env["AUTOFORGE_EXECUTOR"] = executor
        with running_engine(env):
            clients = [_client(env, "plain", 60, 8), _client(env, "custom", 60, 8, "custom")]
            outcomes = [_outcome(c) for c in clients]
            stats = httpx.get(f"{sim.url}/stats").json()
    for outcome in outcomes:
        assert outcome["status"] == "completed", outcome
        assert outcome["recorded"] == outcome["total"] == 60
    # cloudpickle (Ray's) sends the custom scorer; LiteLLM is loaded by neither client.
    assert outcomes[0]["loaded"] == [], "a client of a running engine loaded Ray or LiteLLM"
    assert outcomes[1]["loaded"] == ["ray"]
    assert stats["requests_total"] == 120  # every cell asked once
    assert 2 <= stats["max_in_flight"] <= 4  # both runs under one account limit


@pytest.mark.parametrize("executor", ["inline", "ray"])
def test_a_killed_engine_fails_its_client_in_bounded_time_and_the_next_resumes(
    tmp_path: Path, executor: str
) -> None:
    from engine.simulator import SimulatorConfig, running_simulator
    from tests.integration.test_interrupted_driver import _NEXT, _stored

    data = tmp_path / "data"
    with running_simulator(SimulatorConfig(latency_ms=50, seed=4)) as sim:
        env = engine_env(data, _catalogue(sim.api_base))
        env["SIM_API_BASE"] = sim.api_base
        env["AUTOFORGE_EXECUTOR"] = executor
        with running_engine(env) as pid:
            client = _client(env, "killed", 400, 2)
            assert client.stdout is not None
            run_id = client.stdout.readline().strip()
            assert run_id.startswith("run_"), client.stderr.read() if client.stderr else ""
            deadline = time.monotonic() + 120
            while _stored(data, run_id)[2] < 20:
                assert time.monotonic() < deadline and client.poll() is None
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
            killed = time.monotonic()
            outcome = _outcome(client, timeout=120)
            waited = time.monotonic() - killed
        assert outcome["code"] == "service-unavailable", outcome
        assert waited < 60, waited
        wait_until_gone(data)  # its workers may still call the provider until then
        httpx.post(f"{sim.url}/stats/reset")
        resumed = _last_json(_NEXT, run_id, env=env)
        requests = httpx.get(f"{sim.url}/stats").json()["requests_total"]
    assert resumed["found"] == "interrupted"
    assert resumed["status"] == "completed"
    assert resumed["recorded"] == resumed["total"] == 400
    assert requests == resumed["total"] - resumed["resumed"]


def test_a_run_handed_to_a_running_engine_leaves_no_key_in_redis_or_its_log(
    tmp_path: Path,
) -> None:
    import redis

    from engine.data_dir import published_owner
    from engine.simulator import running_simulator

    secret = "sk-daemon-test-8c1f0e"
    data = tmp_path / "data"
    with running_simulator() as sim:
        env = engine_env(data, _catalogue(sim.api_base, requires_api_key=True))
        with running_engine(env):
            outcome = _outcome(_client(env, "keyed", 20, 4, json.dumps({"openai": secret})))
            owner = published_owner(data)
            assert owner is not None and owner.redis_url is not None
            client = redis.Redis.from_url(owner.redis_url)
            leaked = [key for key in client.scan_iter() if secret.encode() in _dump(client, key)]
            client.close()
        log = (data / "engine.log").read_text()
    assert outcome["status"] == "completed", outcome
    assert leaked == []
    assert secret not in log


def _last_json(script: str, *args: str, env: dict[str, str]) -> dict[str, Any]:
    """The last JSON line ``script`` prints: Ray's raylet may print after it (a late
    lease release reaching a gateway already gone at exit) on a loaded machine."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=400
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return dict(json.loads(lines[-1]))


def _dump(client: Any, key: bytes) -> bytes:
    kind = client.type(key)
    if kind == b"string":
        return bytes(client.get(key) or b"")
    if kind == b"stream":
        return repr(client.xrange(key)).encode()
    if kind == b"hash":
        return repr(client.hgetall(key)).encode()
    if kind == b"list":
        return repr(client.lrange(key, 0, -1)).encode()
    if kind == b"set":
        return repr(client.smembers(key)).encode()
    if kind == b"zset":
        return repr(client.zrange(key, 0, -1)).encode()
    return key


def test_a_stopped_engine_records_the_cells_in_flight_and_leaves_its_run_interrupted(
    tmp_path: Path,
) -> None:
    from engine.simulator import SimulatorConfig, running_simulator
    from tests.integration.test_interrupted_driver import _stored

    data = tmp_path / "data"
    # 1,000 cells at 100 ms and concurrency 2: >= 50 s, still running when the stop lands.
    with running_simulator(SimulatorConfig(latency_ms=100, seed=6)) as sim:
        env = engine_env(data, _catalogue(sim.api_base))
        with running_engine(env):
            client = _client(env, "stopped", 1000, 2)
            assert client.stdout is not None
            run_id = client.stdout.readline().strip()
            assert run_id.startswith("run_"), client.stderr.read() if client.stderr else ""
            deadline = time.monotonic() + 120
            while _stored(data, run_id)[2] < 20:
                assert time.monotonic() < deadline and client.poll() is None
                time.sleep(0.05)
            stopped = engine_cli(env, "stop", timeout=120)
            assert stopped.returncode == 0, stopped.stderr
            outcome = _outcome(client, timeout=120)
        asked = httpx.get(f"{sim.url}/stats").json()["requests_total"]
    status, error, recorded = _stored(data, run_id)
    assert outcome["status"] == status == "interrupted", (outcome, error)
    assert error is not None and error.startswith("interrupted: "), error
    assert recorded == asked < 1000  # every call made before the stop is recorded
