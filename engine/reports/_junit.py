"""JUnit XML for CI: a test suite per prompt version × model, a test case per cell, and a
suite of the run's gates, so a CI test view lists what failed and why."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Mapping, Sequence

from domain.reports import GateResult, ResultRecord
from engine.reports._format import clip, short_version

GATES_SUITE = "autoforge gates"
TEXT_LIMIT = 2000
# XML 1.0 cannot hold most control characters at all, escaped or not; a model may answer them.
_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def to_junit(
    records: Sequence[ResultRecord],
    gates: Sequence[GateResult],
    *,
    version_names: Mapping[str, str] | None = None,
    name: str = "autoforge eval",
) -> str:
    """The run as a JUnit XML document.

    An errored cell is an ``<error>``, a failed one a ``<failure>`` whose message holds the
    scorers' reasons, an ungraded one (no scorer gives a verdict) ``<skipped>``; a failed
    gate is a ``<failure>`` in the ``autoforge gates`` suite.

    Examples:
        >>> to_junit(run.records(), gates, version_names=run.version_names())  # doctest: +SKIP
    """
    names = version_names or {}
    root = ET.Element("testsuites", name=name)
    groups: dict[tuple[str, str], list[ResultRecord]] = defaultdict(list)
    for record in records:
        groups[(record.prompt_version, record.model)].append(record)
    for (version, model), cells in sorted(groups.items()):
        suite_name = f"{names.get(version) or short_version(version)} on {model}"
        suite = _suite(root, _safe(suite_name))
        for cell in sorted(cells, key=lambda r: (r.case_id, r.repeat)):
            _cell_case(suite, _safe(suite_name), cell)
        _count(suite)
    if gates:
        suite = _suite(root, GATES_SUITE)
        for gate in gates:
            case = ET.SubElement(suite, "testcase", name=gate.name, classname=GATES_SUITE, time="0")
            if not gate.passed:
                message = f"{gate.actual} (needs {gate.threshold})"
                failure = ET.SubElement(case, "failure", message=message, type="gate")
                failure.text = _safe(gate.detail)
        _count(suite)
    _count(root)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _safe(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _suite(root: ET.Element, name: str) -> ET.Element:
    return ET.SubElement(root, "testsuite", name=name)


def _cell_case(suite: ET.Element, classname: str, cell: ResultRecord) -> None:
    name = _safe(cell.case_id if cell.repeat == 0 else f"{cell.case_id} #{cell.repeat}")
    seconds = (cell.latency_ms or 0.0) / 1000
    case = ET.SubElement(suite, "testcase", name=name, classname=classname, time=f"{seconds:.3f}")
    if cell.error is not None:
        error = ET.SubElement(case, "error", message=_safe(clip(cell.error, 500)), type="error")
        error.text = _details(cell)
    elif cell.passed is False:
        reasons = "; ".join(f"{n}: {r}" for n, r in cell.reasons.items()) or "failed"
        failure = ET.SubElement(case, "failure", message=_safe(clip(reasons, 500)), type="scorers")
        failure.text = _details(cell)
    elif cell.passed is None:
        ET.SubElement(case, "skipped", message="no scorer gives a verdict")


def _details(cell: ResultRecord) -> str:
    lines = [
        f"variables: {json.dumps(dict(cell.variables), ensure_ascii=False, default=str)}",
        f"expected: {cell.expected if cell.expected is not None else '–'}",
        f"output: {clip(cell.output, TEXT_LIMIT)}",
        *(f"{name}: {reason}" for name, reason in cell.reasons.items()),
        *([f"error: {cell.error}"] if cell.error is not None else []),
    ]
    return _safe("\n".join(lines))


def _count(element: ET.Element) -> None:
    cases = element.iter("testcase")
    tests = failures = errors = skipped = 0
    seconds = 0.0
    for case in cases:
        tests += 1
        failures += case.find("failure") is not None
        errors += case.find("error") is not None
        skipped += case.find("skipped") is not None
        seconds += float(case.get("time", "0"))
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", str(errors))
    element.set("skipped", str(skipped))
    element.set("time", f"{seconds:.3f}")
