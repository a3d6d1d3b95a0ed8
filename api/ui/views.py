"""What each page shows, read through the SDK as the signed-in user (the same services the
JSON API uses): runs with their summaries, a run's matrix and cases, comparisons, a prompt's
history and an optimization's progress."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.ui.cases import Case, CaseIndex, Group, IndexCache, Show, index_cases
from domain.feedback import as_effective, with_feedback
from domain.reports import (
    Comparison,
    GroupSummary,
    Report,
    ResultRecord,
    compare_groups,
    summarize,
)
from engine.evaluation.runs import RunInfo
from engine.prompts.models import PromptInfo, PromptVersion
from engine.sdk import Engine, Run

_CACHE = IndexCache()
_RECORDS = IndexCache()


@dataclass(frozen=True)
class RunData:
    """A run as the viewer shows it: stored info, what is recorded, its report and cases."""

    info: RunInfo
    recorded: int
    report: Report
    index: CaseIndex
    names: dict[str, str]
    records: list[ResultRecord]
    summarised: bool = True
    """Whether ``report`` covers every recorded cell (else it is empty: not read yet)."""

    @property
    def percent(self) -> int:
        total = self.info.total_cells
        return 100 if total == 0 else min(100, round(100 * self.recorded / total))

    @property
    def versions(self) -> list[str]:
        return list(dict.fromkeys(v for v, _ in self.index.groups)) or list(
            self.info.spec.prompt_versions
        )

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(m for _, m in self.index.groups)) or list(self.info.spec.models)

    def group(self, version: str, model: str) -> GroupSummary | None:
        for group in self.report.groups:
            if (group.prompt_version, group.model) == (version, model):
                return group
        return None

    def label(self, group: Group) -> str:
        version, model = group
        return f"{self.names.get(version, version[:12])} · {model}"

    @property
    def pass_rate(self) -> float | None:
        graded = sum(g.n_graded for g in self.report.groups)
        return None if graded == 0 else sum(g.n_passed for g in self.report.groups) / graded

    @property
    def cost_usd(self) -> float:
        return sum(g.cost_usd for g in self.report.groups)


def run_data(engine: Engine, run_id: str, *, read: bool = True) -> RunData | None:
    """The run, its report and case index, read once per change of its cells or feedback;
    ``None`` when that needs a read and ``read`` is off.

    Feedback is append-only, so records read before the latest feedback are brought up to
    date by applying every feedback again (`with_feedback`), not by reading them again.

    Raises:
        NotFoundError: no such run of the signed-in user.
    """
    run = engine.run(run_id)
    info = run.info()
    recorded = run.recorded()
    feedbacks = run.feedbacks()
    read_key = (engine.owner, run_id, recorded, info.status.value)
    key = (*read_key, len(feedbacks))
    cached = _CACHE.get(key)
    if cached is None:
        stale = _RECORDS.get(read_key)
        if stale is None and not read:
            return None
        records = run.records() if stale is None else with_feedback(stale, feedbacks)
        _RECORDS.put(read_key, records, len(records))
        names = run.version_names()
        report = summarize([as_effective(r) for r in records], names)
        cached = (report, index_cases(records, _order(info)), names, records)
        _CACHE.put(key, cached, len(records))
    report, index, names, records = cached
    return RunData(info, recorded, report, index, names, records)


def full_run_data(engine: Engine, run_id: str) -> RunData:
    """`run_data`, reading the run when needed."""
    data = run_data(engine, run_id)
    assert data is not None
    return data


LIST_READ_LIMIT = 2_000
"""The runs list reads a run it has not summarised yet only up to this many cells; a larger
one shows its pass rate and cost once opened (or after any page read it)."""


def list_row(engine: Engine, info: RunInfo) -> RunData:
    """A run as the runs list shows it: summarised when cached or small enough to read."""
    recorded = engine.run(info.id).recorded()
    data = run_data(engine, info.id, read=recorded <= LIST_READ_LIMIT)
    if data is not None:
        return data
    return RunData(info, recorded, Report(()), CaseIndex((), ()), {}, [], summarised=False)


def first_cases(engine: Engine, run_id: str, cases: int) -> RunData:
    """The run with only its first ``cases`` cases (a page read from the database, no
    report): what the run view paints while the whole run is read."""
    run = engine.run(run_id)
    info = run.info()
    order = _order(info)
    records = run.cells(limit=cases * max(1, len(order)))
    names = run.version_names()
    return RunData(info, run.recorded(), Report(()), index_cases(records, order), names, records)


def _order(info: RunInfo) -> list[Group]:
    return [(v, m) for v in info.spec.prompt_versions for m in info.spec.models]


def neighbours(
    data: RunData, case_id: str, repeat: int, show: Show, query: str
) -> tuple[Case, Case | None, Case | None] | None:
    """The case, and the cases before and after it that the filter keeps (the case itself
    need not be kept: an annotation may just have taken it out); ``None``: no such case."""
    kept = {(c.repeat, c.case_id) for c in data.index.select(show, query)}
    cases = data.index.cases
    at = next((i for i, c in enumerate(cases) if (c.repeat, c.case_id) == (repeat, case_id)), None)
    if at is None:
        return None
    before = next((c for c in reversed(cases[:at]) if (c.repeat, c.case_id) in kept), None)
    after = next((c for c in cases[at + 1 :] if (c.repeat, c.case_id) in kept), None)
    return cases[at], before, after


def compare_in_run(data: RunData, a: Group, b: Group) -> Comparison:
    """Two groups of one run paired on its cases (as `Run.compare_versions`, on the records
    already read)."""
    return compare_groups(data.records, a=a, b=b, version_names=data.names)


def prompt_names(engine: Engine, runs: Sequence[RunInfo]) -> dict[str, str]:
    """Prompt id → name for the prompts of ``runs`` (unknown ids are left out)."""
    names: dict[str, str] = {}
    for prompt in engine.prompts.list(limit=1000):
        names[prompt.id] = prompt.name
    return {
        info.spec.prompt_id: names[info.spec.prompt_id]
        for info in runs
        if info.spec.prompt_id in names
    }


def run_of(engine: Engine, run_id: str) -> Run:
    """The SDK handle of one of the user's runs."""
    return engine.run(run_id)


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "same" or "hunk"
    text: str


def diff_lines(old: str | None, new: str | None) -> list[DiffLine]:
    """A line diff of two texts, for `<del>`/`<ins>` rendering."""
    lines: list[DiffLine] = []
    for line in difflib.ndiff((old or "").splitlines(), (new or "").splitlines()):
        tag, text = line[:2], line[2:]
        if tag == "? ":
            continue
        kind = {"+ ": "add", "- ": "del"}.get(tag, "same")
        lines.append(DiffLine(kind, text))
    return lines


def unified_lines(text: str) -> list[DiffLine]:
    """A unified diff (as `VersionDiff` holds) split into kinds of line."""
    out: list[DiffLine] = []
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            continue
        if line.startswith(("@@", "\\")):  # a hunk header, or "\ No newline at end of file"
            out.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            out.append(DiffLine("add", line[1:]))
        elif line.startswith("-"):
            out.append(DiffLine("del", line[1:]))
        else:
            out.append(DiffLine("same", line[1:]))
    return out


@dataclass(frozen=True)
class HistoryEntry:
    """One version in a prompt's history, with the refs at it and the runs that used it."""

    version: PromptVersion
    branches: list[str]
    labels: list[str]
    runs: list[RunInfo]
    lanes: list[str]


def history(engine: Engine, prompt: str, limit: int = 200) -> tuple[PromptInfo, list[HistoryEntry]]:
    """Every version reachable from the prompt's branches, newest first, with its refs and
    the user's runs that evaluated it (the newest 500 runs)."""
    info = engine.prompts.get(prompt)
    versions: dict[str, PromptVersion] = {}
    reached_by: dict[str, list[str]] = {}
    for branch in sorted(info.branches, key=lambda b: (b != "main", b)):
        for version in engine.prompts.log(info.id, branch, limit=limit):
            versions.setdefault(version.id, version)
            reached_by.setdefault(version.id, []).append(branch)
    # A merged branch may be gone: its side of each merge is reached from the merge's parents.
    pending = [p for v in list(versions.values()) for p in v.parents[1:] if p not in versions]
    while pending and len(versions) < 4 * limit:
        for version in engine.prompts.log(info.id, pending.pop(), limit=limit):
            if version.id in versions:
                break
            versions[version.id] = version
            pending += [p for p in version.parents[1:] if p not in versions]
    runs_of: dict[str, list[RunInfo]] = {}
    for run in engine.runs(limit=500):
        if run.spec.prompt_id == info.id:
            for version_id in run.spec.prompt_versions:
                runs_of.setdefault(version_id, []).append(run)
    entries = [
        HistoryEntry(
            version=version,
            branches=sorted(b for b, head in info.branches.items() if head == version.id),
            labels=sorted(name for name, at in info.labels.items() if at == version.id),
            runs=runs_of.get(version.id, []),
            lanes=reached_by.get(version.id, []),
        )
        for version in sorted(versions.values(), key=lambda v: v.number, reverse=True)
    ]
    return info, entries


def template_of(version: PromptVersion) -> str:
    from domain.prompts.diff import settings_text, template_text

    return template_text(version.template) + "\n\n" + settings_text(version.settings)


def optimization_data(engine: Engine, optimization_id: str) -> dict[str, Any]:
    """The optimization's report document (as `Optimization.report_data`)."""
    return engine.optimization(optimization_id).report_data()
