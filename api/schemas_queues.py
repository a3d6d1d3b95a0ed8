"""Bodies of `/v1/queues`: Pydantic at the HTTP edge; the rules are the domain's
(`domain.annotation`), so a bad filter or a missing verdict is the same 422 as in Python."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.streams import RUN_ID_PATTERN

Annotator = Annotated[str, Field(min_length=1, max_length=200)]
ANNOTATOR_DESCRIPTION = (
    "Who answers; default the caller. Today every queue belongs to one user, so this names "
    "a person working under that user's account."
)


class QueueIn(BaseModel):
    """Make an annotation queue of a run's recorded cells (two runs: a pairwise queue)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "runs": ["run_0123456789abcdef0123"],
                    "filter": "failed",
                    "annotators_per_item": 2,
                    "assignees": ["ann", "bob"],
                }  # fmt: skip
            ]
        },
    )

    runs: list[Annotated[str, Field(pattern=RUN_ID_PATTERN)]] = Field(min_length=1, max_length=2)
    name: str = Field(default="", max_length=200)
    filter: Literal["all", "failed", "disagree", "near-threshold"] = "all"
    sample: int | None = Field(default=None, ge=1, description="A seeded sample of N cells.")
    band: float = Field(default=0.1, gt=0, le=1, description="near-threshold: the distance.")
    scorer: str | None = Field(
        default=None, max_length=200, description="near-threshold: whose pass mark counts."
    )
    kind: Literal["single", "pairwise"] = "single"
    versions: list[Annotated[str, Field(pattern=r"^[0-9a-f]{1,64}$")]] = Field(
        default_factory=list, max_length=2, description="pairwise of one run: two versions."
    )
    assignees: list[Annotator] = Field(default_factory=list, max_length=50)
    annotators_per_item: int = Field(default=1, ge=1, le=50)
    seed: int = Field(default=0, ge=-(2**62), le=2**62)

    def keywords(self) -> dict[str, Any]:
        """The keywords of `Queues.create` (but ``run``)."""
        values = self.model_dump(exclude={"runs"})
        values["versions"] = tuple(values["versions"])
        values["assignees"] = tuple(values["assignees"])
        return values


class FilterOut(BaseModel):
    where: str
    scorer: str | None
    band: float
    sample: int | None


class QueueOut(BaseModel):
    """An annotation queue as made."""

    id: str
    name: str
    run_ids: list[str]
    filter: FilterOut
    kind: Literal["single", "pairwise"]
    versions: list[str]
    assignees: list[str]
    annotators_per_item: int
    seed: int
    created_by: str
    created_at: str
    item_count: int


class ItemOut(BaseModel):
    """An item as an annotator sees it. A pairwise item shows two outputs, left and right,
    without naming the versions behind them (the comparison is blind)."""

    queue_id: str
    position: int
    kind: Literal["single", "pairwise"]
    case_id: str
    repeat: int
    variables: dict[str, Any]
    expected: str | None
    prompt_version: str | None = None
    model: str | None = None
    output: str | None = None
    passed: bool | None = None
    score: float | None = None
    scores: dict[str, float] | None = None
    error: str | None = None
    left: str | None = None
    right: str | None = None


class NextIn(BaseModel):
    """Ask for the next item."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"annotator": "ann"}]}
    )

    annotator: Annotator | None = Field(default=None, description=ANNOTATOR_DESCRIPTION)


class NextOut(BaseModel):
    """The item claimed for the annotator (held ten minutes), or null when none is left."""

    item: ItemOut | None


class AnswerIn(BaseModel):
    """Answer an item: a verdict and/or score (single), or a choice (pairwise)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"annotator": "ann", "verdict": "fail", "correction": "Paris"},
                {"annotator": "bob", "choice": "left"},
            ]
        },
    )

    annotator: Annotator | None = Field(default=None, description=ANNOTATOR_DESCRIPTION)
    verdict: Literal["pass", "fail"] | None = None
    score: float | None = Field(default=None, description="Within [0, 1].")
    correction: str | None = None
    comment: str | None = None
    tags: list[str] = Field(default_factory=list, max_length=20)
    choice: Literal["left", "right", "tie"] | None = Field(
        default=None, description="pairwise: which output is better, as shown."
    )


class SkipIn(BaseModel):
    """Pass on an item."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"annotator": "ann"}]}
    )

    annotator: Annotator | None = Field(default=None, description=ANNOTATOR_DESCRIPTION)


class ReassignIn(BaseModel):
    """Hand one assignee's open items over to another (added to the assignees)."""

    model_config = ConfigDict(
        populate_by_name=True,
        extra="forbid",
        json_schema_extra={"examples": [{"from": "ann", "to": "dan"},
                                        {"from": "ann", "to": "dan", "positions": [3, 5]}]},
    )  # fmt: skip

    source: Annotator = Field(alias="from", description="The assignee whose items move.")
    target: Annotator = Field(alias="to", description="Who takes them (named as assignees are).")
    positions: list[int] | None = Field(
        default=None,
        max_length=10_000,
        description="Exactly these items (each must be movable); default every open item "
        "of theirs that they neither answered nor skipped.",
    )


class ReassignOut(BaseModel):
    """The items moved."""

    moved: list[int]
    assignees: list[str]


class AnswerOut(BaseModel):
    """A recorded answer (a skip has ``status`` ``skipped`` and no label)."""

    position: int
    annotator: str
    status: Literal["done", "skipped"]
    verdict: str | None = None
    score: float | None = None
    choice: str | None = None
    created_at: str | None = None


class AnnotatorProgressOut(BaseModel):
    annotator: str
    done: int
    skipped: int
    assigned: int


class ProgressOut(BaseModel):
    """A queue's progress overall and per annotator."""

    items: int
    complete: int
    answers: int
    needed: int
    skipped: int
    fraction: float
    annotators: list[AnnotatorProgressOut]


class TallyOut(BaseModel):
    """A pairwise queue's preferences per side (run, prompt version, model), order undone."""

    a: list[str] | None
    b: list[str] | None
    wins_a: int
    wins_b: int
    ties: int
    a_rate: float | None


class AgreementOut(BaseModel):
    """How far annotators agree (Cohen's kappa for two, Fleiss' for more), and a pairwise
    queue's tally."""

    method: Literal["cohen", "fleiss"] | None
    kappa: float | None
    n_items: int
    annotators: list[str]
    observed: float | None
    tally: TallyOut | None = None
