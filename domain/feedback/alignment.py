"""How far a judge scorer's pass/fail agrees with people's verdicts on the same cells."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from domain.feedback.event import Feedback
from domain.reports.records import ResultRecord

AGREEMENT_FLOOR = 0.8
"""Below this agreement a judge is flagged as not aligned with people."""


def confusion_matrix(judge: Sequence[bool], human: Sequence[bool]) -> tuple[tuple[int, int], ...]:
    """Counts of (judge, human) verdict pairs: ``((both pass, judge pass & human fail),
    (judge fail & human pass, both fail))`` — rows are the judge, columns the person."""
    pairs = list(zip(judge, human, strict=True))
    return (
        (sum(j and h for j, h in pairs), sum(j and not h for j, h in pairs)),
        (sum(not j and h for j, h in pairs), sum(not j and not h for j, h in pairs)),
    )


def cohen_kappa(judge: Sequence[Hashable], human: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters' labels (pass/fail, or any categories such as a pairwise
    ``left``/``right``/``tie``): ``(p_o - p_e) / (1 - p_e)``, where ``p_e`` sums, over the
    labels, the product of the two raters' shares of that label.

    ``None`` when there is nothing to compare; 1.0 when both raters give one and the same
    label to every item (chance agreement is then total, and so is the observed one).
    """
    n = len(judge)
    if n == 0 or n != len(human):
        return None
    observed = sum(a == b for a, b in zip(judge, human, strict=True)) / n
    first, second = Counter(judge), Counter(human)
    chance = sum(first[label] * second[label] for label in first) / (n * n)
    if chance == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - chance) / (1.0 - chance)


@dataclass(frozen=True)
class JudgeAlignment:
    """One judge scorer against people's verdicts on the cells both judged.

    Attributes:
        scorer: The scorer's name.
        n: Cells with both a judge score and a human verdict.
        agreement: Share of those cells where they agree.
        kappa: Cohen's kappa (see `cohen_kappa`).
        confusion: Judge rows × human columns, pass first (see `confusion_matrix`).
        disagreements: Keys (prompt version, model, case, repeat) of the cells they disagree on.
        flagged: Agreement below `AGREEMENT_FLOOR`.
    """

    scorer: str
    n: int
    agreement: float | None
    kappa: float | None
    confusion: tuple[tuple[int, int], ...]
    disagreements: tuple[tuple[str, str, str, int], ...]
    flagged: bool


def judge_alignment(
    cells: Iterable[ResultRecord],
    feedbacks: Iterable[Feedback],
    judges: Mapping[str, float],
    *,
    floor: float = AGREEMENT_FLOOR,
) -> list[JudgeAlignment]:
    """Each judge's alignment with the latest human verdict of every cell that has one.

    Args:
        cells: Recorded cells.
        feedbacks: Their feedback; only feedback with a verdict counts.
        judges: Judge scorer name → its pass mark (a score at or above it passes).
        floor: The agreement under which a judge is flagged.
    """
    latest: dict[tuple[str, tuple[str, str, str, int]], tuple[str, int, bool]] = {}
    for order, item in enumerate(feedbacks):
        if item.passed is None:
            continue
        key = (item.run_id, item.key)
        if key not in latest or (item.created_at, order) >= latest[key][:2]:
            latest[key] = (item.created_at, order, item.passed)
    cells = list(cells)
    out = []
    for name, threshold in sorted(judges.items()):
        rated = [
            (c.key, c.scores[name] >= threshold, latest[(c.run_id, c.key)][2])
            for c in cells
            if name in c.scores and (c.run_id, c.key) in latest
        ]
        judge = [j for _, j, _ in rated]
        human = [h for _, _, h in rated]
        agreement = (
            sum(j == h for j, h in zip(judge, human, strict=True)) / len(rated) if rated else None
        )
        out.append(
            JudgeAlignment(
                scorer=name,
                n=len(rated),
                agreement=agreement,
                kappa=cohen_kappa(judge, human),
                confusion=confusion_matrix(judge, human),
                disagreements=tuple(key for key, j, h in rated if j != h),
                flagged=agreement is not None and agreement < floor,
            )
        )
    return out


def judge_thresholds(scorers: Iterable[Mapping[str, object]]) -> dict[str, float]:
    """Name → pass mark of the ``llm-judge`` scorers among a run's scorer records
    (`ScorerSpec.to_dict()`): the spec's threshold, else ``pass_threshold``, else 0.5."""
    out = {}
    for record in scorers:
        if record.get("type") != "llm-judge":
            continue
        args = record.get("args")
        given = args.get("pass_threshold") if isinstance(args, Mapping) else None
        threshold = record.get("threshold")
        mark = threshold if isinstance(threshold, int | float) else given
        name = record.get("name") or "llm-judge"
        out[str(name)] = float(mark) if isinstance(mark, int | float) else 0.5
    return out
