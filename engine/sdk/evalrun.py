"""Running an eval file (or the demo): make sure its prompt versions and dataset exist,
reusing what is unchanged, then evaluate every version on every model and report."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.datasets import content_hash
from domain.errors import NotFoundError
from domain.prompts import Template
from domain.reports import Comparison, ResultRecord, compare_groups
from engine.evaluation.datasets import Format, case_from_row
from engine.evaluation.evalfile import EvalFile, FlowVersionSpec, PromptVersionSpec

if TYPE_CHECKING:
    from engine.sdk import Engine
    from engine.sdk.run import Run


@dataclass(frozen=True)
class EvalOutcome:
    """A finished eval: the run, per-model comparisons of the last version against the first,
    and where the HTML report was written."""

    run: Run
    comparisons: tuple[Comparison, ...]
    report_path: Path


def _template(spec: PromptVersionSpec) -> Template:
    from engine.prompts.inputs import as_template

    messages = spec.as_messages()
    return as_template(messages if messages is not None else spec.template or "")


def ensure_prompt_versions(
    engine: Engine, name: str, specs: Sequence[PromptVersionSpec]
) -> list[str]:
    """Version ids for `specs`, committing only versions whose content is new."""
    try:
        engine.prompts.get(name)
    except NotFoundError:
        first = specs[0]
        engine.prompts.create(
            name, _template(first), settings=first.settings or None, message=first.message
        )
    log = engine.prompts.log(name, limit=500)
    existing = {_key(v.template, v.settings.to_dict()): v.id for v in log}
    ids: list[str] = []
    for spec in specs:
        head = engine.prompts.head(name)
        template = _template(spec)
        settings = {**head.settings.to_dict(), **spec.settings}
        match = existing.get(_key(template, settings))
        if match is None:
            committed = engine.prompts.commit(
                name, template, settings=spec.settings or None, message=spec.message
            )
            existing[_key(committed.template, committed.settings.to_dict())] = committed.id
            match = committed.id
        ids.append(match)
    return ids


def ensure_prompts(engine: Engine, texts: Mapping[str, str]) -> None:
    """Make each prompt's ``main`` hold its text: create it, or commit when it changed."""
    for name, text in texts.items():
        try:
            head = engine.prompts.head(name)
        except NotFoundError:
            engine.prompts.create(name, text, message="from eval file")
            continue
        if head.template != Template.from_text(text):
            engine.prompts.commit(name, text, message="from eval file")


def ensure_flow_versions(engine: Engine, name: str, specs: Sequence[FlowVersionSpec]) -> list[str]:
    """Version ids for flow ``specs``, committing only flows whose content is new."""
    from domain.flows import Flow

    def key(flow: Flow) -> str:
        return json.dumps(flow.to_dict(), sort_keys=True)

    try:
        engine.flows.key(name)
    except NotFoundError:
        engine.flows.create(name, specs[0].flow, message=specs[0].message)
    existing = {key(v.flow): v.id for v in engine.flows.history(name, limit=500)}
    ids: list[str] = []
    for spec in specs:
        flow = Flow.from_dict(spec.flow)
        match = existing.get(key(flow))
        if match is None:
            match = engine.flows.commit(name, flow, message=spec.message).id
            existing[key(flow)] = match
        ids.append(match)
    return ids


def _key(template: Template, settings: dict[str, Any]) -> str:
    return json.dumps([template.to_dict(), settings], sort_keys=True, default=str)


def ensure_dataset(engine: Engine, name: str, rows: Sequence[dict[str, Any]]) -> int:
    """The dataset version holding exactly `rows`, adding a version only when they changed."""
    cases = [case_from_row(r) for r in rows]
    if not engine.datasets.exists(name):
        engine.datasets.create(name)
    else:
        latest = engine.datasets.get(name).latest_version
        if latest and engine.datasets.version(name).content_hash == content_hash(cases):
            return latest
    return engine.datasets.add(name, cases).number


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Dataset rows from a JSONL or CSV file, validated by the domain parsers."""
    from engine.evaluation.datasets import parse_dataset

    fmt: Format = "csv" if path.suffix.lower() == ".csv" else "jsonl"
    parsed = parse_dataset(path.read_text(encoding="utf-8-sig"), fmt)
    return [c.to_dict() for c in parsed.cases]


def eval_rows(spec: EvalFile) -> list[dict[str, Any]]:
    """An eval's dataset rows: its dataset file's, or an imported suite's in-memory cases."""
    if spec.dataset_path is None:
        return [case.to_dict() for case in spec.cases]
    return read_rows(spec.dataset_path)


def run_eval(
    engine: Engine,
    *,
    prompt: str,
    versions: Sequence[PromptVersionSpec],
    dataset: str,
    rows: Sequence[dict[str, Any]],
    models: Sequence[str],
    scorers: Sequence[dict[str, Any]],
    repeats: int = 1,
    budget: float | None = None,
    seed: int = 0,
    concurrency: int = 64,
    cache: bool = True,
    progress: bool = True,
    report_dir: Path | None = None,
    name: str = "",
    routing: str = "fixed",
    allow_code: bool = False,
    version_ids: Sequence[str] | None = None,
) -> EvalOutcome:
    """Ensure inputs, evaluate, wait with a progress bar, compare first vs last version.

    ``allow_code`` lets the run's code assertions run (see `Engine.evaluate`);
    ``version_ids`` (a flow's, already ensured) are run instead of ``versions``."""
    ids = (
        list(version_ids)
        if version_ids is not None
        else ensure_prompt_versions(engine, prompt, versions)
    )
    number = ensure_dataset(engine, dataset, rows)
    run = engine.evaluate(
        prompt=prompt,
        dataset=dataset,
        dataset_version=number,
        models=list(models),
        scorers=list(scorers),
        versions=list(dict.fromkeys(ids)),
        repeats=repeats,
        budget=budget,
        seed=seed,
        concurrency=concurrency,
        cache=cache,
        name=name,
        routing=routing,
        allow_code=allow_code,
    )
    run.wait(progress=progress)
    unique = list(dict.fromkeys(ids))
    comparisons: tuple[Comparison, ...] = ()
    if len(unique) > 1:
        models_run = run.info().spec.cell_models
        comparisons = first_vs_last(run.records(), unique, models_run, run.version_names())
    directory = report_dir or engine.settings.data_dir / "reports"
    path = run.save_report(directory / f"{run.id}.html", comparisons[0] if comparisons else None)
    return EvalOutcome(run, comparisons, path)


def first_vs_last(
    records: Sequence[ResultRecord],
    versions: Sequence[str],
    models: Sequence[str],
    version_names: Mapping[str, str],
) -> tuple[Comparison, ...]:
    """The last of ``versions`` against the first, on each of ``models`` that has results
    for both (a run stopped at its budget may leave a version without any)."""
    if len(versions) < 2:
        return ()
    first, last = versions[0], versions[-1]
    present = {(r.prompt_version, r.model) for r in records}
    return tuple(
        compare_groups(records, a=(first, m), b=(last, m), version_names=version_names)
        for m in models
        if (first, m) in present and (last, m) in present
    )


def run_eval_file(engine: Engine, spec: EvalFile, *, progress: bool = True) -> EvalOutcome:
    """`autoforge eval FILE`: the file's prompt versions × models on its dataset.

    The file is the user's own, so its code assertions may run (their files were read when
    it was loaded, relative to it)."""
    ids = None
    if spec.flow_name is not None:
        ensure_prompts(engine, spec.prompts)
        ids = ensure_flow_versions(engine, spec.flow_name, spec.flow_versions)
    elif spec.prompts:
        ensure_prompts(engine, spec.prompts)
    return run_eval(
        engine,
        version_ids=ids,
        prompt=spec.prompt_name,
        versions=spec.versions,
        dataset=f"{spec.name}-cases",
        rows=eval_rows(spec),
        models=spec.models,
        scorers=spec.scorers,
        repeats=spec.repeats,
        budget=spec.budget_usd,
        seed=spec.seed,
        concurrency=spec.concurrency,
        cache=spec.cache,
        progress=progress,
        name=spec.name,
        routing=spec.routing,
        allow_code=True,
    )


def outcome_summary(outcome: EvalOutcome) -> dict[str, Any]:
    """Machine-readable summary for `--json`."""
    from engine.reports import to_json

    return {
        "run_id": outcome.run.id,
        "status": outcome.run.status,
        "report": json.loads(to_json(outcome.run.summary())),
        "comparisons": [json.loads(to_json(c)) for c in outcome.comparisons],
        "html_report": str(outcome.report_path),
    }
