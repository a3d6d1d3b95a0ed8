"""The Optimization aggregate: its state is the fold of its events.

The engine's loop records what it did as events (`domain.optimization.events`) and reads
the state back from them; a resumed loop rebuilds it with `Optimization.replay` and finds,
by key, every evaluation and proposal already recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.errors import ConflictError
from domain.optimization import pareto
from domain.optimization.config import OptimizationConfig, Split
from domain.optimization.events import EVENT_TYPES, Event
from domain.optimization.rules import Usage
from domain.optimization.strategy import CandidateView, CaseEvidence, Content

TERMINAL = ("completed", "cancelled", "budget-exceeded", "failed")
"""Statuses after which the loop never runs again."""


@dataclass
class Candidate:
    """One prompt version the loop proposed (``c0``: the baseline) and how it did.

    Attributes:
        id: ``c0``, ``c1``, … in proposal order.
        version: Its prompt version id.
        parent_ids: The candidates it derives from.
        kind: ``baseline``, ``mutation`` or ``merge``.
        rationale: Why the strategy proposed it.
        content: Its system message and template.
        generation: The generation that proposed it (0 for the baseline).
        minibatch: The training cases it was judged on.
        calls_at: Metric calls used when it was proposed.
        accepted: The minibatch verdict; None until judged (the baseline: True).
        scores: Phase (train, val, test) → case id → score.
        evidence: Case id → what it did on that training case.
        test_evidence: Case id → what it did on that test case.
        test_passed: Case id → its pass/fail on the test split.
        minibatch_score: Its score sum on ``minibatch``.
        parent_minibatch_score: The parent's on the same cases.
    """

    id: str
    version: str
    parent_ids: tuple[str, ...]
    kind: str
    rationale: str
    content: Content
    generation: int = 0
    minibatch: tuple[str, ...] = ()
    calls_at: int = 0
    accepted: bool | None = None
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    evidence: dict[str, CaseEvidence] = field(default_factory=dict)
    test_evidence: dict[str, CaseEvidence] = field(default_factory=dict)
    test_passed: dict[str, bool] = field(default_factory=dict)
    minibatch_score: float | None = None
    parent_minibatch_score: float | None = None

    @property
    def val_scores(self) -> dict[str, float]:
        return self.scores.get("val", {})

    def view(self) -> CandidateView:
        return CandidateView(self.id, self.content, self.parent_ids, dict(self.val_scores))

    def to_dict(self, val_cases: Iterable[str] = ()) -> dict[str, Any]:
        """The `CandidateInfo` fields."""
        cases = list(val_cases)
        val = self.val_scores
        return {
            "id": self.id,
            "version": self.version,
            "parent_ids": list(self.parent_ids),
            "kind": self.kind,
            "rationale": self.rationale,
            "accepted": self.accepted,
            "minibatch_score": self.minibatch_score,
            "parent_minibatch_score": self.parent_minibatch_score,
            "val_score": mean_score(val, cases) if val else None,
            "calls_at": self.calls_at,
            "system": self.content.system,
            "template": self.content.template,
        }


def mean_score(scores: Mapping[str, float], cases: Iterable[str]) -> float:
    """The mean of ``scores`` over ``cases`` (a missing case scores 0; no cases: 0)."""
    ids = list(cases)
    return sum(scores.get(c, 0.0) for c in ids) / len(ids) if ids else 0.0


def evidence_from_dict(data: Mapping[str, Any]) -> CaseEvidence:
    return CaseEvidence(
        case_id=data["case_id"],
        variables=dict(data.get("variables") or {}),
        expected=data.get("expected"),
        output=data.get("output"),
        score=float(data.get("score") or 0.0),
        passed=data.get("passed"),
        reasons=dict(data.get("reasons") or {}),
        error=data.get("error"),
    )


def evidence_to_dict(item: CaseEvidence) -> dict[str, Any]:
    return {
        "case_id": item.case_id,
        "variables": dict(item.variables),
        "expected": item.expected,
        "output": item.output,
        "score": item.score,
        "passed": item.passed,
        "reasons": dict(item.reasons),
        "error": item.error,
    }


class Optimization:
    """One optimization's state, rebuilt from its events.

    Examples:
        >>> from domain.optimization.config import OptimizationConfig
        >>> config = OptimizationConfig(prompt_id="p", prompt_name="qa", dataset_version_id="d",
        ...     optimizer="random", models=("m",), reflection_model=None,
        ...     scorers=({"type": "equals"},))
        >>> o = Optimization("o1", "u1")
        >>> o.record(Event("started", {"config": config.to_dict(), "branch": "opt/o1",
        ...     "split": {"train": ["a", "b"], "val": ["c", "d"], "test": ["e", "f"]},
        ...     "baseline": {"version": "v0", "system": "", "template": "{{q}}"}}))
        >>> o.status, list(o.candidates)
        ('running', ['c0'])
    """

    def __init__(self, optimization_id: str, owner: str) -> None:
        self.id = optimization_id
        self.owner = owner
        self.events: list[Event] = []
        self.pending_events: list[Event] = []
        self.config: OptimizationConfig | None = None
        self.split = Split((), (), ())
        self.branch = ""
        self.status = "pending"
        self.error: str | None = None
        self.candidates: dict[str, Candidate] = {}
        self.usage = Usage()
        self.test_calls = 0
        self.test_cost_usd = 0.0
        self.costs = {"candidates": 0.0, "reflection": 0.0, "judges": 0.0, "test": 0.0}
        self.generation = 0
        self.stale_generations = 0
        self.idle_generations = 0
        self.trajectory: list[dict[str, Any]] = []
        self.promoted: dict[str, Any] | None = None
        self.promotions: list[dict[str, Any]] = []
        self.test: dict[str, Any] | None = None
        self.stop: str | None = None
        self._keys: dict[str, Event] = {}
        self._best_at_generation_start: str | None = None

    @classmethod
    def replay(cls, optimization_id: str, owner: str, events: Iterable[Event]) -> Optimization:
        """The state after ``events`` (stored, in order)."""
        state = cls(optimization_id, owner)
        for event in events:
            state._apply(event)
        return state

    def record(self, event: Event) -> None:
        """Apply a new event and keep it in ``pending_events`` until the store saves it.

        Raises:
            ConflictError: ``reason="optimization-finished"`` after a terminal event (a
                promotion excepted), or an unknown event type.
        """
        if event.type not in EVENT_TYPES:
            raise ConflictError(f"unknown optimization event {event.type!r}", reason="internal")
        if self.status in TERMINAL and event.type != "promoted":
            raise ConflictError(
                f"optimization {self.id} is already {self.status}",
                reason="optimization-finished",
                status=self.status,
            )
        self._apply(event)
        self.pending_events.append(event)

    def recorded(self, key: str) -> Event | None:
        """The event recorded under ``key`` (an evaluation or a proposal), if any."""
        return self._keys.get(key)

    # -- reads ---------------------------------------------------------------------------

    def validated(self) -> list[Candidate]:
        """Candidates with validation scores, in proposal order."""
        return [c for c in self.candidates.values() if "val" in c.scores]

    def front(self) -> list[str]:
        """The Pareto front's candidate ids over the validation split."""
        return pareto.front([(c.id, c.val_scores) for c in self.validated()], self.split.val)

    def best(self) -> Candidate | None:
        """The validated candidate with the highest mean validation score (first of equals)."""
        best: Candidate | None = None
        for candidate in self.validated():
            if best is None or self.val_score(candidate) > self.val_score(best):
                best = candidate
        return best

    def val_score(self, candidate: Candidate) -> float:
        return mean_score(candidate.val_scores, self.split.val)

    @property
    def baseline(self) -> Candidate | None:
        return self.candidates.get("c0")

    def next_candidate_id(self) -> str:
        return f"c{len(self.candidates)}"

    # -- the fold ------------------------------------------------------------------------

    def _apply(self, event: Event) -> None:
        data = event.data
        if self.status == "interrupted" and event.type not in ("promoted", "interrupted"):
            self.status = "running"  # a resumed loop goes on recording
        handler = getattr(self, "_on_" + event.type.replace("-", "_"))
        handler(data)
        key = data.get("key")
        if isinstance(key, str):
            self._keys[key] = event
        self.events.append(event)

    def _on_started(self, data: Mapping[str, Any]) -> None:
        self.config = OptimizationConfig.from_dict(data["config"])
        split = data["split"]
        self.split = Split(tuple(split["train"]), tuple(split["val"]), tuple(split["test"]))
        self.branch = data["branch"]
        base = data["baseline"]
        self.candidates["c0"] = Candidate(
            id="c0",
            version=base["version"],
            parent_ids=(),
            kind="baseline",
            rationale="the base version",
            content=Content(base.get("system") or "", base["template"]),
            accepted=True,
        )
        self.status = "running"

    def _on_generation_planned(self, data: Mapping[str, Any]) -> None:
        del data  # read back by its key (`recorded`)

    def _on_candidate_proposed(self, data: Mapping[str, Any]) -> None:
        cid = data["candidate"]
        self.candidates[cid] = Candidate(
            id=cid,
            version=data["version"],
            parent_ids=tuple(data["parent_ids"]),
            kind=data.get("kind", "mutation"),
            rationale=data.get("rationale", ""),
            content=Content(data.get("system") or "", data["template"]),
            generation=int(data.get("generation", 0)),
            minibatch=tuple(data.get("minibatch") or ()),
            calls_at=self.usage.calls,
        )
        self._reflection(data)

    def _on_candidate_skipped(self, data: Mapping[str, Any]) -> None:
        self._reflection(data)

    def _reflection(self, data: Mapping[str, Any]) -> None:
        calls = int(data.get("reflection_calls", 0))
        cost = float(data.get("reflection_cost_usd", 0.0))
        self.usage = Usage(
            self.usage.cells,
            self.usage.reflection_calls + calls,
            self.usage.judge_calls,
            self.usage.cost_usd + cost,
        )
        self.costs["reflection"] += cost

    def _on_candidate_evaluated(self, data: Mapping[str, Any]) -> None:
        candidate = self.candidates[data["candidate"]]
        phase = data["phase"]
        scores = candidate.scores.setdefault(phase, {})
        scores.update({k: float(v) for k, v in data["scores"].items()})
        into = candidate.test_evidence if phase == "test" else candidate.evidence
        for item in data.get("evidence") or ():
            into[item["case_id"]] = evidence_from_dict(item)
        if phase == "test":
            candidate.test_passed.update(
                {k: bool(v) for k, v in (data.get("passed") or {}).items()}
            )
        cells, judges = int(data.get("cells", 0)), int(data.get("judge_calls", 0))
        cost, judge_cost = float(data.get("cost_usd", 0.0)), float(data.get("judge_cost_usd", 0.0))
        if phase == "test":
            self.test_calls += cells + judges
            self.test_cost_usd += cost + judge_cost
            self.costs["test"] += cost + judge_cost
            return
        self.usage = Usage(
            self.usage.cells + cells,
            self.usage.reflection_calls,
            self.usage.judge_calls + judges,
            self.usage.cost_usd + cost + judge_cost,
        )
        self.costs["candidates"] += cost
        self.costs["judges"] += judge_cost
        if phase == "val":
            best = self.best()
            if best is not None and (
                not self.trajectory or self.trajectory[-1]["candidate"] != best.id
            ):
                self.trajectory.append(
                    {
                        "calls": self.usage.calls,
                        "best_val_score": self.val_score(best),
                        "candidate": best.id,
                    }
                )

    def _on_candidate_accepted(self, data: Mapping[str, Any]) -> None:
        self._verdict(data, True)

    def _on_candidate_rejected(self, data: Mapping[str, Any]) -> None:
        self._verdict(data, False)

    def _verdict(self, data: Mapping[str, Any], accepted: bool) -> None:
        candidate = self.candidates[data["candidate"]]
        candidate.accepted = accepted
        candidate.minibatch_score = float(data["minibatch_score"])
        candidate.parent_minibatch_score = float(data["parent_minibatch_score"])

    def _on_generation_finished(self, data: Mapping[str, Any]) -> None:
        self.generation = int(data["generation"])
        self.stale_generations = int(data.get("stale_generations", 0))
        self.idle_generations = int(data.get("idle_generations", 0))

    def _on_promoted(self, data: Mapping[str, Any]) -> None:
        self.promotions.append(dict(data))
        if data.get("promoted"):
            self.promoted = {
                "label": data["label"],
                "version": data["version"],
                "p_value": data["p_value"],
                "at": data.get("at"),
            }

    def _on_finished(self, data: Mapping[str, Any]) -> None:
        self.status = data.get("status", "completed")
        self.stop = data.get("stop")
        self.test = data.get("test")

    def _on_failed(self, data: Mapping[str, Any]) -> None:
        self.status = "failed"
        self.error = data.get("error")

    def _on_cancelled(self, data: Mapping[str, Any]) -> None:
        del data
        self.status = "cancelled"

    def _on_interrupted(self, data: Mapping[str, Any]) -> None:
        del data
        self.status = "interrupted"

    def resumed(self) -> None:
        """Mark an interrupted (or stale running) optimization running again (no event: the
        log goes on where it stopped)."""
        if self.status in TERMINAL:
            raise ConflictError(
                f"optimization {self.id} is already {self.status}",
                reason="optimization-finished",
                status=self.status,
            )
        self.status = "running"
