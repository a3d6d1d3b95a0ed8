"""The viewer in a real Chromium: open a run, filter to failures, open a case and read its
reason, compare two versions, walk the cases by keyboard, read a prompt's history and diff,
annotate a cell and see the report change. Every page is screenshotted."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Viewer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _failing_cases(viewer: Viewer) -> set[str]:
    records = viewer.engine.run(viewer.seeded.run_id).records()
    return {r.case_id for r in records if r.errored or r.effective_passed is False}


def test_open_a_run_filter_to_failures_and_read_a_reason(viewer: Viewer, page: Any) -> None:
    page.goto(f"{viewer.url}/ui")
    viewer.shot(page, "01-runs")
    page.get_by_role("link", name="capitals seeded").click()
    page.wait_for_selector("table.matrix")
    expect(page.locator("#case-count")).to_have_text(re.compile(f"^{viewer.seeded.cases} case"))
    assert page.locator("table.matrix tbody tr").count() == 2  # two versions
    viewer.shot(page, "02-run")
    failing = _failing_cases(viewer)
    page.get_by_label("failed").check()
    expect(page.locator("#case-count")).to_have_text(re.compile(f"^{len(failing)} case"))
    assert "show=failed" in page.url
    shown = page.locator("a.case-link").all_inner_texts()
    assert shown and set(shown) <= failing
    viewer.shot(page, "03-run-failed")
    failed_cell = page.locator("tr.case-row td.v-fail").first
    reason = failed_cell.locator(".reason").first.inner_text()
    assert "does not contain" in reason
    case_id = failed_cell.locator("xpath=..").locator("a.case-link").inner_text()
    failed_cell.locator("xpath=..").locator("a.case-link").click()
    page.wait_for_selector("article.cell")
    assert page.locator("h1").inner_text().endswith(case_id)
    assert page.locator("dd.reason").first.inner_text().startswith("output does not contain")
    assert page.locator("article.cell").count() == 4  # 2 versions x 2 models side by side
    viewer.shot(page, "04-case")


IN_VIEW_FROM = """least => [...document.querySelectorAll("tr.case-row")].some(row => {
  const box = row.getBoundingClientRect();
  return +row.dataset.index >= least && box.top >= 0 && box.bottom <= innerHeight;
})"""


def _rendered(page: Any) -> list[str]:
    return list(page.locator("a.case-link").all_inner_texts())


def test_the_case_list_is_virtual_and_end_reaches_the_last_case(viewer: Viewer, page: Any) -> None:
    page.set_viewport_size({"width": 1400, "height": 600})
    page.goto(f"{viewer.url}/ui/runs/{viewer.seeded.run_id}")
    table = page.locator("#case-table[data-total]")
    expect(table).to_have_attribute("data-total", str(viewer.seeded.cases))
    page.wait_for_load_state()
    first = _rendered(page)
    assert first[0] == "case-00000" and len(first) < viewer.seeded.cases  # a window, not all
    # Every row is as tall as the others, so the spacers stand for the rows not rendered.
    heights = page.locator("tr.case-row").evaluate_all(
        "rows => rows.map(r => Math.round(r.getBoundingClientRect().height))"
    )
    assert len(set(heights)) == 1, heights
    full = page.evaluate("document.getElementById('case-table').tBodies[0].offsetHeight")
    assert abs(full - viewer.seeded.cases * heights[0]) <= 2
    page.keyboard.press("End")
    last = f"case-{viewer.seeded.cases - 1:05d}"
    expect(page.locator("a.case-link", has_text=last)).to_be_focused()
    assert page.locator("tr.case-row").count() < viewer.seeded.cases
    assert "case-00000" not in _rendered(page)
    page.screenshot(path=str(viewer.shots / "13-cases-end.png"))  # the viewport: at the end
    page.keyboard.press("k")
    expect(
        page.locator(f"a.case-link:text-is('case-{viewer.seeded.cases - 2:05d}')")
    ).to_be_focused()
    page.keyboard.press("Home")
    expect(page.locator("a.case-link", has_text="case-00000")).to_be_focused()
    page.mouse.wheel(0, 80 * heights[0])  # scrolled by hand past the window: its rows arrive
    page.wait_for_function(IN_VIEW_FROM, arg=60)


def test_without_javascript_the_cases_are_paged(viewer: Viewer, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{viewer.url}/ui/runs/{viewer.seeded.run_id}")
    page.get_by_role("link", name="Last »").first.click()
    expect(page.locator("nav.pager").first).to_contain_text("page 3 of 3")
    assert page.locator("a.case-link").last.inner_text() == f"case-{viewer.seeded.cases - 1:05d}"
    context.close()


def test_search_finds_a_case_by_its_input(viewer: Viewer, page: Any) -> None:
    page.goto(f"{viewer.url}/ui/runs/{viewer.seeded.run_id}")
    page.get_by_label("Search").fill("Country 77")
    expect(page.locator("#case-count")).to_have_text(re.compile("^1 case"))
    assert page.locator("a.case-link").all_inner_texts() == ["case-00077"]


def test_compare_two_versions(viewer: Viewer, page: Any) -> None:
    run = viewer.engine.run(viewer.seeded.run_id)
    first, second = viewer.seeded.versions
    model = viewer.seeded.models[0]
    expected = run.compare_versions((first, model), (second, model))
    page.goto(f"{viewer.url}/ui/runs/{viewer.seeded.run_id}")
    page.get_by_label("Compare").select_option(f"{first}|{model}")
    page.get_by_label("with").select_option(f"{second}|{model}")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_selector(".verdict-line")
    assert page.locator(".verdict-line").inner_text() == expected.verdict
    body = page.locator("main").inner_text()
    assert f"{len(expected.improved)} improved" in body
    assert f"{len(expected.regressed)} regressed" in body
    assert page.locator("details.change[open] pre.diff ins").count() > 0
    viewer.shot(page, "05-compare")


def test_keyboard_walks_the_cases(viewer: Viewer, page: Any) -> None:
    page.goto(f"{viewer.url}/ui/runs/{viewer.seeded.run_id}")
    expect(page.locator("#case-table[data-total]")).to_be_attached()  # the counted list
    page.wait_for_load_state()
    page.keyboard.press("j")
    page.keyboard.press("j")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "case-00001"
    page.keyboard.press("Enter")
    page.wait_for_selector("article.cell")
    assert page.locator("h1").inner_text().endswith("case-00001")


def test_a_prompt_history_and_a_diff(viewer: Viewer, page: Any) -> None:
    page.goto(f"{viewer.url}/ui/prompts")
    page.get_by_role("link", name=viewer.seeded.prompt).click()
    items = page.locator("ol.history > li")
    assert items.count() == 2
    assert "main" in items.first.inner_text() and "be terse" in items.first.inner_text()
    assert "capitals seeded" in items.first.inner_text()  # the run that evaluated it
    viewer.shot(page, "06-prompt")
    page.get_by_role("button", name="Show diff").click()
    page.wait_for_selector("pre.diff")
    assert "Name the capital city" in page.locator("pre.diff ins").first.inner_text()
    assert "Capital of" in page.locator("pre.diff del").first.inner_text()
    viewer.shot(page, "07-prompt-diff")


def _pass_rate(viewer: Viewer) -> float:
    report = httpx.get(f"{viewer.url}/v1/runs/{viewer.seeded.run_id}/report").json()
    first = viewer.seeded.versions[0]
    model = viewer.seeded.models[0]
    group = next(
        g for g in report["groups"] if g["prompt_version"] == first and g["model"] == model
    )
    return float(group["pass_rate"])


def test_annotate_a_cell_and_see_the_report_change(viewer: Viewer, page: Any) -> None:
    first, model = viewer.seeded.versions[0], viewer.seeded.models[0]
    records = viewer.engine.run(viewer.seeded.run_id).records()
    target = next(
        r
        for r in records
        if (r.prompt_version, r.model) == (first, model) and r.passed is False and not r.overridden
    )
    before = _pass_rate(viewer)
    page.goto(f"{viewer.url}/ui/runs/{viewer.seeded.run_id}/cases/{target.case_id}")
    cell = page.locator("article.cell").first  # the first group: first version, first model
    cell.get_by_label("pass").check()
    cell.get_by_label("Comment").fill("the model was right: the dataset is wrong")
    cell.get_by_role("button", name="Save feedback").click()
    page.wait_for_selector("ul.feedback")
    cell = page.locator("article.cell").first
    assert "overridden by feedback" in cell.inner_text()
    assert "the dataset is wrong" in cell.locator("ul.feedback").inner_text()
    viewer.shot(page, "08-annotated")
    graded = sum(
        1
        for r in records
        if (r.prompt_version, r.model) == (first, model) and (r.errored or r.passed is not None)
    )
    assert _pass_rate(viewer) == pytest.approx(before + 1 / graded)
    page.goto(f"{viewer.url}/ui/runs/{viewer.seeded.run_id}")
    matrix = page.locator("table.matrix tbody tr").first.locator("td").first.inner_text()
    assert re.search(r"\d+(\.\d)?%", matrix)
    assert f"{100 * (before + 1 / graded):.1f}%" in matrix
    page.get_by_role("link", name="HTML report").click()
    expect(page.locator("body")).to_contain_text("1 cell overridden")
    viewer.shot(page, "08b-report")


def test_a_form_without_its_token_is_refused(viewer: Viewer) -> None:
    first, model = viewer.seeded.versions[0], viewer.seeded.models[0]
    before = len(viewer.engine.run(viewer.seeded.run_id).feedbacks())
    refused = httpx.post(
        f"{viewer.url}/ui/runs/{viewer.seeded.run_id}/feedback",
        data={"case_id": "case-00000", "version": first, "model": model, "verdict": "fail"},
    )
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert len(viewer.engine.run(viewer.seeded.run_id).feedbacks()) == before


def test_a_run_not_read_yet_paints_its_first_cases_then_its_matrix(
    viewer: Viewer, page: Any
) -> None:
    from tests.browser.seeding import seed_run

    fresh = seed_run(viewer.engine, cases=60, prompt="lazy", seed=11)
    page.goto(f"{viewer.url}/ui/runs/{fresh.run_id}")
    expect(page.locator("table.matrix")).to_be_visible()
    expect(page.locator("#case-count")).to_contain_text("60 case(s)")
    expect(page.locator("#case-table")).to_have_attribute("data-total", "60")
    assert page.locator("a.case-link").first.inner_text() == "case-00000"
    assert page.locator("table.matrix tbody tr").count() == 2


def test_a_missing_case_is_a_readable_404_page(viewer: Viewer, browser: Any) -> None:
    page = browser.new_page()
    answer = page.goto(f"{viewer.url}/ui/runs/{viewer.seeded.run_id}/cases/no-such-case")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Resource not found")
    expect(page.get_by_role("alert")).to_have_text("no such case in this run")
    page.close()


def test_a_history_with_a_branch_a_merge_and_a_label(viewer: Viewer, page: Any) -> None:
    prompts = viewer.engine.prompts
    first = prompts.create("graph", "Answer {{q}}", message="start")
    prompts.branch("graph", "experiment")
    prompts.commit("graph", "Answer {{q}} briefly", branch="experiment", message="briefly")
    prompts.commit("graph", settings={"temperature": 0.2}, message="cooler")
    merged = prompts.merge("graph", "experiment", strategy="theirs", message="take briefly").version
    prompts.label("graph", "production", to=first.head)
    page.goto(f"{viewer.url}/ui/prompts/graph")
    items = page.locator("ol.history > li")
    assert items.count() == len(
        {v.id for b in ("main", "experiment") for v in prompts.log("graph", b)}
    )
    merge = page.locator("ol.history > li.merge")
    assert merge.count() == 1
    text = merge.inner_text()
    assert "take briefly" in text and "⎇ main" in text
    assert all(parent[:12] in text for parent in merged.parents) and len(merged.parents) == 2
    assert "label production" in items.last.inner_text()
    assert (
        "⎇ experiment"
        in page.locator("ol.history > li", has=page.get_by_text("briefly", exact=True)).inner_text()
    )
    viewer.shot(page, "12-prompt-merge")


def test_review_failures_by_keyboard(viewer: Viewer, page: Any) -> None:
    run = viewer.engine.run(viewer.seeded.run_id)
    page.goto(f"{viewer.url}/ui/runs/{viewer.seeded.run_id}?show=failed")
    # A case whose first cell (first version, first model) failed without an error.
    page.locator("tr.case-row:has(td:nth-child(4).v-fail) a.case-link").nth(1).click()
    page.wait_for_selector("article.cell")
    page.wait_for_load_state()  # viewer.js (deferred) listens for the keys
    current = page.locator("h1 .mono").inner_text()
    before = len(run.feedbacks())
    page.keyboard.press("1")  # the first cell passes
    page.keyboard.press("Enter")
    expect(page.locator("article.cell").first).to_contain_text("overridden by feedback")
    page.wait_for_load_state()
    given = [(f.case_id, f.verdict) for f in run.feedbacks()[before:]]
    assert given == [(current, "pass")]
    failing = [c for c in sorted(_failing_cases(viewer)) if c > current]
    page.keyboard.press("]")
    expect(page.locator("h1 .mono")).to_have_text(failing[0])
    assert "show=failed" in page.url
    page.wait_for_load_state()
    page.keyboard.press("[")
    expect(page.locator("h1 .mono")).not_to_have_text(failing[0])
