"""`Run`: a handle on one evaluation run for notebooks, scripts and the CLI."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from domain.errors import ServiceUnavailableError
from domain.feedback import (
    FeedbackReport,
    as_effective,
    feedback_report,
    verdict_overrides,
    with_feedback,
)
from domain.flows import StepSummary, step_report
from domain.reports import Comparison, Report, compare, summarize
from engine.evaluation import streams
from engine.evaluation.corrections import corrections_to_dataset
from engine.evaluation.runs import CellFilters, CellKey, RunInfo

STALL_S = 5.0
"""Seconds without a progress event after which `wait` asks whether anyone works the run."""

if TYPE_CHECKING:
    from actors.scheduler_client import SchedulerClient
    from domain.feedback import Feedback, Verdict
    from domain.reports import ResultRecord
    from engine.evaluation.datasets import DatasetStore, VersionInfo
    from engine.evaluation.feedback import FeedbackStore
    from engine.evaluation.runs import RunStore
    from engine.sdk.prompts import Prompts


class RunService(Protocol):
    """What a `Run` needs of the evaluation service that made it (`Evaluations`)."""

    owner: str
    user: str
    runs: RunStore
    feedback: FeedbackStore
    datasets: DatasetStore
    prompts: Prompts
    redis: Any

    def scheduler(self) -> SchedulerClient: ...

    def ensure_worked(self, run_id: str) -> None: ...

    def cancel(self, run_id: str) -> Run: ...

    def resume(
        self,
        run_id: str,
        *,
        scorers: Sequence[Any] = ...,
        concurrency: int | None = ...,
        api_keys: Mapping[str, str] | None = ...,
        budget: float | None = ...,
    ) -> Run: ...


def _progress_bar() -> Any:
    """tqdm's notebook bar when ipywidgets can draw it, else the text bar.

    Without ipywidgets `tqdm.auto` in a notebook warns "IProgress not found" on every import
    (the `notebook` extra installs it).
    """
    from importlib.util import find_spec

    if find_spec("ipywidgets") is None:
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm


class Run:
    """A run started by `Engine.evaluate` (or found by id).

    Examples:
        >>> run = engine.evaluate(prompt="qa", dataset="qa-cases", models=["openai/sim-small"],
        ...                       scorers=["icontains"])                 # doctest: +SKIP
        >>> run.wait().status                                             # doctest: +SKIP
        'completed'
        >>> print(run.report("markdown"))                                 # doctest: +SKIP
    """

    def __init__(self, service: RunService, run_id: str, *, started: bool = False) -> None:
        self._service = service
        self.id = run_id
        self.started = started
        """Whether the call that made this handle started (or resumed) the run, so a
        scheduler works it now; False for a handle on a run found again."""

    def __repr__(self) -> str:
        return f"Run({self.id!r}, status={self.info().status.value!r})"

    def info(self) -> RunInfo:
        """The run as stored: spec, status, timestamps."""
        return self._service.runs.get(self._service.owner, self.id)

    @property
    def status(self) -> str:
        return self.info().status.value

    def progress(self) -> dict[str, Any] | None:
        """Live counters (`done`, `total`, `errors`, `cost_usd`, …) while the scheduler works
        the run; `None` when it does not (not started, stopped or finished) or cannot say."""
        return self._service.scheduler().progress(self.id)

    def recorded(self) -> int:
        """How many cells are recorded in the database so far."""
        return self._service.runs.recorded_count(self.id)

    def events(self, after: str = "0-0", block_ms: int = 1000) -> list[tuple[str, dict[str, Any]]]:
        """Progress events after stream id `after` (waits up to `block_ms` for new ones)."""
        redis: Any = self._service.redis
        try:
            reply = redis.xread({streams.events_stream(self.id): after}, count=1000, block=block_ms)
        except Exception as exc:
            if not _raised_by("redis.exceptions", "ConnectionError", exc):
                raise
            raise ServiceUnavailableError(
                "lost the engine's Redis: the engine working this run exited", reason="redis"
            ) from None
        return [
            (eid, streams.decode(fields)) for _, entries in reply or [] for eid, fields in entries
        ]

    def wait(self, *, progress: bool = True, timeout: float | None = None) -> RunInfo:
        """Block until the run stops, with a progress bar (notebook-aware) when `progress`.

        A run that makes no progress for a few seconds is checked with the scheduler: one it
        no longer works is continued (a restarted scheduler) or comes back `interrupted`
        (the process working it died), so this never waits on a run nobody works.

        Raises:
            ServiceUnavailableError: `timeout` seconds passed first, or the engine working
                the run died without stopping it (its Redis is gone and the run is not over).
        """
        info = self.info()
        tqdm = _progress_bar()
        bar = tqdm(total=info.total_cells, desc=self.id, unit="cell", disable=not progress)
        deadline = None if timeout is None else time.monotonic() + timeout
        last = "0-0"
        counters: dict[str, Any] = {}
        checked = quiet_since = time.monotonic()
        try:
            while not info.status.terminal():
                try:
                    batch = self.events(last)
                except ServiceUnavailableError:
                    # The engine that worked the run stopped with its Redis: a clean stop
                    # wrote the run's status first, and the database still has it.
                    info = self.info()
                    if info.status.terminal():
                        break
                    raise
                final = False
                for event_id, event in batch:
                    last = event_id
                    final = final or bool(event.get("final"))
                    if "done" in event:
                        bar.n = int(event["done"])
                    if "done" in event or "retries" in event:
                        counters.update(event)
                        bar.set_postfix_str(progress_postfix(counters), refresh=False)
                        bar.refresh()
                # The status lives in the database: read it when the run says it is over,
                # or once a second (a run stopped without an event), not after every batch.
                if final or not batch or time.monotonic() - checked >= 1.0:
                    info = self.info()
                    checked = time.monotonic()
                if batch:
                    quiet_since = time.monotonic()
                elif not info.status.terminal() and time.monotonic() - quiet_since >= STALL_S:
                    self._ensure_worked()
                    quiet_since = time.monotonic()
                    info = self.info()
                if deadline is not None and time.monotonic() > deadline:
                    raise ServiceUnavailableError(
                        f"run {self.id} still {info.status.value} after {timeout} s",
                        reason="timeout",
                    )
            bar.n = self._service.runs.recorded_count(self.id)
            bar.refresh()
        finally:
            bar.close()
        return info

    def _ensure_worked(self) -> None:
        try:
            self._service.ensure_worked(self.id)
        except Exception as exc:
            from actors.remote import is_ray_error

            if not is_ray_error(exc):
                raise
            # The scheduler is restarting: ask again after the next quiet spell.

    def results(self) -> Any:
        """Recorded results as a pandas DataFrame (needs the `pandas` extra)."""
        try:
            import pandas as pd
        except ImportError:
            raise ServiceUnavailableError(
                "results() needs pandas: pip install 'autoforge-nexus[pandas]' "
                "(or use records() for plain objects)",
                reason="missing-extra",
            ) from None
        rows = [
            {
                **r.__dict__,
                "tool_calls": [call.to_dict() for call in r.tool_calls],
                "effective_passed": r.effective_passed,
                "effective_score": r.effective_score,
            }
            for r in self.records()
        ]
        return pd.DataFrame(rows)

    def cells(
        self, filters: CellFilters | None = None, *, after: CellKey | None = None, limit: int = 50
    ) -> list[ResultRecord]:
        """Up to ``limit`` recorded cells after ``after`` that pass ``filters``, in key order
        (repeat, case, prompt version, model): a page of the results, filtered in the DB
        (``passed`` filters the effective verdict: people's override where one was given,
        else the scorers'), each with its people's overrides."""
        feedbacks = self.feedbacks()
        cells = self._service.runs.cells(
            self._service.owner, self.id, filters, after=after, limit=limit,
            overrides=verdict_overrides(feedbacks),
        )  # fmt: skip
        return with_feedback(cells, feedbacks) if cells else cells

    def records(self) -> list[ResultRecord]:
        """Recorded results as `ResultRecord`s: the scorers' ``passed`` and ``score``, and
        next to them ``overridden``, ``effective_passed`` and ``effective_score`` (a
        person's latest override, see `feedback`)."""
        records = self._service.runs.results(self._service.owner, self.id)
        return with_feedback(records, self.feedbacks()) if records else records

    def feedback(
        self,
        case_id: str,
        *,
        version: str | None = None,
        model: str | None = None,
        repeat: int = 0,
        verdict: Verdict | None = None,
        score: float | None = None,
        correction: str | None = None,
        comment: str | None = None,
        tags: Sequence[str] = (),
    ) -> Feedback:
        """Record your feedback on one recorded cell; results are never changed, and the
        latest verdict or score given overrides the scorers' in `records` and the report.

        Args:
            case_id: The cell's case.
            version: Its prompt version id (or a prefix); needed when the run has several.
            model: Its model; needed when the run has several.
            repeat: Its repeat index.
            verdict: ``"pass"`` or ``"fail"`` (alone, it also stands for a score of 1 or 0).
            score: A score within [0, 1].
            correction: What the output should have been.
            comment: Free text (changes no verdict).
            tags: Short labels.

        Raises:
            NotFoundError: no such recorded cell in this run.
            ValidationError: bad values, nothing to say, or an ambiguous cell.

        Examples:
            >>> run.feedback("c1", verdict="fail", comment="wrong capital")  # doctest: +SKIP
        """
        return self._service.feedback.add(
            self._service.owner,
            self.id,
            case_id,
            version=version,
            model=model,
            repeat=repeat,
            verdict=verdict,
            score=score,
            correction=correction,
            author=self._service.user,
            comment=comment,
            tags=tags,
        )

    def feedbacks(self) -> list[Feedback]:
        """Every feedback given on this run's cells, oldest first."""
        return self._service.feedback.for_run(self._service.owner, self.id)

    def corrections_to_dataset(
        self, dataset: str, *, include_failed: Sequence[str] = (), note: str = ""
    ) -> VersionInfo:
        """Add the run's corrected outputs (and the failing cases you pick) to ``dataset`` as
        its next immutable version; no version is ever changed.

        Each corrected case gets its cell's variables, its latest correction as ``expected``
        and ``metadata["provenance"]`` (run, prompt version, model, case, repeat, author,
        feedback time). The new version is the dataset's latest cases with a case of the same
        id replaced (its tags, scorers and other metadata kept) and the others appended; a
        dataset name that does not exist yet is created.

        Args:
            dataset: The dataset's name (created when missing) or id.
            include_failed: Ids of failing cases to add too: their correction when they have
                one, else their expected output as it is.
            note: The version's note (default: ``corrections from run <id>``).

        Returns:
            The new dataset version.

        Raises:
            NotFoundError: no such run, or no such dataset id.
            ValidationError: nothing to add (``nothing-to-add``), or a picked case is not in
                the run or did not fail.

        Examples:
            >>> run.feedback("c1", verdict="fail", correction="Paris")          # doctest: +SKIP
            >>> run.corrections_to_dataset("qa-cases").number                  # doctest: +SKIP
            2
        """
        return corrections_to_dataset(
            self._service.feedback,
            self._service.datasets,
            self._service.owner,
            self.id,
            dataset,
            include_failed=include_failed,
            note=note,
        )

    def feedback_page(
        self, *, after: tuple[str, str] | None = None, limit: int = 50
    ) -> list[tuple[tuple[str, str], Feedback]]:
        """Up to ``limit`` feedback after the cursor ``after`` (created at, id), oldest first,
        each with its cursor: a page of `feedbacks`."""
        self.info()  # another owner's run is not found
        return self._service.feedback.page(self.id, after=after, limit=limit)

    def summary(self) -> Report:
        """The report maths over every recorded result, versions named ``v3 (production)``;
        a person's override counts instead of the scorers' verdict and score."""
        return summarize([as_effective(r) for r in self.records()], self.version_names())

    def step_report(self) -> list[StepSummary]:
        """Per step of a flow run, per version and model: runs, errors and error rate,
        latency p50/p95, tokens, cost and the step's own scores (empty for a prompt run).

        Examples:
            >>> [s.step for s in run.step_report()]  # doctest: +SKIP
            ['classify', 'route', 'billing', 'general']
        """
        return step_report(self._service.runs.results(self._service.owner, self.id))

    def feedback_report(self) -> FeedbackReport:
        """What feedback changed (cells overridden, pass rate before and after) and how far
        each ``llm-judge`` scorer agrees with people's verdicts."""
        records = self._service.runs.results(self._service.owner, self.id)
        return feedback_report(records, self.feedbacks(), self.info().spec.scorers)

    def version_names(self) -> dict[str, str]:
        """How a person names each of the run's prompt versions (``v3 (production)``)."""
        spec = self.info().spec
        return self._service.prompts.version_names(spec.prompt_id, list(spec.prompt_versions))

    def report(
        self,
        fmt: Literal["json", "markdown", "html"] = "markdown",
        comparison: Comparison | None = None,
    ) -> str:
        """The run's report as JSON, Markdown or one self-contained HTML page (a flow run's
        page adds its per-step table and each cell's trace)."""
        from engine.reports import render

        cells = self._service.runs.results(self._service.owner, self.id) if fmt == "html" else []
        return render(
            self.summary(),
            fmt,
            comparison,
            title=f"Run {self.id}",
            feedback=self.feedback_report(),
            steps=step_report(cells),
            traces=cells,
        )

    def save_report(self, path: str | Path, comparison: Comparison | None = None) -> Path:
        """Write the HTML report to `path`; returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.report("html", comparison))
        return target

    def cancel(self) -> Run:
        """Stop the run; cells in flight finish and are recorded."""
        return self._service.cancel(self.id)

    def resume(
        self,
        *,
        scorers: Sequence[Any] = (),
        concurrency: int | None = None,
        api_keys: Mapping[str, str] | None = None,
        budget: float | None = None,
    ) -> Run:
        """Continue this run where it stopped (see `Engine.resume`)."""
        return self._service.resume(
            self.id, scorers=scorers, concurrency=concurrency, api_keys=api_keys, budget=budget
        )

    def compare_versions(self, a: tuple[str, str], b: tuple[str, str]) -> Comparison:
        """Paired comparison of two (prompt version, model) groups within this run."""
        from domain.reports import compare_groups

        cells = [as_effective(r) for r in self.records()]
        return compare_groups(cells, a=a, b=b, version_names=self.version_names())


def _raised_by(module: str, name: str, exc: Exception) -> bool:
    """Whether `exc` is `module.name`, asked without importing it: a process that never
    loaded Ray (one that joined a running engine) cannot have raised Ray's errors."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(exc, getattr(loaded, name))


def progress_postfix(event: dict[str, Any]) -> str:
    """The progress line's tail for a progress event: its counters, or why the run stopped.

    Examples:
        >>> progress_postfix({"done": 3, "errors": 1, "retries": 2, "cost_usd": 0.01234})
        'errors=1, retries=2, cost=$0.0123'
    """
    if event.get("message"):
        return str(event["message"])
    return (
        f"errors={event.get('errors', 0)}, retries={event.get('retries', 0)}, "
        f"cost=${event.get('cost_usd', 0):.4f}"
    )


def compare_runs(a: Run, b: Run) -> Comparison:
    """Paired comparison of two runs on the same cases (each must hold one version × model),
    on the effective verdicts and scores (people's overrides win), as reports count them."""
    effective_a, effective_b = ([as_effective(r) for r in run.records()] for run in (a, b))
    return compare(effective_a, effective_b, label_a=a.id, label_b=b.id)
