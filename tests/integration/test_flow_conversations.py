"""Conversations run by the engine on real Ray, Redis, DB and the simulator over HTTP: a
simulated user's prompt pinned with the run, each turn through the gateways and in the
trace, a cancelled run resumed without repeating a recorded cell's calls, and a
single-prompt cell's case history sent before the prompt and seen by the scorers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engine.llm import simulator_catalogue

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HISTORY = [
    {"role": "user", "content": "Hello, my parcel is late."},
    {"role": "assistant", "content": "Sorry to hear that! Which order is it?"},
]
CHAT = {
    "inputs": ["topic"],
    "output": "chat",
    "steps": [
        {
            "name": "chat",
            "kind": "conversation",
            "prompt": "agent",
            "user": {"prompt": "customer", "model": "openai/sim-small"},
            "max_turns": 3,
        }
    ],
}


@pytest.fixture(scope="module")
def engine(
    ray_cluster: dict[str, Any],
    redis_url: str,
    simulator: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    from engine import Engine

    eng = Engine(data_dir=tmp_path_factory.mktemp("flow-chats"), redis_url=redis_url)
    eng.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=256))
    eng.prompts.create("agent", [{"role": "system", "content": "You help with {{ topic }}."}])
    eng.prompts.create(
        "customer", "You are a customer. The chat so far:\n{{ transcript }}\nYour next line?"
    )
    eng.prompts.create("go-on", "Go on: {{ topic }}")
    eng.datasets.create("chats")
    eng.datasets.add(
        "chats",
        [
            {"id": f"c{i}", "vars": {"topic": topic}, "messages": HISTORY[: 1 + i % 2]}
            for i, topic in enumerate(["parcels", "refunds", "logins", "invoices", "returns"])
        ],
    )
    yield eng
    eng.close()


def _requests(simulator: Any) -> int:
    return int(httpx.get(f"{simulator.url}/stats").json()["requests_total"])


def test_a_cancelled_conversation_run_resumes_without_repeating_a_recorded_cell(
    engine: Any, simulator: Any
) -> None:
    from engine.simulator import SimulatorConfig, running_simulator

    engine.flows.create("support-chat", CHAT)
    first = engine.prompts.show("customer").id
    with running_simulator(SimulatorConfig(latency_ms=30)) as slow:
        engine.use_catalogue(simulator_catalogue(slow.api_base, max_concurrency=256))
        try:
            run = engine.evaluate(
                flow="support-chat@main",
                dataset="chats",
                models=["openai/sim-large"],
                cache=False,
                concurrency=1,
                repeats=3,
                scorers=[
                    {
                        "type": "each-turn",
                        "name": "no-empty-turn",
                        "args": {"scorer": {"type": "regex", "args": {"pattern": "\\S"}}},
                    }
                ],
            )
            deadline = time.monotonic() + 60
            while run.recorded() < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            run.cancel()
            assert run.wait(progress=False, timeout=60).status.value == "cancelled"
            at_stop = run.recorded()
            # The customer's prompt changes between the stop and the resume: the run keeps
            # the version it pinned when it started.
            engine.prompts.commit("customer", "Say only: bye {{ transcript }}")
            run.resume()
            assert run.wait(progress=False, timeout=180).status.value == "completed"
            requests = _requests(slow)
        finally:
            engine.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=256))
    rows = list(engine.evaluations.runs.result_rows(engine.owner, run.id))
    assert len(rows) == 5 * 3 > at_stop
    assert len({(r["case_id"], r["repeat"]) for r in rows}) == len(rows)
    calls = sum(e["attempts"] for r in rows for e in r["detail"]["trace"] if e["kind"] == "llm")
    assert requests == calls
    assert engine.prompts.show("customer").id != first
    for row in rows:
        assert row["error"] is None, row["error"]
        trace = row["detail"]["trace"]
        assistant = [e for e in trace if e["step"] == "chat.assistant"]
        users = [e for e in trace if e["step"] == "chat.user"]
        # A history ending with the user is answered first; one ending with the agent is
        # followed by the customer: three assistant turns either way.
        opens_with_user = row["case_id"] in ("c0", "c2", "c4")
        assert len(assistant) == 3 and len(users) == (2 if opens_with_user else 3)
        assert all(e["prompt_version"] == first for e in users)
        assert all(e["model"] == "openai/sim-small" for e in users)
        assert trace[-1]["step"] == "chat" and trace[-1]["turns"] == 3
        assert row["output"] == assistant[-1]["output"]
        assert row["scores"]["no-empty-turn"] == float(all(e["output"].strip() for e in assistant))
    steps = {s.step: s for s in run.step_report()}
    assert steps["chat.assistant"].runs == 3 * len(rows)
    assert steps["chat.user"].runs == sum(
        1 for r in rows for e in r["detail"]["trace"] if e["step"] == "chat.user"
    )


def test_a_single_prompt_cell_sends_the_case_history_and_its_scorers_see_it(
    engine: Any,
) -> None:
    run = engine.evaluate(
        prompt="go-on",
        dataset="chats",
        models=["openai/sim-large"],
        scorers=[
            {
                "type": "each-turn",
                "name": "asked-which-order",
                "args": {
                    "role": "assistant",
                    "aggregate": "any",
                    "scorer": {"type": "icontains", "args": {"value": "which order"}},
                },
            }
        ],
    )
    assert run.wait(progress=False, timeout=120).status.value == "completed"
    rows = {r["case_id"]: r for r in engine.evaluations.runs.result_rows(engine.owner, run.id)}
    # c1, c3 carry the agent's question in their history; c0, c2, c4 only the user's line.
    for case_id, row in rows.items():
        in_history = case_id in ("c1", "c3")
        said = "which order" in row["output"].lower()
        assert row["scores"]["asked-which-order"] == float(in_history or said)
    assert rows["c1"]["scores"]["asked-which-order"] == 1.0
    tokens = {k: r["prompt_tokens"] for k, r in rows.items()}
    assert tokens["c1"] > tokens["c0"] and tokens["c3"] > tokens["c2"]
