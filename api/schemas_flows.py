"""Bodies of `/v1/flows`: Pydantic at the HTTP edge; a flow's rules are the domain's
(`domain.flows`), so a refused flow is the same 422, naming the step, as in Python."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FLOW_EXAMPLE: dict[str, Any] = {
    "inputs": ["question"],
    "output": "answer",
    "steps": [
        {"name": "classify", "kind": "llm", "prompt": "triage@production"},
        {
            "name": "route",
            "kind": "condition",
            "when": {"var": "classify", "contains": "billing"},
            "then": "billing",
            "otherwise": "general",
        },
        {
            "name": "billing",
            "kind": "transform",
            "template": "See your invoices.",
            "output": "answer",
            "next": "end",
        },
        {"name": "general", "kind": "llm", "prompt": "reply@main", "output": "answer"},
    ],
}


CHAT_EXAMPLE: dict[str, Any] = {
    "inputs": ["topic"],
    "output": "chat",
    "steps": [
        {
            "name": "chat",
            "kind": "conversation",
            "prompt": "agent@main",
            "user": {"prompt": "customer@main", "model": "openai/sim-small", "stop": "bye"},
            "max_turns": 4,
        }
    ],
}


class FlowIn(BaseModel):
    """A new flow and its first version on `main`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "support", "flow": FLOW_EXAMPLE},
                {"name": "support-chat", "flow": CHAT_EXAMPLE},
            ]
        },
    )

    name: str = Field(min_length=1, max_length=190)
    flow: dict[str, Any] = Field(
        description="The flow: inputs, steps (llm, tool, transform, condition, loop, map, "
        "conversation), output (docs/flows.md).",
    )
    description: str = Field(default="", max_length=10_000)
    message: str = Field(default="Initial version", max_length=10_000)


class FlowCommitIn(BaseModel):
    """A new version of a flow."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"flow": FLOW_EXAMPLE, "message": "v2"}]}
    )

    flow: dict[str, Any]
    message: str = Field(default="", max_length=10_000)
    branch: str = Field(default="main", min_length=1, max_length=100)
    parent: str | None = Field(
        default=None, description="The head id the change is based on (409 when stale)."
    )


class FlowVersionOut(BaseModel):
    """One immutable version of a flow."""

    id: str
    name: str
    number: int
    flow: dict[str, Any]
    parents: list[str]
    message: str
    author: str
    committed_at: str


class FlowOut(BaseModel):
    """A flow: its name, its `main` head, branches and labels."""

    id: str = Field(description="The id of the prompt that holds the flow's history.")
    name: str
    description: str
    head: FlowVersionOut
    branches: dict[str, str]
    labels: dict[str, str]


class FlowDiffOut(BaseModel):
    """How two versions differ: the steps that changed and a unified diff of the flows."""

    from_id: str = Field(alias="from")
    to_id: str = Field(alias="to")
    changes: list[str] = Field(examples=[["steps.classify", "+steps.check"]])
    diff: str

    model_config = ConfigDict(populate_by_name=True)


class FlowLabelIn(BaseModel):
    """Where the label points: a version id (or prefix), branch or label."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"to": "v1"}]})

    to: str = Field(default="main", min_length=1, max_length=200)


class StepSummaryOut(BaseModel):
    """One step of one flow version on one model, over a run's cells."""

    prompt_version: str
    model: str
    step: str
    kind: str
    runs: int = Field(description="Times the step ran (loop iterations and map items each count).")
    errors: int
    error_rate: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    mean_scores: dict[str, float] = Field(description="The step's own scorers, by name.")
    pass_rate: float | None = Field(description="The mean of its mean scores; null without.")
