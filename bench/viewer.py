"""The viewer on a run of 10,000 cells: server time per page, and in a real Chromium the time
to first paint of the run view and to reach its last case.

Seeds a completed run (2 versions × 2 models × 2,500 cases) into an inline engine in a
temporary data directory, serves the API and viewer with uvicorn on loopback (auth off, as
`autoforge view`), then measures:

- server time per page (httpx, wall time of the response, median and p95 of N): the run view
  cold (the first read of the run) and warm, page 2, the last page, the failures, a text
  search, the virtual list's windows of rows (at the end; of the failures), a case, a
  version comparison;
- in Chromium (Debian's, driven by Playwright): first contentful paint of the run view, cold
  (the run not read yet: its first page comes from the database, the matrix after) and warm
  (the Paint Timing API); cold, the time until the matrix and the counted (virtual) case
  list are shown; in the virtual list, the time from the End key to the last case shown and
  focused, and from scrolling to the bottom to the last case in view (with the rows the
  document then holds).

    PYTHONPATH=. LITELLM_LOCAL_MODEL_COST_MAP=True .venv/bin/python bench/viewer.py [--cases 2500]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.browser.conftest import chromium_path
from tests.browser.seeding import seed_run


def _times(call: Callable[[], Any], n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(n - 1, round(0.95 * (n - 1)))]


def _get(client: httpx.Client, path: str) -> Callable[[], Any]:
    def call() -> Any:
        answer = client.get(path)
        answer.raise_for_status()
        return answer

    return call


def _clear_cache() -> None:
    from api.ui import views

    views._CACHE.clear()
    views._RECORDS.clear()


def _server_times(url: str, seeded: Any, n: int) -> None:
    run = f"/ui/runs/{seeded.run_id}"
    first, second = seeded.versions
    model = seeded.models[0]
    pages = {
        "run view, warm": run,
        "page 2": f"{run}?page=2",
        "last page": f"{run}?page={seeded.cases // 50}",
        "failures": f"{run}?show=failed",
        "search 'Country 2499'": f"{run}?q=Country+2499",
        "rows: the window at the end": f"{run}/rows?start={max(0, seeded.cases - 60)}&count=60",
        "rows: a window of failures": f"{run}/rows?show=failed&start=400&count=60",
        "one case": f"{run}/cases/case-01234",
        "compare v1 vs v2": f"{run}/compare?a={first}|{model}&b={second}|{model}",
        "runs list": "/ui",
    }
    with httpx.Client(base_url=url, timeout=60) as client:
        for state in ("process", "run"):  # first request of the process, then of the run
            _clear_cache()
            for name, path in (("run view", run), ("matrix (reads every cell)", f"{run}/matrix")):
                began = time.perf_counter()
                _get(client, path)()
                took = 1000 * (time.perf_counter() - began)
                label = f"{name}, cold {state}"
                print(f"server  {label:<40} {took:7.1f} ms")
        for name, path in pages.items():
            median, p95 = _times(_get(client, path), n)
            size = len(client.get(path).content)
            print(f"server  {name:<40} {median:7.1f} ms median  {p95:7.1f} ms p95", end="")
            print(f"  {size / 1024:4.0f} KiB")


FIRST_PAINT = """new Promise(done => new PerformanceObserver(list => {
  const entry = list.getEntries().find(e => e.name === "first-contentful-paint");
  if (entry) done(entry.startTime);
}).observe({type: "paint", buffered: true}))"""


FOCUSED = "last => document.activeElement && document.activeElement.textContent === last"
IN_VIEW = """last => [...document.querySelectorAll("a.case-link")].some(link => {
  const box = link.getBoundingClientRect();
  return link.textContent === last && box.top >= 0 && box.bottom <= innerHeight;
})"""


def _first_paint(page: Any, url: str) -> float:
    page.goto(url)
    page.wait_for_selector("a.case-link")
    paint = page.evaluate(FIRST_PAINT)
    return float(paint)


def _report(name: str, samples: list[float]) -> None:
    median = statistics.median(samples)
    print(f"browser {name:<40} {median:7.1f} ms median of {len(samples)}, max {max(samples):.1f}")


def _browser_times(url: str, seeded: Any, rounds: int) -> None:
    from playwright.sync_api import sync_playwright

    run = f"{url}/ui/runs/{seeded.run_id}"
    last = f"case-{seeded.cases - 1:05d}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        cold, complete = [], []
        for _ in range(rounds):
            _clear_cache()
            began = time.perf_counter()
            cold.append(_first_paint(page, run))
            page.locator("#case-table[data-total]").wait_for(state="attached")
            complete.append((time.perf_counter() - began) * 1000)
        _report("first contentful paint, run view cold", cold)
        _report("cold: matrix and counted cases shown", complete)
        warm = [_first_paint(page, run) for _ in range(rounds)]
        _report("first contentful paint, run view warm", warm)
        ended, scrolled, rows = [], [], []
        for _ in range(rounds):
            page.goto(run)
            page.locator("#case-table[data-total]").wait_for(state="attached")
            page.wait_for_load_state()
            began = time.perf_counter()
            page.keyboard.press("End")  # the virtual list: fetch the last window, focus it
            page.wait_for_function(FOCUSED, arg=last)
            ended.append((time.perf_counter() - began) * 1000)
            page.goto(run)
            page.locator("#case-table[data-total]").wait_for(state="attached")
            page.wait_for_load_state()
            began = time.perf_counter()
            page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            page.wait_for_function(IN_VIEW, arg=last)
            scrolled.append((time.perf_counter() - began) * 1000)
            rows.append(float(page.locator("tr.case-row").count()))
        _report("End key to the last case shown, focused", ended)
        _report("scrolled to the bottom: last case in view", scrolled)
        print(f"browser rows in the document at the end: {max(rows):.0f} of {seeded.cases}")
        direct = [_first_paint(page, f"{run}?page={seeded.cases // 50}") for _ in range(rounds)]
        _report("first contentful paint, last page by URL", direct)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=2500, help="cases (x4 cells; 2500)")
    parser.add_argument("--iterations", type=int, default=20, help="requests per page (20)")
    parser.add_argument("--rounds", type=int, default=5, help="browser rounds (5)")
    args = parser.parse_args()

    from api.app import create_app
    from api.config import ApiSettings
    from api.services import ApiServices
    from api.ui.local import running_viewer
    from engine.sdk import Engine

    with tempfile.TemporaryDirectory(prefix="af-viewer-bench-") as data:
        engine = Engine(data_dir=data, executor="inline")
        began = time.perf_counter()
        seeded = seed_run(engine, cases=args.cases)
        cells = args.cases * 4
        print(f"seeded {cells:,} cells in {time.perf_counter() - began:.1f} s")
        api = ApiSettings(auth_mode="none", rate_limit_per_minute=1_000_000)
        services = ApiServices.from_runtime(engine.runtime, engine=engine, api=api)
        try:
            with running_viewer(create_app(services)) as url:
                _server_times(url, seeded, args.iterations)
                _browser_times(url, seeded, args.rounds)
        finally:
            services.close()
            engine.close()


if __name__ == "__main__":
    main()
