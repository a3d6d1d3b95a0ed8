"""The simulator over real HTTP: thread and subprocess runners, limits, faults, LiteLLM."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import struct
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engine.simulator import (
    Simulator,
    SimulatorConfig,
    register_with_litellm,
    running_simulator,
    simulator_subprocess,
)

pytestmark = pytest.mark.integration
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with running_simulator(SimulatorConfig(seed=7)) as simulator:
        yield simulator


def chat(content: str, model: str = "sim-small", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def test_health_and_models(sim: Simulator) -> None:
    assert httpx.get(f"{sim.url}/health").json() == {"status": "ok"}
    listing = httpx.get(f"{sim.api_base}/models").json()
    ids = {m["id"] for m in listing["data"]}
    assert listing["object"] == "list"
    assert {"sim-small", "sim-medium", "sim-large", "sim-judge", "sim-embed"} <= ids
    assert "sim-moderation" in ids


def test_chat_completion_has_openai_shape_and_usage(sim: Simulator) -> None:
    body = httpx.post(f"{sim.api_base}/chat/completions", json=chat("What is 2 + 2?")).json()
    assert body["object"] == "chat.completion" and body["model"] == "sim-small"
    assert body["choices"][0]["message"]["role"] == "assistant"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_answers_are_deterministic_per_seed(sim: Simulator) -> None:
    def answer(seed: int) -> str:
        request = chat("What is 41 * 3?", temperature=0.5, seed=seed)
        body = httpx.post(f"{sim.api_base}/chat/completions", json=request).json()
        return str(body["choices"][0]["message"]["content"])

    assert answer(1) == answer(1)
    assert len({answer(s) for s in range(20)}) > 1


def test_embeddings_as_floats_and_base64(sim: Simulator) -> None:
    request = {"model": "sim-embed", "input": ["the cat sat", "the cat sat", "stock prices"]}
    body = httpx.post(f"{sim.api_base}/embeddings", json=request).json()
    vectors = [d["embedding"] for d in body["data"]]
    assert len(vectors) == 3 and len(vectors[0]) == 64 and vectors[0] == vectors[1]
    assert body["usage"]["prompt_tokens"] > 0
    encoded = httpx.post(
        f"{sim.api_base}/embeddings", json={"input": "the cat sat", "encoding_format": "base64"}
    ).json()["data"][0]["embedding"]
    decoded = struct.unpack("<64f", base64.b64decode(encoded))
    assert decoded == pytest.approx(vectors[0], abs=1e-6)


def test_logprobs_come_per_word_only_when_asked_for(sim: Simulator) -> None:
    url = f"{sim.api_base}/chat/completions"
    asked = httpx.post(url, json=chat("Reverse the word hello", logprobs=True)).json()
    choice = asked["choices"][0]
    tokens = choice["logprobs"]["content"]
    assert "".join(t["token"] for t in tokens) == choice["message"]["content"]
    assert all(math.log(0.5) <= t["logprob"] < 0 for t in tokens)
    again = httpx.post(url, json=chat("Reverse the word hello", logprobs=True)).json()
    assert again["choices"][0]["logprobs"] == choice["logprobs"]
    plain = httpx.post(url, json=chat("Reverse the word hello")).json()
    assert plain["choices"][0]["logprobs"] is None


def test_moderations_flag_listed_words_in_openai_shape(sim: Simulator) -> None:
    request = {"model": "sim-moderation", "input": ["You IDIOT, I will kill it", "Nice day"]}
    body = httpx.post(f"{sim.api_base}/moderations", json=request).json()
    assert body["model"] == "sim-moderation" and body["id"].startswith("modr-")
    rude, clean = body["results"]
    assert rude["flagged"] and not clean["flagged"]
    assert {c for c, hit in rude["categories"].items() if hit} == {"harassment", "violence"}
    assert rude["category_scores"]["violence"] > 0.5 > rude["category_scores"]["hate"]
    assert set(clean["categories"]) == set(clean["category_scores"]) >= {"self-harm", "sexual"}
    one = httpx.post(f"{sim.api_base}/moderations", json={"input": "skill"}).json()
    assert not one["results"][0]["flagged"]  # whole words only: "skill" holds "kill"
    refused = httpx.post(f"{sim.api_base}/moderations", json={"input": [1]})
    assert refused.status_code == 400


def test_moderations_are_counted_and_rate_limited() -> None:
    with running_simulator(SimulatorConfig(rpm=2)) as sim:
        url = f"{sim.api_base}/moderations"
        statuses = [httpx.post(url, json={"input": "hello"}).status_code for _ in range(3)]
        stats = sim.stats()
    assert statuses == [200, 200, 429]
    assert stats["by_route"]["POST /v1/moderations"] == 3 and stats["rate_limited"] == 1
    assert stats["by_model"]["sim-moderation"] == 3 and stats["tokens_in"] > 0


def test_bad_requests_get_openai_errors(sim: Simulator) -> None:
    unknown = httpx.post(f"{sim.api_base}/chat/completions", json=chat("hi", model="gpt-9"))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    broken = httpx.post(f"{sim.api_base}/chat/completions", content=b"{not json")
    assert broken.status_code == 400 and broken.json()["error"]["type"] == "invalid_request_error"


def test_streaming_sends_server_sent_events(sim: Simulator) -> None:
    request = chat("Reverse the word hello", stream=True, stream_options={"include_usage": True})
    response = httpx.post(f"{sim.api_base}/chat/completions", json=request)
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert response.headers["content-type"].startswith("text/event-stream")
    assert events[-1] == "[DONE]" and "usage" in json.loads(events[-2])
    plain = httpx.post(f"{sim.api_base}/chat/completions", json=chat("Reverse the word hello"))
    whole = plain.json()["choices"][0]["message"]["content"]
    pieces = [
        c["choices"][0]["delta"].get("content")
        for c in map(json.loads, events[:-2])
        if c["choices"] and c["choices"][0]["delta"].get("content")
    ]
    assert "".join(pieces) == whole and len(pieces) == len(whole.split())


def test_stats_count_and_reset() -> None:
    with running_simulator() as sim:
        httpx.post(f"{sim.api_base}/chat/completions", json=chat("What is 1 + 1?"))
        httpx.post(f"{sim.api_base}/embeddings", json={"input": "hello"})
        stats = httpx.get(f"{sim.url}/stats").json()
        assert stats["requests_total"] == 2 and stats["by_model"]["sim-small"] == 1
        assert stats["by_route"]["POST /v1/embeddings"] == 1
        assert stats["tokens_in"] > 0 and stats["tokens_out"] > 0
        assert httpx.post(f"{sim.url}/stats/reset").json()["requests_total"] == 0
        assert sim.stats()["requests_total"] == 0


def test_stats_time_the_request_span_and_the_mean_in_flight() -> None:
    async def burst(api_base: str) -> None:
        async with httpx.AsyncClient() as client:
            url = f"{api_base}/chat/completions"
            await asyncio.gather(
                *(client.post(url, json=chat(f"Q{i}", "sim-medium")) for i in range(8))
            )

    with running_simulator(SimulatorConfig(latency_ms=50)) as sim:
        asyncio.run(burst(sim.api_base))
        stats = httpx.get(f"{sim.url}/stats").json()
    assert stats["max_in_flight"] == 8 and stats["in_flight"] == 0
    assert stats["request_span_s"] >= 0.05
    assert stats["last_response_at"] - stats["first_request_at"] == pytest.approx(
        stats["request_span_s"], abs=1e-5
    )
    assert 1.0 < stats["mean_in_flight"] <= 8.0


def test_error_rate_one_injects_5xx() -> None:
    with running_simulator(SimulatorConfig(error_rate=1.0)) as sim:
        responses = [
            httpx.post(f"{sim.api_base}/chat/completions", json=chat("hi")) for _ in range(6)
        ]
        assert {r.status_code for r in responses} <= {500, 503}
        assert all(r.json()["error"]["type"] == "server_error" for r in responses)
        assert sim.stats()["injected_errors"] == 6


def test_timeouts_hang_and_stop_releases_them() -> None:
    config = SimulatorConfig(timeout_rate=1.0, timeout_hang_s=0.3)
    with running_simulator(config) as sim:
        started = time.perf_counter()
        assert httpx.post(f"{sim.api_base}/chat/completions", json=chat("hi")).status_code == 200
        assert time.perf_counter() - started >= 0.3
    with running_simulator(SimulatorConfig(timeout_rate=1.0)) as sim:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{sim.api_base}/chat/completions", json=chat("hi"), timeout=0.3)
        assert sim.stats()["injected_timeouts"] == 1
        started = time.perf_counter()
    assert time.perf_counter() - started < 3


def test_rate_limited_responses_carry_retry_headers() -> None:
    with running_simulator(SimulatorConfig(rpm=3, tpm=100_000)) as sim:
        url = f"{sim.api_base}/chat/completions"
        ok = [httpx.post(url, json=chat("hi")) for _ in range(3)]
        assert [r.status_code for r in ok] == [200, 200, 200]
        assert ok[0].headers["x-ratelimit-limit-requests"] == "3"
        assert ok[-1].headers["x-ratelimit-remaining-requests"] == "0"
        assert "x-ratelimit-remaining-tokens" in ok[0].headers
        refused = [httpx.post(url, json=chat("hi")) for _ in range(3)]
        for r in refused:
            assert r.status_code == 429
            assert r.json()["error"]["code"] == "rate_limit_exceeded"
            assert r.json()["error"]["type"] == "rate_limit_error"
            assert int(r.headers["Retry-After"]) >= 1 and int(r.headers["retry-after-ms"]) >= 1
            for kind in ("requests", "tokens"):
                for name in ("limit", "remaining", "reset"):
                    assert f"x-ratelimit-{name}-{kind}" in r.headers
        assert sim.stats()["rate_limited"] == 3


def test_token_limit_refuses_big_requests() -> None:
    with running_simulator(SimulatorConfig(tpm=1_000)) as sim:
        url = f"{sim.api_base}/chat/completions"
        assert httpx.post(url, json=chat("hi", max_tokens=600)).status_code == 200
        refused = httpx.post(url, json=chat("hi", max_tokens=600))
        assert refused.status_code == 429 and "tokens" in refused.json()["error"]["message"]
        assert httpx.post(url, json=chat("hi", max_tokens=100)).status_code == 200


def test_litellm_sees_rate_limits_and_knows_the_cost() -> None:
    import litellm
    from litellm.exceptions import RateLimitError

    litellm.suppress_debug_info = True
    register_with_litellm()

    async def drive(api_base: str) -> tuple[list[Any], list[Any]]:
        async def one(i: int) -> Any:
            return await litellm.acompletion(
                model="openai/sim-small",
                messages=[{"role": "user", "content": f"What is {i} + 1?"}],
                api_base=api_base,
                api_key="x",
                num_retries=0,
                timeout=10,
            )

        results = await asyncio.gather(*(one(i) for i in range(200)), return_exceptions=True)
        ok = [r for r in results if not isinstance(r, BaseException)]
        return ok, [r for r in results if isinstance(r, BaseException)]

    with running_simulator(SimulatorConfig(rpm=50)) as sim:
        ok, failed = asyncio.run(drive(sim.api_base))
        assert len(ok) == 50 and len(failed) == 150
        assert all(isinstance(e, RateLimitError) for e in failed)
        assert int(failed[0].response.headers["retry-after"]) >= 1
        cost = litellm.completion_cost(completion_response=ok[0])
        assert cost is not None and cost > 0
        assert sim.stats()["rate_limited"] == 150
        raw = httpx.post(f"{sim.api_base}/chat/completions", json=chat("hi"))
        assert raw.status_code == 429 and int(raw.headers["Retry-After"]) >= 1


def test_subprocess_runner_serves_and_cleans_up() -> None:
    with simulator_subprocess(SimulatorConfig(rpm=1_000, seed=3)) as url:
        assert httpx.get(f"{url}/health").status_code == 200
        answer = httpx.post(f"{url}/v1/chat/completions", json=chat("What is 2 + 3?"))
        assert answer.status_code == 200 and answer.headers["x-ratelimit-limit-requests"] == "1000"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=1)


def test_request_log_keys_each_chat_request_by_model_and_prompt() -> None:
    from engine.simulator import request_key

    with running_simulator(SimulatorConfig(rpm=1)) as sim:
        sent = time.time()
        httpx.post(f"{sim.api_base}/chat/completions", json=chat("What is 1 + 1?"))
        httpx.post(f"{sim.api_base}/chat/completions", json=chat("What is 1 + 1?"))
        httpx.post(f"{sim.api_base}/embeddings", json={"input": "hello"})
        log = httpx.get(f"{sim.url}/stats/requests").json()["chat"]
        assert [entry["status"] for entry in log] == [200, 429]
        assert {entry["key"] for entry in log} == {request_key("sim-small", "What is 1 + 1?")}
        assert all(sent <= entry["at"] <= time.time() for entry in log)
        sim.reset_stats()
        assert httpx.get(f"{sim.url}/stats/requests").json()["chat"] == []
