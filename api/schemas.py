"""Bodies of the `/v1` resources: Pydantic at the HTTP edge, built from the SDK's values.

Responses are allow-lists: a field not declared here never reaches a client (a catalogue's
`api_base` or `api_key_env`, a run's full case list).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from domain.scoring import check_code_allowed

VERSION_ID = "9bc1d2e3f4a5" + "0" * 52
PROMPT_ID = "prm_4c1f0a9e2b7d"


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class MessageBody(BaseModel):
    """One chat message of a template."""

    role: Literal["system", "user", "assistant"]
    content: str


class TextTemplate(BaseModel):
    """A single-text template."""

    text: str


class ChatTemplate(BaseModel):
    """A chat template."""

    messages: list[MessageBody]


TemplateIn = str | list[MessageBody]
"""A text with `{{ variables }}`, or chat messages."""


class PromptIn(BaseModel):
    """A new prompt and its first version (on `main`)."""

    model_config = _examples(
        {
            "name": "greeter",
            "template": "Say hello to {{name}}",
            "settings": {"model": "openai/gpt-4o-mini", "temperature": 0.2},
            "tags": ["onboarding"],
        }
    )

    name: str = Field(min_length=1, max_length=200)
    template: TemplateIn
    system: str | None = Field(default=None, description="With a text template: a system message.")
    settings: dict[str, Any] | None = None
    description: str = ""
    tags: list[str] = Field(default_factory=list, max_length=32)
    message: str = "Initial version"


class PromptOut(BaseModel):
    """A prompt's details and refs (branches and labels name version ids)."""

    model_config = _examples(
        {
            "id": PROMPT_ID,
            "name": "greeter",
            "owner": "user_2abc",
            "description": "",
            "tags": ["onboarding"],
            "archived": False,
            "head": VERSION_ID,
            "version_count": 1,
            "seq": 1,
            "created_at": "2026-11-27T10:00:00.000000+00:00",
            "created_by": "user_2abc",
            "updated_at": "2026-11-27T10:00:00.000000+00:00",
            "branches": {"main": VERSION_ID},
            "labels": {},
        }
    )

    id: str
    name: str
    owner: str
    description: str
    tags: list[str]
    archived: bool
    head: str
    version_count: int
    seq: int
    created_at: str
    created_by: str
    updated_at: str
    branches: dict[str, str]
    labels: dict[str, str]


class VersionOut(BaseModel):
    """One immutable, content-addressed version."""

    id: str = Field(examples=[VERSION_ID])
    prompt_id: str = Field(examples=[PROMPT_ID])
    number: int = Field(examples=[2])
    parents: list[str]
    template: TextTemplate | ChatTemplate
    settings: dict[str, Any] = Field(examples=[{"model": "openai/gpt-4o-mini"}])
    message: str = Field(examples=["shorter"])
    author: str
    committed_at: str
    content_id: str


class CommitIn(BaseModel):
    """A new version; an omitted template or settings is kept from the branch head."""

    model_config = _examples(
        {"template": "Say hi to {{name}}", "message": "shorter", "parent": VERSION_ID}
    )

    template: TemplateIn | None = None
    system: str | None = None
    settings: dict[str, Any] | None = None
    message: str = ""
    branch: str = "main"
    parent: str | None = Field(
        default=None,
        description="The head the change is based on: a stale one is refused with 409.",
    )


class RevertIn(BaseModel):
    """Commit, on `branch`, the content of ref `to`."""

    model_config = _examples({"to": "production"})

    to: str = Field(min_length=1)
    branch: str = "main"
    message: str | None = None
    parent: str | None = None


class BranchIn(BaseModel):
    """A new branch at ref `start`."""

    model_config = _examples({"name": "experiment", "start": "main"})

    name: str = Field(min_length=1, max_length=100)
    start: str = "main"


class MergeIn(BaseModel):
    """Merge ref `source` into branch `into`."""

    model_config = _examples({"source": "experiment", "into": "main"})

    source: str = Field(min_length=1)
    into: str = "main"
    strategy: Literal["ours", "theirs"] | None = Field(
        default=None, description="Settles a conflict; without it a conflict is a 409."
    )
    message: str | None = None
    parent: str | None = None


class MergeOut(BaseModel):
    """What a merge did and the target branch's head afterwards."""

    outcome: Literal["up-to-date", "fast-forward", "merge"]
    version: VersionOut


class LabelIn(BaseModel):
    """Where the label points: a version id (or prefix), branch or label."""

    model_config = _examples({"to": VERSION_ID[:12]})

    to: str = Field(default="main", min_length=1)


class DiffOut(BaseModel):
    """Unified diffs of template and settings, and the paths that changed."""

    from_id: str
    to_id: str
    template: str = Field(examples=["--- 3f2a1b9c0d4e/template\n+++ 9bc1d2e3f4a5/template\n"])
    settings: str
    changes: list[str] = Field(examples=[["template.text", "settings.temperature"]])


class DatasetIn(BaseModel):
    """A new, empty dataset (its first import becomes version 1)."""

    model_config = _examples({"name": "qa-cases", "description": "arithmetic and sentiment"})

    name: str = Field(min_length=1, max_length=200)
    description: str = ""


class DatasetOut(BaseModel):
    """A dataset and the number of its latest version (0: empty)."""

    id: str = Field(examples=["ds_0f3a9c2e1b7d4a6c8e0f"])
    name: str = Field(examples=["qa-cases"])
    description: str
    latest_version: int = Field(examples=[1])
    created_at: str


class ScorerIn(BaseModel):
    """A registered scorer with its arguments."""

    type: str = Field(examples=["regex"])
    args: dict[str, Any] = Field(default_factory=dict)
    weight: float = 1.0
    threshold: float | None = None
    name: str = ""
    negate: bool = Field(
        default=False, description="Invert the verdict (promptfoo's `not-` prefix)."
    )


class CaseIn(BaseModel):
    """One test case: variables and, usually, the expected answer."""

    id: str = Field(default="", description="Derived from the content when omitted.")
    vars: dict[str, Any]
    expected: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    scorers: list[ScorerIn] = Field(
        default_factory=list,
        max_length=32,
        description="The case's own assertions, scored with the run's scorers.",
    )
    threshold: float | None = Field(
        default=None,
        description="When set, the cell passes iff its weighted combined score reaches it.",
    )
    messages: list[MessageBody] = Field(
        default_factory=list,
        max_length=200,
        description="The conversation so far: the model receives the prompt's system "
        "messages, then these, then the prompt's other messages.",
    )


class CasesIn(BaseModel):
    """Cases stored as the next immutable version."""

    model_config = _examples(
        {"cases": [{"vars": {"question": "2+2?"}, "expected": "4"}], "note": "first cut"}
    )

    cases: list[CaseIn] = Field(min_length=1)
    note: str = ""


class RowErrorOut(BaseModel):
    """A row that could not be imported."""

    line: int
    message: str


class DatasetVersionOut(BaseModel):
    """One immutable dataset version; `skipped` lists rows left out by `skip_bad`."""

    id: str = Field(examples=["dsv_1a2b3c4d5e6f7a8b9c0d"])
    dataset_id: str
    number: int = Field(examples=[1])
    content_hash: str
    case_count: int = Field(examples=[50])
    note: str
    created_at: str
    skipped: list[RowErrorOut] = Field(default_factory=list)


def remote_scorers(scorers: list[str | ScorerIn]) -> list[str | dict[str, Any]]:
    """A request's scorers as the SDK takes them, refusing code assertions (``python``,
    ``javascript``): a program sent over HTTP never runs.

    Raises:
        CodeNotAllowedError: problem type ``code-not-allowed`` (403), before anything is stored.
    """
    specs = [s if isinstance(s, str) else s.model_dump() for s in scorers]
    check_code_allowed(specs, allowed=False, where="the HTTP API")
    return specs


def refuse_case_code(cases: Iterable[Any]) -> None:
    """Refuse cases (`CaseIn`s or parsed `TestCase`s) whose own scorers run code: a case
    stored over HTTP must never bring a program into a run that allows code.

    Raises:
        CodeNotAllowedError: problem type ``code-not-allowed`` (403), before anything is stored.
    """
    specs = [
        spec.model_dump() if isinstance(spec, BaseModel) else spec
        for case in cases
        for spec in case.scorers
    ]
    check_code_allowed(specs, allowed=False, where="the HTTP API")


class RunIn(BaseModel):
    """Prompt version(s) × model(s) × dataset cases × repeats."""

    model_config = _examples(
        {
            "prompt": "qa-assistant",
            "versions": ["main", "production"],
            "dataset": "qa-cases",
            "models": ["openai/sim-small", "openai/sim-large"],
            "scorers": ["icontains", {"type": "regex", "args": {"pattern": "^\\S+$"}}],
            "repeats": 1,
            "budget": 2.5,
            "name": "v2 vs v1",
        }
    )

    prompt: str | None = Field(default=None, min_length=1, description="The prompt, or:")
    flow: str | None = Field(
        default=None,
        min_length=1,
        max_length=300,
        description="A flow (`name` or `name@ref`) instead of a prompt: each cell runs the "
        "flow for one case and records its trace (docs/flows.md).",
        examples=["support@production"],
    )
    versions: list[str] | None = Field(
        default=None,
        description="Refs (`main`, `production`, `v3`, `main~1`, an id prefix); "
        'default `["main"]`.',
    )
    dataset: str = Field(min_length=1)
    dataset_version: int | None = Field(default=None, ge=1, description="Default: latest.")
    models: list[str] = Field(min_length=1)
    scorers: list[str | ScorerIn] = Field(default_factory=list)
    repeats: int = Field(default=1, ge=1, le=100)
    budget: float | None = Field(default=None, gt=0, description="USD cap of the run.")
    seed: int = 0
    concurrency: int = Field(default=64, ge=1, le=4096)
    cache: bool = True
    name: str = Field(default="", max_length=200)
    routing: Literal["fixed", "cheapest", "lowest-latency"] = Field(
        default="fixed",
        description="`fixed` calls every model; `cheapest` or `lowest-latency` sends each call "
        "to one of `models` chosen by that rule (one group per version).",
    )


class RunSpecOut(BaseModel):
    """What the run evaluates (resolved: full version ids, a fixed dataset version)."""

    prompt_id: str
    prompt_versions: list[str]
    models: list[str]
    dataset_version_id: str
    case_count: int
    scorers: list[dict[str, Any]]
    repeats: int
    seed: int
    budget_usd: float | None
    cache: bool
    routing: str = "fixed"
    concurrency: int = Field(description="Calls in flight at once; a resume keeps it.")


class ResumeIn(BaseModel):
    """Optional changes for a resumed run."""

    budget: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="A new cap in USD for the whole run (what it spent counts); default: keep.",
    )
    concurrency: int | None = Field(
        default=None, ge=1, le=4096, description="Calls in flight at once; default: the run's."
    )


class ProgressOut(BaseModel):
    """Live counters from the scheduler while it works the run."""

    total: int
    done: int
    errors: int
    cached: int
    cost_usd: float
    inflight: int
    retries: int
    elapsed_s: float
    concurrency: int | None = None


RunStatusName = Literal[
    "pending", "running", "completed", "cancelled", "budget-exceeded", "failed", "interrupted"
]


class RunOut(BaseModel):
    """A run: its spec, status and, on a single run, how far it got."""

    id: str = Field(examples=["run_5d1e0c9b8a7f6e5d4c3b"])
    name: str
    status: RunStatusName
    spec: RunSpecOut
    total_cells: int = Field(examples=[200])
    error: str | None = Field(
        description="A stable code and one sentence, e.g. `budget-exceeded: …`.",
        examples=["interrupted: nobody is working this run any more; resume it to finish"],
    )
    created_at: str
    started_at: str | None
    finished_at: str | None
    over_budget_cells: int = Field(
        default=0, description="Cells a budget cap kept from running when the run stopped."
    )
    recorded_cells: int | None = Field(default=None, description="Only on a single run.")
    progress: ProgressOut | None = Field(default=None, description="While the run is worked.")


class ToolCallOut(BaseModel):
    """One function call a model asked for: its arguments raw, and parsed when they are JSON."""

    id: str = Field(description="The provider's call id (empty when it gave none).")
    name: str = Field(description="The function called.")
    arguments: str = Field(description="The arguments exactly as the model wrote them.")
    parsed: Any = Field(default=None, description="The arguments parsed, when strict JSON.")
    parse_error: str | None = Field(
        default=None, description="Why the arguments are not JSON; null when they are."
    )


class CellOut(BaseModel):
    """One recorded cell: a prompt version × model × case × repeat, with its case.

    The fields are those of `domain.reports.ResultRecord` (a test holds them equal)."""

    run_id: str
    prompt_version: str
    model: str
    case_id: str
    repeat: int
    output: str | None
    passed: bool | None
    score: float | None
    scores: dict[str, float]
    latency_ms: float | None = Field(description="The provider's answer time (last attempt).")
    queue_ms: float | None = Field(
        description="Time waited for permits, the budget and retries (none before 0006)."
    )
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    error: str | None
    fallback_model: str | None
    cached: bool
    reasons: dict[str, str] = Field(description="Why each scorer that did not pass said so.")
    attempts: int
    model_used: str | None
    scoring_cost_usd: float = Field(description="What judge and embedding calls cost.")
    finish_reason: str | None = Field(
        default=None, description="Why the model stopped: stop, length, tool_calls..."
    )
    tool_calls: list[ToolCallOut] = Field(
        default_factory=list, description="The function calls in the model's answer, in order."
    )
    trace: list[dict[str, Any]] | None = Field(
        default=None,
        description="A flow cell's steps as run (step, kind, inputs, output, latency, tokens, "
        "cost, error); null for a single-prompt cell.",
    )
    variables: dict[str, Any] = Field(description="The case's template variables.")
    expected: str | None = Field(description="The case's expected output.")
    overridden: bool = Field(
        default=False, description="Whether a person's feedback overrides verdict or score."
    )
    override_passed: bool | None = Field(default=None, description="The person's verdict.")
    override_score: float | None = Field(default=None, description="The person's score.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def effective_passed(self) -> bool | None:
        """The verdict that counts: a person's override, else the scorers'."""
        return self.override_passed if self.override_passed is not None else self.passed

    @computed_field  # type: ignore[prop-decorator]
    @property
    def effective_score(self) -> float | None:
        """The score that counts: a person's override, else the scorers'."""
        return self.override_score if self.override_score is not None else self.score


class ReportOut(BaseModel):
    """The run's report (`format=json`): one summary per prompt version × model."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["report"]
    groups: list[dict[str, Any]]
    run_ids: list[str]
    n_results: int
    failed_cases: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The first failed cells: case, variables, expected, output and reasons.",
    )
    n_failed: int = 0
    feedback: dict[str, Any] | None = Field(
        default=None,
        description="People's feedback: `summary` (cells overridden, pass rate before and "
        "after) and `judges` (each llm-judge's agreement, kappa and confusion matrix).",
    )


class CaseChangeOut(BaseModel):
    """One pair of cells: the same case (and repeat) under A and under B."""

    case_id: str
    repeat: int | None
    passed_a: bool | None
    passed_b: bool | None
    score_a: float | None
    score_b: float | None
    output_a: str | None
    output_b: str | None


class ComparisonOut(BaseModel):
    """A paired comparison of run A and run B (McNemar + bootstrap) and its verdict."""

    kind: Literal["comparison"]
    label_a: str
    label_b: str
    key: str
    n_pairs: int
    n_only_a: int
    n_only_b: int
    n_graded_pairs: int
    pass_rate_a: float | None
    pass_rate_b: float | None
    pass_rate_difference: float | None
    improved: list[CaseChangeOut]
    regressed: list[CaseChangeOut]
    unchanged: list[CaseChangeOut]
    p_value: float | None
    n_score_pairs: int
    mean_score_a: float | None
    mean_score_b: float | None
    score_difference: float | None
    score_ci: tuple[float, float] | None
    alpha: float
    resamples: int
    seed: int
    winner: Literal["a", "b"] | None
    verdict: str
