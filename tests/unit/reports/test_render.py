from __future__ import annotations

import json
import re
from typing import Any

from domain.reports import Comparison, Report, ResultRecord, compare_groups, summarize
from engine.reports import to_html, to_json, to_markdown

EVIL = "<script>alert('x')</script>"


def cell(case_id: str, passed: bool, **fields: Any) -> ResultRecord:
    values: dict[str, Any] = {
        "run_id": "run-1",
        "prompt_version": "v1",
        "model": "gpt-4o",
        "output": f"answer {case_id}",
        "score": float(passed),
        "latency_ms": 120.0,
        "prompt_tokens": 10,
        "completion_tokens": 4,
        "cost_usd": 0.001,
    }
    return ResultRecord(case_id=case_id, passed=passed, **(values | fields))


def results(output_b: str = "fine") -> list[ResultRecord]:
    a = [cell(f"c{i}", i % 2 == 0) for i in range(6)]
    b = [cell(f"c{i}", i != 4, prompt_version="v2", output=output_b) for i in range(6)]
    return a + b


def report_and_comparison(output_b: str = "fine") -> tuple[Report, Comparison]:
    rs = results(output_b)
    return summarize(rs), compare_groups(rs, a=("v1", "gpt-4o"), b=("v2", "gpt-4o"))


def test_json_of_a_report_has_kind_groups_and_totals() -> None:
    report, _ = report_and_comparison()

    document = json.loads(to_json(report))

    assert document["kind"] == "report"
    assert [g["prompt_version"] for g in document["groups"]] == ["v1", "v2"]
    assert document["groups"][0]["total_tokens"] == 84
    assert document["groups"][0]["pass_ci"] == list(report.groups[0].pass_ci or ())


def test_json_of_a_comparison_lists_changed_cases() -> None:
    _, comparison = report_and_comparison()

    document = json.loads(to_json(comparison))

    assert document["kind"] == "comparison"
    assert [c["case_id"] for c in document["improved"]] == ["c1", "c3", "c5"]
    assert document["verdict"] == comparison.verdict


def test_json_turns_non_finite_numbers_into_null() -> None:
    report = summarize([cell("c0", True, score=float("nan"))])

    assert json.loads(to_json(report))["groups"][0]["mean_score"] is None


def test_markdown_report_is_a_table_with_one_row_per_group() -> None:
    report, _ = report_and_comparison()

    lines = to_markdown(report).splitlines()

    assert lines[0].startswith("| Prompt version | Model | Cells |")
    assert set(lines[1].replace(" ", "")) == {"|", "-"}
    widths = {line.count(" | ") for line in lines[:4]}
    assert len(widths) == 1
    assert lines[2].startswith("| v1 | gpt-4o | 6 | 0 | 50.0% (3/6) |")
    assert lines[4:6] == ["", "**Failed cases (4)**"]  # the table ends after two groups


def test_markdown_escapes_pipes_and_tags_in_user_text() -> None:
    report = summarize([cell("c0", True, model="a|b <i>")])

    row = to_markdown(report).splitlines()[2]

    assert "a\\|b \\<i>" in row
    assert row.count(" | ") == to_markdown(report).splitlines()[0].count(" | ")


def test_markdown_comparison_has_verdict_metrics_and_cases() -> None:
    _, comparison = report_and_comparison()

    text = to_markdown(comparison)

    assert text.startswith(f"**{comparison.verdict}**")
    assert "| Pass rate | 50.0% | 83.3% | +33.3 pp |" in text
    assert "**Improved cases**\n\nc1 #0, c3 #0, c5 #0" in text


def significant_comparison() -> Comparison:
    a = [cell(f"c{i}", False) for i in range(30)]
    b = [cell(f"c{i}", True, prompt_version="v2") for i in range(30)]
    return compare_groups(a + b, a=("v1", "gpt-4o"), b=("v2", "gpt-4o"))


def test_markdown_prints_p_values_as_text_not_html_entities() -> None:
    comparison = significant_comparison()
    assert "p<0.001" in comparison.verdict

    text = to_markdown(comparison)

    assert "&lt;" not in text
    assert text.startswith(f"**{comparison.verdict}**")
    assert "McNemar p<0.001" in text


def test_markdown_leaves_a_lone_ampersand_but_escapes_entities_and_tags() -> None:
    report = summarize([cell("c0", True, model="R&D &amp; <b>x</b> 1 < 2")])

    row = to_markdown(report).splitlines()[2]

    assert "R&D \\&amp; \\<b>x\\</b> 1 < 2" in row


def test_html_escapes_p_values() -> None:
    comparison = significant_comparison()

    page = to_html(summarize([]), comparison, title="v2 vs v1")

    assert "p&lt;0.001" in page
    assert "p<0.001" not in page


def test_html_is_self_contained() -> None:
    report, comparison = report_and_comparison()

    page = to_html(report, comparison, title="v2 vs v1")

    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert "http" not in page
    assert not re.search(r"\b(src|href)=|@import|url\(", page)
    assert page.count("<svg") == 3
    assert "<style>" in page


def test_html_escapes_user_text_everywhere() -> None:
    rs = [cell("c0", True, model=EVIL), cell("c0", False, model=EVIL, prompt_version="v2")]
    rs += [cell("c1", True, output=EVIL, error=EVIL)]
    comparison = compare_groups(rs[:2], a=("v1", EVIL), b=("v2", EVIL))

    page = to_html(summarize(rs), comparison, title=EVIL)

    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page


def test_html_shows_outputs_of_changed_cases_escaped() -> None:
    report, comparison = report_and_comparison(output_b=EVIL)

    page = to_html(report, comparison)

    assert "Regressed cases (1)" in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert comparison.verdict in page


def test_html_pass_rate_chart_draws_ci_error_bars() -> None:
    report, _ = report_and_comparison()

    page = to_html(report)

    chart = page[page.index("<svg") : page.index("</svg>")]
    assert "Pass rate (95% Wilson CI)" in chart
    assert chart.count('class="error"') == 2


def test_html_shortens_content_hash_versions() -> None:
    version = "ab" * 32
    page = to_html(summarize([cell("c0", True, prompt_version=version)]))

    assert version not in page
    assert version[:12] in page


def _failing() -> Report:
    long_question = "why? " * 100
    return summarize(
        [
            cell("c1", True, variables={"q": "2+2"}, expected="4"),
            cell(
                "c2",
                False,
                variables={"q": long_question},
                expected="paris",
                output="I think it is Lyon " + "x" * 400,
                reasons={"icontains": "'paris' not found in the output"},
                queue_ms=300.0,
            ),
            cell("c3", False, output=None, score=None, error="timeout: no answer in 30 s"),
        ]
    )


def test_reports_list_failed_cases_with_case_expected_output_and_reasons() -> None:
    report = _failing()
    markdown, page = to_markdown(report), to_html(report)
    for text in (markdown, page):
        assert "Failed cases (2)" in text
        assert "paris" in text and "I think it is Lyon" in text
        assert "&#x27;paris&#x27; not found" in text or "'paris' not found" in text
        assert "timeout: no answer in 30 s" in text
        assert "x" * 400 not in text and "why? " * 100 not in text  # shortened
    assert "| c1 |" not in markdown  # the passing case is not listed
    document = json.loads(to_json(report))
    assert [c["case_id"] for c in document["failed_cases"]] == ["c2", "c3"]
    assert document["failed_cases"][0]["expected"] == "paris"
    assert document["groups"][0]["queue_p95_ms"] == 300.0


def test_failed_case_text_is_escaped() -> None:
    report = summarize([cell("c1", False, variables={"q": EVIL}, expected=EVIL, output=EVIL)])
    assert EVIL not in to_html(report) and EVIL not in to_markdown(report)


def test_reports_name_versions_by_number_and_label_when_told() -> None:
    names = {"v1": "v1", "v2": "v2 (production)"}
    rs = results()

    report = summarize(rs, names)
    comparison = compare_groups(rs, a=("v1", "gpt-4o"), b=("v2", "gpt-4o"), version_names=names)

    rows = to_markdown(report).splitlines()[2:4]
    assert [row.split(" | ")[0] for row in rows] == ["| v1", "| v2 (production)"]
    assert comparison.label_b == "v2 (production) on gpt-4o"
    assert json.loads(to_json(report))["groups"][1]["version_name"] == "v2 (production)"
    assert "<td>v2 (production)</td>" in to_html(report, comparison)
