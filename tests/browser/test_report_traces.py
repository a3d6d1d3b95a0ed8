"""A flow run's HTML report in a real Chromium: each cell's trace opens, its steps read as
text (markup a model or a tool wrote stays text, nothing runs), and the page loads nothing
from elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EVIL = "<img src=x onerror=alert(1)><script>alert(2)</script>"


@pytest.fixture(scope="module")
def report(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from engine.llm import simulator_catalogue
    from engine.sdk import Engine

    data = tmp_path_factory.mktemp("report-traces")
    engine = Engine(data_dir=data, executor="inline")
    engine.use_catalogue(simulator_catalogue(simulator.api_base))
    engine.prompts.create("ask", "Where is my order {{ number }}?")

    def lookup_order(order: int) -> str:
        """Look up an order by its number: where it is."""
        return f"order {order}: {EVIL}"

    engine.flows.register_tool("lookup_order", lookup_order)
    engine.flows.create(
        "orders",
        {
            "inputs": ["number"],
            "output": "ask",
            "steps": [{"name": "ask", "kind": "llm", "prompt": "ask", "tools": ["lookup_order"]}],
        },
    )
    engine.datasets.create("orders")
    engine.datasets.add("orders", [{"id": f"o{n}", "vars": {"number": n}} for n in (7, 42)])
    run = engine.evaluate(flow="orders@main", dataset="orders", models=["openai/sim-large"])
    run.wait(progress=False, timeout=120)
    yield run.save_report(data / "report.html")
    engine.close()


def test_a_cells_trace_opens_and_its_markup_stays_text(report: Path, page: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    assert page.locator("h2", has_text="Flow traces (2 cells)").count() == 1
    blocks = page.locator("details")
    assert blocks.count() == 2
    first = blocks.nth(0)
    assert not first.locator("table.trace").is_visible()
    first.locator("summary").click()
    table = first.locator("table.trace")
    assert table.is_visible()
    tool_row = table.locator("tr", has_text="ask[0].lookup_order")
    assert EVIL in tool_row.inner_text()  # shown as text, not parsed as markup
    assert page.locator("table.trace img").count() == 0
    assert page.locator("body script").count() == 0
    step_row = table.locator("tr").last
    assert step_row.locator("td").nth(0).inner_text() == "ask"
    assert dialogs == [] and requests == [report.as_uri()]
