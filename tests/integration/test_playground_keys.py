"""Playground turns call providers with the workspace's stored keys, resolved as runs resolve
them: over the real app in-process (inline engine) and a simulator that answers 401 unless
it sees its key; the model's account needs a key the process environment does not have."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_token
from api.config import ApiSettings
from api.services import ApiServices
from domain.llm import Catalogue
from engine.keys import Keyring, new_master_key
from engine.llm.catalogue import simulator_account, simulator_models
from engine.simulator import SimulatorConfig, running_simulator

pytestmark = pytest.mark.integration

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="k" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)
PROVIDER_KEY = "sk-sim-play-" + uuid.uuid4().hex
KEY_VARIABLE = "AF_TEST_PLAYGROUND_SIM_KEY"  # never set: the process has no key of its own
MODEL = "openai/sim-small"


@pytest.fixture(scope="module")
def keyed() -> Iterator[tuple[TestClient, Any]]:
    from engine.sdk import Engine

    with running_simulator(SimulatorConfig(api_key=PROVIDER_KEY, seed=5)) as sim:
        account = dataclasses.replace(
            simulator_account(sim.api_base, name="keyed-sim"),
            requires_api_key=True,
            api_key_env=KEY_VARIABLE,
        )
        data: Path = Path(__import__("tempfile").mkdtemp(prefix="af-pg-keys-"))
        engine = Engine(data_dir=data, executor="inline")
        engine.use_catalogue(Catalogue((account,), simulator_models(account.name)))
        services = ApiServices.from_runtime(
            engine.runtime, engine=engine, api=SETTINGS, keyring=Keyring.parse(new_master_key("p"))
        )
        with TestClient(create_app(services), client=("127.0.0.1", 40000)) as client:
            yield client, sim
        services.close()
        engine.close()


def _turn(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    made = client.post("/v1/prompts", json={"name": "q", "template": "{{q}}"}, headers=headers)
    assert made.status_code == 201, made.text
    session = client.post("/v1/playground", json={"prompt": "q", "models": [MODEL]},
                          headers=headers)  # fmt: skip
    assert session.status_code == 201, session.text
    url = f"/v1/playground/{session.json()['id']}/turns"
    started = client.post(url, json={"variables": {"q": "2+2?"}}, headers=headers)
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        turn: dict[str, Any] = client.get(f"{url}/1", headers=headers).json()
        if turn["status"] == "done":
            return turn
        time.sleep(0.05)
    raise AssertionError("the turn did not finish")


def test_a_turn_uses_the_callers_stored_key_and_only_theirs(keyed: tuple[TestClient, Any]) -> None:
    client, sim = keyed
    suffix = uuid.uuid4().hex[:6]
    alice = {"Authorization": f"Bearer {create_token(SETTINGS, f'alice-{suffix}')}"}
    bob = {"Authorization": f"Bearer {create_token(SETTINGS, f'bob-{suffix}')}"}
    stored = client.put("/v1/provider-keys/openai", json={"api_key": PROVIDER_KEY}, headers=alice)
    assert stored.status_code == 201, stored.text
    sim.reset_stats()
    (answer,) = _turn(client, alice)["answers"]
    assert answer["error"] is None and answer["content"], answer
    assert sum(sim.stats()["by_status"].values()) >= 1
    assert set(map(str, sim.stats()["by_status"])) == {"200"}
    (refused,) = _turn(client, bob)["answers"]  # Alice's key serves Alice only
    assert refused["content"] is None and KEY_VARIABLE in refused["error"]
    assert PROVIDER_KEY not in str(refused)
