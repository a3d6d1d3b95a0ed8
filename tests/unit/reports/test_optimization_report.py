"""The optimization report from hand-built report data (the shape `report_data()` returns)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from domain.errors import ValidationError
from engine.reports import render_optimization
from engine.reports._optimization_rows import trajectory_rows

EVIL = "<script>alert('x')</script>"
BEST = "ab" * 32
BASE = "cd" * 32


def candidate(cid: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": cid,
        "version": f"{cid}-version",
        "parent_ids": ["c0"],
        "kind": "mutation",
        "rationale": f"rationale of {cid}",
        "accepted": True,
        "minibatch_score": 6.0,
        "parent_minibatch_score": 2.0,
        "val_score": 0.5,
        "calls_at": 40,
        "system": "",
        "template": "What is {{a}} {{op}} {{b}}?",
    }
    return values | fields


def data(**changes: Any) -> dict[str, Any]:
    info = {
        "id": "opt_1a2b3c",
        "owner": "alice",
        "name": "arithmetic",
        "status": "completed",
        "prompt_id": "prm_1",
        "prompt_name": "calc",
        "optimizer": "gepa",
        "models": ["openai/sim-small"],
        "reflection_model": "openai/sim-reflector",
        "branch": "opt/opt_1a2b3c",
        "baseline_version": BASE,
        "best_candidate": "c2",
        "best_version": BEST,
        "baseline_val_score": 0.2,
        "best_val_score": 0.9,
        "calls": 180,
        "max_metric_calls": 200,
        "reflection_calls": 4,
        "judge_calls": 0,
        "test_calls": 50,
        "cost_usd": 0.0123,
        "budget_usd": 1.0,
        "candidates": 4,
        "front_size": 2,
        "generation": 3,
        "error": None,
        "promoted": None,
        "config": {"alpha": 0.05},
    }
    document: dict[str, Any] = {
        "optimization": info,
        "trajectory": [
            {"calls": 0, "best_val_score": 0.2, "candidate": "c0"},
            {"calls": 40, "best_val_score": 0.55, "candidate": "c1"},
            {"calls": 70, "best_val_score": 0.55, "candidate": "c1"},
            {"calls": 120, "best_val_score": 0.9, "candidate": "c2"},
            {"calls": 180, "best_val_score": 0.9, "candidate": "c2"},
        ],
        "candidates": [
            candidate(
                "c0",
                version=BASE,
                parent_ids=[],
                kind="baseline",
                rationale="",
                accepted=None,
                minibatch_score=None,
                parent_minibatch_score=None,
                val_score=0.2,
                calls_at=0,
            ),  # fmt: skip
            candidate("c1", val_score=0.55),
            candidate(
                "c2",
                version=BEST,
                parent_ids=["c1"],
                val_score=0.9,
                calls_at=120,
                rationale="state the output format | answer with the number only",
            ),  # fmt: skip
            candidate(
                "c3",
                parent_ids=["c2"],
                accepted=False,
                minibatch_score=3.0,
                parent_minibatch_score=5.0,
                val_score=None,
                calls_at=150,
            ),  # fmt: skip
        ],
        "front": ["c1", "c2"],
        "diff": {
            "baseline": {"system": "", "template": "What is {{a}} {{op}} {{b}}?"},
            "best": {"system": "Answer with the number only.", "template": "same"},
            "unified": "--- baseline\n+++ best\n@@ -1 +1 @@\n-\n+Answer with the number only.",
        },
        "test": {
            "n": 25,
            "baseline_score": 0.2,
            "best_score": 0.88,
            "b": 1,
            "c": 18,
            "p_value": 0.00014,
            "wins": ["t1", "t2"],
            "losses": ["t3"],
            "cases": [
                {
                    "case_id": "t1",
                    "variables": {"a": 2, "op": "+", "b": 2},
                    "expected": "4",
                    "baseline_output": "The answer is 4.",
                    "best_output": "4",
                    "baseline_score": 0.0,
                    "best_score": 1.0,
                },  # fmt: skip
                {
                    "case_id": "t2",
                    "variables": {"a": 3, "op": "*", "b": 3},
                    "expected": "9",
                    "baseline_output": "Nine",
                    "best_output": "9",
                    "baseline_score": 0.0,
                    "best_score": 1.0,
                },  # fmt: skip
                {
                    "case_id": "t3",
                    "variables": {"a": 1, "op": "-", "b": 1},
                    "expected": "0",
                    "baseline_output": "0",
                    "best_output": "zero",
                    "baseline_score": 1.0,
                    "best_score": 0.0,
                },  # fmt: skip
            ],
        },
        "cost": {
            "candidates": 0.008,
            "reflection": 0.002,
            "judges": 0.0,
            "test": 0.0023,
            "total": 0.0123,
        },  # fmt: skip
    }
    for key, value in changes.items():
        if key in info:
            info[key] = value
        else:
            document[key] = value
    return document


def test_json_is_the_report_data_with_its_kind() -> None:
    source = data()

    document = json.loads(render_optimization(source, "json"))

    assert document.pop("kind") == "optimization"
    assert document == source


def test_json_turns_non_finite_numbers_into_null() -> None:
    source = data(best_val_score=float("nan"))

    document = json.loads(render_optimization(source, "json"))

    assert document["optimization"]["best_val_score"] is None


def test_markdown_heads_with_the_outcome_and_a_summary() -> None:
    text = render_optimization(data(), "markdown")

    lines = text.splitlines()
    assert lines[0] == "# Optimization opt_1a2b3c (arithmetic)"
    assert lines[2].startswith("**Significant improvement on the test split (p<0.001")
    assert "| Validation score | 0.200 → 0.900 |" in text
    assert "| Metric calls (used / max) | 180 / 200 |" in text
    assert "| Cost (used / budget) | $0.0123 / $1.0000 |" in text


def test_markdown_trajectory_keeps_only_the_changes_and_the_end() -> None:
    text = render_optimization(data(), "markdown")

    section = text[text.index("## Best validation") : text.index("## Pareto")]
    rows = [line for line in section.splitlines() if re.match(r"\| \d", line)]
    assert rows == [
        "| 0 | 0.200 | c0 |",
        "| 40 | 0.550 | c1 |",
        "| 120 | 0.900 | c2 |",
        "| 180 | 0.900 | c2 |",
    ]


def test_a_long_trajectory_is_cut_to_its_limit_keeping_first_and_last() -> None:
    trajectory = [
        {"calls": i * 10, "best_val_score": i / 100, "candidate": f"c{i}"} for i in range(60)
    ]

    rows = trajectory_rows(data(trajectory=trajectory), limit=5)

    assert [row[0] for row in rows] == ["0", "150", "300", "440", "590"]


def test_markdown_lineage_front_and_decisions() -> None:
    text = render_optimization(data(), "markdown")

    assert "## Pareto front (2)" in text and "## Lineage (4 candidates)" in text
    front = text[text.index("## Pareto front") : text.index("## Lineage")]
    assert front.index("| c2 |") < front.index("| c1 |")  # best first
    assert "| c0 | – | baseline | baseline | – | 0.200 | 0 | cdcdcdcdcdcd |" in text
    assert "| c2 | c1 | mutation | accepted | 2.00 → 6.00 | 0.900 | 120 | abababababab |" in text
    assert "| c3 | c2 | mutation | rejected | 5.00 → 3.00 | – | 150 |" in text
    assert "state the output format \\| answer with the number only" in text


def test_markdown_diff_is_fenced_and_user_backticks_cannot_close_it() -> None:
    diff = {"unified": "--- baseline\n+++ best\n-x\n+say ```json``` and ````"}
    text = render_optimization(data(diff=diff), "markdown")

    assert "`````diff\n--- baseline\n+++ best\n-x\n+say ```json``` and ````\n`````" in text


def test_markdown_lists_test_wins_then_losses_and_the_cost_split() -> None:
    text = render_optimization(data(), "markdown")

    assert "25 held-out cases: baseline 0.200, best 0.880; best wins 2, loses 1" in text
    outcomes = re.findall(r"^\| (t\d) \| (win|loss) \|", text, re.MULTILINE)
    assert outcomes == [("t1", "win"), ("t2", "win"), ("t3", "loss")]
    assert (
        '| t1 | win | {"a": 2, "op": "+", "b": 2} | 4 | The answer is 4. | 4 | 0.000 → 1.000 |'
        in text
    )
    for row in (
        "| Candidate evaluations | $0.0080 |",
        "| Reflection calls | $0.0020 |",
        "| Judge calls | $0.0000 |",
        "| Test split (baseline and best) | $0.0023 |",
        "| Total | $0.0123 |",
    ):
        assert row in text


def test_without_significance_the_report_says_no_label_moves() -> None:
    source = data()
    source["test"].update(p_value=0.22, wins=["t1"], losses=["t3"], b=1, c=1)

    for fmt in ("markdown", "html"):
        text = render_optimization(source, fmt)  # type: ignore[arg-type]
        assert "No significant improvement on the test split (p=0.22, α = 0.05)" in text
        assert "no label moves" in text


def test_more_losses_than_wins_is_not_an_improvement_even_when_significant() -> None:
    source = data()
    source["test"].update(p_value=0.001, wins=[], losses=["t1", "t2", "t3"])

    assert "No significant improvement" in render_optimization(source, "markdown")


def test_a_promotion_names_its_label_version_and_p_value() -> None:
    promoted = {"label": "production", "version": BEST, "p_value": 0.0004, "at": "2026-12-02"}

    text = render_optimization(data(promoted=promoted), "markdown")

    assert "**Promoted: label production now points to abababababab (p<0.001).**" in text


def test_a_running_optimization_with_only_its_baseline_renders() -> None:
    source = data(status="running", best_candidate="c0", best_version=BASE, test=None)
    source.update(trajectory=source["trajectory"][:1], candidates=source["candidates"][:1],
                  front=["c0"], diff={"unified": ""})  # fmt: skip

    text = render_optimization(source, "markdown")
    page = render_optimization(source, "html")

    assert (
        "The best candidate is the baseline." in text
        and "The best candidate is the baseline." in page
    )
    assert "test split has not been evaluated yet" in text
    assert "Not promoted: the test split has not been evaluated yet." in text
    assert page.count("<circle") == 1


def test_html_is_self_contained_with_one_trajectory_chart() -> None:
    page = render_optimization(data(), "html")

    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert "http" not in page
    assert not re.search(r"\b(src|href)=|@import|url\(", page)
    assert page.count("<svg") == 1 and "<style>" in page
    chart = page[page.index("<svg") : page.index("</svg>")]
    assert chart.count("<circle") == 4  # the best changed twice, and the end
    assert "<title>c2: 0.900 after 120 calls</title>" in chart
    assert 'class="verdict winner"' in page


def test_html_marks_diff_lines() -> None:
    page = render_optimization(data(), "html")

    assert '<span class="add">+Answer with the number only.</span>' in page
    assert '<span class="del">-</span>' in page
    assert '<span class="hunk">@@ -1 +1 @@</span>' in page


def test_html_escapes_user_text_everywhere() -> None:
    source = copy.deepcopy(data(name=EVIL, prompt_name=EVIL, error=EVIL, models=[EVIL]))
    for c in source["candidates"]:
        c.update(rationale=EVIL, id=c["id"])
    source["trajectory"][1]["candidate"] = EVIL
    source["diff"]["unified"] = f"--- baseline\n+++ best\n+{EVIL}"
    for case in source["test"]["cases"]:
        case.update(variables={"q": EVIL}, expected=EVIL, baseline_output=EVIL, best_output=EVIL)

    page = render_optimization(source, "html")
    text = render_optimization(source, "markdown")

    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    before, code, after = text.split("```")  # inside a code block, text is shown as typed
    assert EVIL not in before + after and "\\<script>" in before
    assert code == f"diff\n--- baseline\n+++ best\n+{EVIL}\n"


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        render_optimization(data(), "pdf")  # type: ignore[arg-type]

    assert caught.value.details["reason"] == "unknown-format"
