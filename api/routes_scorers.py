"""`/v1/scorers`: the registered scorers a run may name, with their arguments."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.acting import Reader
from api.openapi import AUTHENTICATED, api_router, problem_responses


class ScorerArgumentOut(BaseModel):
    """One argument of a scorer (a key of its spec's `args`)."""

    name: str = Field(examples=["pattern"])
    type: str = Field(examples=["string"])
    required: bool
    default: Any = None
    description: str


class ScorerOut(BaseModel):
    """A registered scorer: the `type` to put in a run's `scorers`."""

    name: str = Field(examples=["regex"])
    description: str
    needs: str | None = Field(
        description="what it waits for: a model call (embedding, completion, moderation) or the "
        "sandbox (sandbox: it runs code, which only SDK and CLI runs allow)"
    )
    arguments: list[ScorerArgumentOut]


class ScorersOut(BaseModel):
    """Every registered scorer, sorted by name."""

    items: list[ScorerOut]


router = api_router(
    prefix="/v1/scorers",
    tags=["scorers"],
    responses={**AUTHENTICATED, **problem_responses(503)},
)


@router.get("", response_model=ScorersOut)
def list_scorers(engine: Reader) -> ScorersOut:
    """List the scorers a run may use, with their arguments."""
    return ScorersOut.model_validate({"items": [s.to_dict() for s in engine.scorers()]})
