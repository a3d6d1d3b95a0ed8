"""Bodies of `/v1/runs/{id}/feedback`: Pydantic at the HTTP edge; the rules are the domain's
(`domain.feedback.Feedback`), so a bad score or an empty feedback is the same 422 as in
Python."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class FeedbackIn(BaseModel):
    """A person's feedback on one recorded cell."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"case_id": "c1", "verdict": "fail", "comment": "wrong capital"}]
        },
    )

    case_id: str = Field(min_length=1, max_length=256)
    version: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{1,64}$",
        description="The cell's prompt version id or a prefix (needed when the run has several).",
    )
    model: str | None = Field(
        default=None, max_length=200, description="Needed when the run has several models."
    )
    repeat: int = Field(default=0, ge=0)
    verdict: Literal["pass", "fail"] | None = None
    score: float | None = Field(default=None, description="Within [0, 1].")
    correction: str | None = Field(default=None, description="What the output should have been.")
    comment: str | None = None
    tags: list[str] = Field(default_factory=list, max_length=20)

    def keywords(self) -> dict[str, Any]:
        """The keywords of `Run.feedback`."""
        values = self.model_dump()
        values["tags"] = tuple(values["tags"])
        return values


class FeedbackOut(BaseModel):
    """A recorded feedback (never edited: later feedback on the cell supersedes it)."""

    run_id: str
    prompt_version: str
    model: str
    case_id: str
    repeat: int
    author: str
    created_at: str
    verdict: Literal["pass", "fail"] | None
    score: float | None
    correction: str | None
    comment: str | None
    tags: list[str]


class CorrectionsIn(BaseModel):
    """Turn a run's corrections (and failing cases picked by id) into a new dataset version."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"dataset": "qa-cases", "include_failed": ["c7"]}]},
    )

    dataset: str = Field(
        min_length=1,
        max_length=200,
        description="The dataset's name (created when missing) or id.",
    )
    include_failed: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default_factory=list,
        max_length=1000,
        description="Ids of failing cases to add too (their expected output as it is).",
    )
    note: str = Field(default="", max_length=2000)
