"""The viewer behind the API's auth, in a real Chromium: sign in with a token (kept in an
http-only cookie), watch a real run on the simulator reach 100% over the run's WebSocket
stream, and find another user's run not found."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from api.auth import create_token
from api.config import ApiSettings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SETTINGS = ApiSettings(
    auth_mode="hs256",
    auth_hs256_secret="v" * 40,  # type: ignore[arg-type]
    rate_limit_per_minute=100_000,
)
CASES = 40


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    from api.app import create_app
    from api.services import ApiServices
    from api.ui.local import running_viewer
    from engine.llm import simulator_catalogue
    from engine.sdk import Engine
    from engine.simulator import SimulatorConfig, running_simulator

    data: Path = tmp_path_factory.mktemp("viewer-live")
    # 40 cells at ~150 ms, two at a time: about 3 s of run to watch.
    with running_simulator(SimulatorConfig(latency_ms=150, seed=3)) as slow:
        engine = Engine(data_dir=data, executor="inline")
        engine.use_catalogue(simulator_catalogue(slow.api_base, name="viewer-live"))
        services = ApiServices.from_runtime(engine.runtime, engine=engine, api=SETTINGS)
        with running_viewer(create_app(services)) as url:
            yield url, engine
        services.close()
        engine.close()


def _sign_in(page: Any, url: str, user: str) -> None:
    page.goto(f"{url}/ui")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Token").fill(create_token(SETTINGS, user))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()


def test_a_live_run_reaches_100_percent_over_its_stream(
    served: tuple[str, Any], page: Any, screenshots: Path
) -> None:
    url, engine = served
    user = f"ada-{uuid.uuid4().hex[:6]}"
    mine = engine.as_owner(user)
    mine.prompts.create("live", "What is {{n}} + 1?")
    mine.datasets.create("sums")
    mine.datasets.add("sums", [{"vars": {"n": i}, "expected": str(i + 1)} for i in range(CASES)])
    _sign_in(page, url, user)
    cookie = next(c for c in page.context.cookies() if c["name"] == "af_ui_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))
    run = mine.evaluate(
        prompt="live", dataset="sums", models=["openai/sim-small"], scorers=["icontains"],
        concurrency=2, name="live run",
    )  # fmt: skip
    page.goto(f"{url}/ui/runs/{run.id}")
    assert page.locator("#run-status").inner_text() in ("pending", "running")
    page.screenshot(path=str(screenshots / "09-live-running.png"), full_page=True)
    expect(page.locator("#run-status")).to_have_text("completed", timeout=60_000)
    expect(page.locator("#run-done")).to_have_text(f"{CASES}/{CASES} cells (100%)")
    assert any('"done"' in frame for frame in frames), "no progress arrived over the WebSocket"
    page.screenshot(path=str(screenshots / "10-live-done.png"), full_page=True)
    assert run.info().status.value == "completed"
    again = mine.evaluate(
        prompt="live", dataset="sums", models=["openai/sim-small"], scorers=["icontains"],
        name="live again",
    )  # fmt: skip
    again.wait(progress=False, timeout=60)
    expected = mine.compare(run.id, again.id)
    page.goto(f"{url}/ui")
    page.get_by_label("Compare run").fill(run.id)
    page.get_by_label("with").fill(again.id)
    page.get_by_role("button", name="Compare").click()
    expect(page.locator(".verdict-line")).to_have_text(expected.verdict)
    assert (
        f"{expected.n_pairs} ({expected.n_graded_pairs} graded" in page.locator("main").inner_text()
    )


def test_another_users_run_is_not_found_and_pages_need_a_token(
    served: tuple[str, Any], page: Any
) -> None:
    url, engine = served
    owner, other = f"bob-{uuid.uuid4().hex[:6]}", f"eve-{uuid.uuid4().hex[:6]}"
    theirs = engine.as_owner(owner)
    theirs.prompts.create("private", "{{q}}")
    theirs.datasets.create("qs")
    theirs.datasets.add("qs", [{"vars": {"q": "x"}, "expected": "x"}])
    run = theirs.evaluate(prompt="private", dataset="qs", models=["openai/sim-small"])
    run.wait(progress=False, timeout=60)
    anonymous = httpx.get(f"{url}/ui/runs/{run.id}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/ui/login"
    headers = {"Authorization": f"Bearer {create_token(SETTINGS, other)}"}
    assert httpx.get(f"{url}/ui/runs/{run.id}", headers=headers).status_code == 404
    owned = {"Authorization": f"Bearer {create_token(SETTINGS, owner)}"}
    assert httpx.get(f"{url}/ui/runs/{run.id}", headers=owned).status_code == 200
    _sign_in(page, url, other)
    assert "private" not in page.locator("main").inner_text()
