"""Bodies of `/v1/playground`: Pydantic at the HTTP edge; the rules are the domain's
(`domain.playground`), so bad models or variables are the same 422 as in Python."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import TemplateIn


class SessionIn(BaseModel):
    """A new playground session: one prompt version, tried on several models."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"prompt": "qa", "models": ["openai/sim-small", "openai/sim-large"]}]
        },
    )

    prompt: str = Field(min_length=1, max_length=200, description="The prompt's name or id.")
    version: str = Field(
        default="main", min_length=1, max_length=200, description="A branch, label, v3 or id."
    )
    models: list[str] = Field(min_length=1, max_length=8)
    params: dict[str, Any] = Field(
        default_factory=dict, description="Call parameters over the version's settings."
    )


class SessionOut(BaseModel):
    """A playground session; its turns follow `prompt_version`."""

    id: str
    prompt_id: str
    prompt_version: str
    models: list[str]
    params: dict[str, Any]
    created_by: str
    created_at: str
    events: str = Field(description="Where its turns stream (SSE, or a WebSocket upgrade).")


class TurnIn(BaseModel):
    """One try: the template's variables for this turn."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"variables": {"q": "What is 2+2?"}}]}
    )

    variables: dict[str, Any] = Field(default_factory=dict)
    cache: bool = Field(default=False, description="Answer from the response cache if it can.")


class AnswerOut(BaseModel):
    """One model's answer in a turn (`content` null when it failed: `error` says why)."""

    model: str
    content: str | None
    error: str | None
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    cached: bool
    model_used: str | None


class TurnOut(BaseModel):
    """A turn: `running` until every model has answered."""

    session_id: str
    number: int
    prompt_version: str
    variables: dict[str, Any]
    author: str
    started_at: str
    status: Literal["running", "done"]
    answers: list[AnswerOut]
    finished_at: str | None


class SaveCaseIn(BaseModel):
    """Save a turn as a test case of `dataset` (created when missing), as its next version."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"model": "openai/sim-large", "dataset": "qa-cases"}]},
    )

    model: str = Field(min_length=1, max_length=200, description="Whose answer to keep.")
    dataset: str = Field(min_length=1, max_length=200)
    expected: str | None = Field(
        default=None, max_length=32_000, description="The expected output, if not the answer."
    )
    case_id: str = Field(default="", max_length=256)


class SessionCommitIn(BaseModel):
    """Commit an edited template to the session's prompt; its next turns use the new version."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"template": "Answer briefly: {{q}}", "message": "terse"}]},
    )

    template: TemplateIn | None = None
    system: str | None = None
    message: str = Field(default="", max_length=2000)
    branch: str = Field(default="main", min_length=1, max_length=200)
