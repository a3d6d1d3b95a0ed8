"""Fixtures of the browser tests: a real Chromium (Debian's, driven by Playwright) against
the real app served by uvicorn on loopback, over an inline engine with the simulator.

Screenshots go to ``$AUTOFORGE_SCREENSHOTS`` when set, else to the session's temp dir."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.seeding import Seeded, seed_run

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str:
    """Debian's chromium (never a browser downloaded by `playwright install`)."""
    for candidate in (os.environ.get("AUTOFORGE_CHROMIUM"), *CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("no chromium: apt-get install -y chromium (.ci/run does)")
    return found


@dataclass
class Viewer:
    url: str
    engine: Any
    seeded: Seeded
    shots: Path

    def shot(self, page: Any, name: str) -> Path:
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("AUTOFORGE_SCREENSHOTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def viewer(
    simulator: Any, tmp_path_factory: pytest.TempPathFactory, screenshots: Path
) -> Iterator[Viewer]:
    """The local viewer (auth off, loopback) on a seeded 120-case run."""
    from api.app import create_app
    from api.config import ApiSettings
    from api.services import ApiServices
    from api.ui.local import running_viewer
    from engine.llm import simulator_catalogue
    from engine.sdk import Engine

    data = tmp_path_factory.mktemp("viewer")
    engine = Engine(data_dir=data, executor="inline")
    engine.use_catalogue(simulator_catalogue(simulator.api_base))
    seeded = seed_run(engine, cases=120)
    api = ApiSettings(auth_mode="none", rate_limit_per_minute=100_000)
    services = ApiServices.from_runtime(engine.runtime, engine=engine, api=api)
    with running_viewer(create_app(services)) as url:
        yield Viewer(url, engine, seeded, screenshots)
    services.close()
    engine.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that fails the test on any console error (a CSP violation included)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    yield opened
    context.close()
    assert errors == [], errors
