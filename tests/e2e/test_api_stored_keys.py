"""A user's stored provider key is what their runs call the provider with, over real HTTP
through Ray Serve.

The simulator here answers 401 unless it sees its key, as a real provider does; the model's
account needs a key and the server's environment has none, so only a stored key works.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.auth import create_token
from api.config import ApiSettings
from domain.llm import Catalogue
from engine.llm.catalogue import simulator_account, simulator_models
from engine.simulator import SimulatorConfig, running_simulator
from tests.e2e.serving import hs256_overrides, serving

pytestmark = pytest.mark.e2e

SECRET = "stored-keys-secret-" + "k" * 32
PROVIDER_KEY = "sk-sim-team-" + uuid.uuid4().hex
KEY_VARIABLE = "AF_TEST_KEYED_SIM_KEY"  # never set: the server has no key of its own
MODEL = "openai/sim-small"


@pytest.fixture(scope="module")
def keyed_simulator() -> Iterator[Any]:
    with running_simulator(SimulatorConfig(api_key=PROVIDER_KEY, seed=3)) as sim:
        yield sim


@pytest.fixture(scope="module")
def base(
    ray_cluster: dict[str, Any],
    redis_url: str,
    keyed_simulator: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """Both Serve applications as `autoforge serve` deploys them; the replica's engine reads
    a catalogue whose account needs a key that its environment does not have."""
    account = dataclasses.replace(
        simulator_account(keyed_simulator.api_base, name="keyed-sim"),
        requires_api_key=True,
        api_key_env=KEY_VARIABLE,
    )
    catalogue = Catalogue((account,), simulator_models(account.name))
    data = tmp_path_factory.mktemp("stored-keys")
    overrides = hs256_overrides(data, redis_url, SECRET, catalogue, rate_limit_per_minute=100_000)
    # Master keys: the development key the replica creates in data_dir.
    with serving(overrides) as url:
        yield url


def _client(base: str, user: str) -> httpx.Client:
    settings = ApiSettings(auth_mode="hs256", auth_hs256_secret=SECRET)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {create_token(settings, user)}"}
    return httpx.Client(base_url=base, headers=headers, timeout=30)


def _setup(http: httpx.Client) -> dict[str, Any]:
    assert http.post("/v1/prompts", json={"name": "q", "template": "{{q}}"}).status_code == 201
    assert http.post("/v1/datasets", json={"name": "d"}).status_code == 201
    cases = [{"id": f"c{i}", "vars": {"q": f"{i}+1?"}, "expected": str(i + 1)} for i in range(4)]
    response = http.post("/v1/datasets/d/versions", json={"cases": cases})
    assert response.status_code == 201, response.text
    return {"prompt": "q", "dataset": "d", "models": [MODEL], "scorers": ["contains"]}


def _finished(http: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run: dict[str, Any] = http.get(f"/v1/runs/{run_id}").json()
        if run["status"] in {"completed", "failed", "cancelled", "budget-exceeded"}:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def test_runs_call_the_provider_with_the_callers_stored_key(
    base: str, keyed_simulator: Any
) -> None:
    suffix = uuid.uuid4().hex[:6]
    with _client(base, f"alice-{suffix}") as alice, _client(base, f"bob-{suffix}") as bob:
        body = _setup(alice)
        refused = alice.post("/v1/runs", json=body)
        assert refused.status_code == 422, refused.text
        assert KEY_VARIABLE in refused.text  # names what is missing, not a secret

        stored = alice.put("/v1/provider-keys/openai", json={"api_key": PROVIDER_KEY})
        assert stored.status_code == 201, stored.text
        assert PROVIDER_KEY not in stored.text
        keyed_simulator.reset_stats()
        started = alice.post("/v1/runs", json=body)
        assert started.status_code == 202, started.text
        run = _finished(alice, started.json()["id"])
        assert run["status"] == "completed", run
        stats = keyed_simulator.stats()
        assert stats["by_status"] == {"200": 4} or stats["by_status"] == {200: 4}, stats
        cells = alice.get(f"/v1/runs/{run['id']}/cells").json()["items"]
        assert len(cells) == 4 and all(c["error"] is None for c in cells)

        # Alice's key serves Alice only.
        _setup(bob)
        assert bob.post("/v1/runs", json=body).status_code == 422


def test_a_wrong_stored_key_fails_the_calls_with_the_providers_auth_error(
    base: str, keyed_simulator: Any
) -> None:
    with _client(base, f"carol-{uuid.uuid4().hex[:6]}") as carol:
        body = {**_setup(carol), "cache": False}  # Alice's answers are cached; call for real
        assert carol.put("/v1/provider-keys/openai", json={"api_key": "sk-wrong-0000"}).is_success
        keyed_simulator.reset_stats()
        run = _finished(carol, carol.post("/v1/runs", json=body).json()["id"])
        cells = carol.get(f"/v1/runs/{run['id']}/cells").json()["items"]
        assert len(cells) == 4
        errors = [c["error"] or "" for c in cells]
        assert all(e.startswith("auth") for e in errors), errors
        # Fatal, not retried: one request per cell.
        assert keyed_simulator.stats()["requests_total"] == 4
