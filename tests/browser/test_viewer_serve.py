"""The viewer through real Ray Serve (`serve.start` + `api.serve.deploy`, as `autoforge
serve` deploys both applications), in a real Chromium: sign in with a token (an http-only
cookie), watch a run on a slow simulator reach 100% over the streams application's
WebSocket, open a case, annotate it and see the report change, and work a queue item."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from api.auth import create_token
from api.config import ApiSettings
from tests.e2e.serving import hs256_overrides, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "viewer-serve-" + "v" * 32
CASES = 30


@dataclass
class Served:
    base: str
    settings: ApiSettings

    def client(self, user: str) -> httpx.Client:
        token = create_token(self.settings, user)
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )


@pytest.fixture(scope="module")
def served(
    ray_cluster: dict[str, Any], redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    from engine.llm import simulator_catalogue
    from engine.simulator import SimulatorConfig, running_simulator

    data: Path = tmp_path_factory.mktemp("viewer-serve")
    # 30 cells at ~150 ms, two at a time: a couple of seconds of run to watch.
    with running_simulator(SimulatorConfig(latency_ms=150, seed=5)) as slow:
        catalogue = simulator_catalogue(slow.api_base, name="viewer-serve")
        overrides = hs256_overrides(
            data, redis_url, SECRET, catalogue, rate_limit_per_minute=100_000
        )
        with serving(overrides) as base:
            yield Served(base, ApiSettings(**overrides))  # type: ignore[arg-type]


def _ok(answer: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return dict(answer.json())


def test_the_viewer_through_serve_follows_a_live_run_and_takes_feedback(
    served: Served, page: Any, screenshots: Path
) -> None:
    user = f"sam-{uuid.uuid4().hex[:6]}"
    with served.client(user) as http:
        _ok(http.post("/v1/prompts", json={"name": "sums", "template": "What is {{n}} + 1?"}))
        _ok(http.post("/v1/datasets", json={"name": "sums"}))
        cases = [
            {"id": f"n{i:02d}", "vars": {"n": i}, "expected": str(i + 1)} for i in range(CASES)
        ]
        _ok(http.post("/v1/datasets/sums/versions", json={"cases": cases}))
        page.goto(f"{served.base}/ui")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.get_by_label("Token").fill(create_token(served.settings, user))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Runs")).to_be_visible()
        frames: list[str] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))
        body = {"prompt": "sums", "dataset": "sums", "models": ["openai/sim-small"],
                "scorers": ["icontains"], "concurrency": 2, "name": "served run"}  # fmt: skip
        run_id = _ok(http.post("/v1/runs", json=body), 202)["id"]
        page.goto(f"{served.base}/ui/runs/{run_id}")
        assert page.locator("#run-status").inner_text() in ("pending", "running")
        page.screenshot(path=str(screenshots / "20-serve-live.png"), full_page=True)
        expect(page.locator("#run-status")).to_have_text("completed", timeout=120_000)
        expect(page.locator("#run-done")).to_have_text(f"{CASES}/{CASES} cells (100%)")
        assert any('"done"' in frame for frame in frames), "no progress over the WebSocket"
        expect(page.locator("#case-table")).to_have_attribute("data-total", str(CASES))
        (before,) = _ok(http.get(f"/v1/runs/{run_id}/report"), 200)["groups"]
        cells = _ok(http.get(f"/v1/runs/{run_id}/cells"), 200)["items"]
        target = next(c for c in cells if c["passed"] is not None and c["error"] is None)
        verdict = "fail" if target["passed"] else "pass"
        page.locator("a.case-link", has_text=target["case_id"]).click()
        cell = page.locator("article.cell").first
        cell.get_by_label(verdict, exact=True).check()
        cell.get_by_label("Comment").fill("checked through Serve")
        cell.get_by_role("button", name="Save feedback").click()
        expect(page.locator("ul.feedback")).to_contain_text("checked through Serve")
        expect(cell).to_contain_text("overridden by feedback")
        page.screenshot(path=str(screenshots / "21-serve-case.png"), full_page=True)
        (after,) = _ok(http.get(f"/v1/runs/{run_id}/report"), 200)["groups"]
        assert after["n_passed"] == before["n_passed"] + (1 if verdict == "pass" else -1)
        feedback = _ok(http.get(f"/v1/runs/{run_id}/feedback"), 200)["items"]
        assert [(f["author"], f["comment"]) for f in feedback] == [(user, "checked through Serve")]
        page.goto(f"{served.base}/ui/queues")
        page.get_by_label("Run").select_option(run_id)
        page.get_by_label("Sample (empty: every matching cell)").fill("2")
        page.get_by_role("button", name="Make queue").click()
        page.get_by_role("button", name="Work this queue (n)").click()
        page.wait_for_load_state()
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        expect(page.locator("#queue-progress")).to_contain_text("1/2 items complete")
        page.screenshot(path=str(screenshots / "22-serve-queue.png"), full_page=True)
