"""An optimization in the viewer, in a real Chromium: a real (random-search) optimization on
the simulator, listed with its progress and shown with its score chart, front and lineage."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Viewer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_an_optimizations_progress_front_and_lineage(viewer: Viewer, page: Any) -> None:
    from engine.simulator._families import FAMILIES

    family = FAMILIES["arithmetic"]
    engine = viewer.engine
    engine.prompts.create("calc", family.template, system=family.system)
    engine.datasets.create("arith")
    cases = family.cases(n=24, seed=0)
    engine.datasets.add(
        "arith", [{"id": c["id"], "vars": c["variables"], "expected": c["expected"]} for c in cases]
    )
    optimization = engine.optimize(
        "calc", "arith", ["openai/sim-medium"], ["equals"], optimizer="random",
        max_metric_calls=40, minibatch=4, seed=0, name="calc search",
    )  # fmt: skip
    info = optimization.wait(progress=False, timeout=120)
    page.goto(f"{viewer.url}/ui/optimizations")
    row = page.locator("tr", has_text="calc search")
    expect(row).to_contain_text(info.status)
    expect(row).to_contain_text(f"{info.calls}/{info.max_metric_calls}")
    row.get_by_role("link", name="calc search").click()
    expect(page.locator("h1")).to_contain_text("calc search")
    assert page.locator("figure.chart svg").count() == 1
    lineage = page.locator("table[aria-label=Lineage]").inner_text()
    candidates = optimization.candidates
    assert len(candidates) > 1
    assert page.locator("table[aria-label=Lineage] tbody tr").count() == len(candidates)
    assert all(c.id in lineage for c in candidates)
    page.screenshot(path=str(viewer.shots / "11-optimization.png"), full_page=True)
