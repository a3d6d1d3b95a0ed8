"""Annotation queues in a real Chromium: make a queue from the page, work it by keyboard
(verdict, correction, submit; skip), see each annotator's progress, and answer a pairwise
item whose two outputs are shown in the order recorded for it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Viewer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

UNLABELLED = """[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
  .filter(field => field.labels.length === 0).map(field => field.name)"""


def test_make_a_queue_and_work_it_by_keyboard(viewer: Viewer, page: Any) -> None:
    run = viewer.engine.run(viewer.seeded.run_id)
    page.goto(f"{viewer.url}/ui/runs/{viewer.seeded.run_id}")
    page.get_by_role("link", name="Review in a queue").click()
    expect(page.get_by_label("Run", exact=True)).to_have_value(viewer.seeded.run_id)
    assert page.evaluate(UNLABELLED) == []
    page.get_by_label("Cells to review").select_option("failed")
    page.get_by_label("Sample (empty: every matching cell)").fill("3")
    page.get_by_label("Name").fill("triage")
    page.get_by_role("button", name="Make queue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("triage")
    queue = viewer.engine.queues.list()[0]
    assert (queue.name, queue.item_count, queue.filter.where) == ("triage", 3, "failed")
    page.wait_for_load_state()
    page.keyboard.press("n")  # work this queue
    expect(page.locator("#queue-answer")).to_be_visible()
    items = viewer.engine.queues.get(queue.id).items()
    expect(page.locator("#item-case")).to_have_text(items[0].case_id)
    viewer.shot(page, "14-queue-item")
    assert page.evaluate(UNLABELLED) == []  # every control has a label
    page.wait_for_load_state()
    page.keyboard.press("2")  # fail
    expect(page.get_by_label("fail (2)")).to_be_checked()
    page.keyboard.press("c")
    expect(page.get_by_label("Correction (what the output should have been)")).to_be_focused()
    page.keyboard.type("City0")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#item-case")).to_have_text(items[1].case_id)  # on to the next
    given = [f for f in run.feedbacks() if f.case_id == items[0].case_id]
    assert [(f.author, f.verdict, f.correction) for f in given] == [("local", "fail", "City0")]
    page.wait_for_load_state()
    page.keyboard.press("x")  # skip
    expect(page.locator("#item-case")).to_have_text(items[2].case_id)
    page.wait_for_load_state()
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#queue-done")).to_have_text("Nothing is left for you in this queue.")
    expect(page.locator("#queue-progress")).to_contain_text("2/3 items complete")
    row = page.locator("tr.annotator-row", has_text="local")
    expect(row.locator("td")).to_have_text(["2", "–", "1"])
    viewer.shot(page, "15-queue-progress")
    page.get_by_role("link", name="← Queues").click()
    listed = page.locator("tr.queue-row", has_text="triage")
    expect(listed).to_contain_text("2/3")
    expect(listed.locator(".annotator")).to_contain_text(re.compile(r"local 2 · 1 skipped"))
    viewer.shot(page, "16-queues")


def test_a_pairwise_item_shows_both_outputs_in_the_recorded_order(
    viewer: Viewer, page: Any
) -> None:
    queue = viewer.engine.queues.create(
        viewer.seeded.run_id, kind="pairwise", sample=6, seed=3, name="pairs"
    )
    items = queue.items()
    swapped = next(i for i in items if i.swapped)
    view = queue.item(swapped.position)
    page.goto(f"{viewer.url}/ui/queues/{queue.id}/items/{swapped.position}")
    left = page.locator("article.side-left pre.output")
    right = page.locator("article.side-right pre.output")
    expect(left).to_have_text(view.left.output or "—")
    expect(right).to_have_text(view.right.output or "—")
    assert view.left.prompt_version == viewer.seeded.versions[1]  # swapped: B on the left
    assert viewer.seeded.versions[0][:12] not in page.locator("main").inner_text()
    viewer.shot(page, "17-queue-pairwise")
    assert page.evaluate(UNLABELLED) == []
    page.wait_for_load_state()
    page.keyboard.press("1")  # the left one is better
    expect(page.get_by_label("left (1)")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator("#queue-answer")).to_be_visible()
    tally = queue.tally()
    assert (tally.wins_a, tally.wins_b, tally.ties) == (0, 1, 0)  # a left vote on a swap: B
