"""Reference-overlap metrics: ROUGE-N (rouge-score), sentence BLEU (sacrebleu), token F1."""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import lru_cache
from typing import Any

from domain.scoring._common import VALUE, BaseScorer, ReferenceScorer, ScorerArgs
from domain.scoring.base import Score, ScoreContext, register_scorer
from domain.scoring.listing import ScorerArgument

_WORD = re.compile(r"[^\W_]+")


class _UnicodeTokens:
    """rouge-score's tokenizer, but keeping every letter, not only ``a-z0-9``.

    rouge-score drops non-ASCII letters (``café`` becomes ``caf``, Chinese becomes nothing);
    on ASCII text this gives the same tokens, stemming words longer than 3 letters alike.
    """

    def __init__(self, stem: bool) -> None:
        self.stemmer: Any = None
        if stem:
            from nltk.stem import porter

            self.stemmer = porter.PorterStemmer()

    def tokenize(self, text: str) -> list[str]:
        tokens = _WORD.findall(text.lower())
        if self.stemmer is None:
            return tokens
        return [self.stemmer.stem(t) if len(t) > 3 else t for t in tokens]


@lru_cache(maxsize=16)
def _rouge(n: int, stem: bool) -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer([f"rouge{n}"], tokenizer=_UnicodeTokens(stem))


@register_scorer("rouge-n")
class RougeN(ReferenceScorer):
    """ROUGE-N F1 of the output against ``value`` (or the expected answer), by rouge-score.

    Args (in the spec): ``value`` (optional), ``n`` (n-gram size 1-4, default 1), ``stem``
    (default false: Porter-stem words first). Words are lower-cased runs of letters and
    digits. Default threshold 0.75, as promptfoo's.
    """

    default_threshold = 0.75
    arguments = (
        VALUE,
        ScorerArgument("n", "integer", "n-gram size, 1 to 4", default=1),
        ScorerArgument("stem", "boolean", "Porter-stem words before matching", default=False),
    )

    def configure(self, args: ScorerArgs) -> None:
        super().configure(args)
        n = args.integer("n", minimum=1, maximum=4)
        self.n = 1 if n is None else n
        self.stem = args.flag("stem", False)

    def score(self, ctx: ScoreContext) -> Score:
        reference = self.reference(ctx)
        if reference is None:
            return self.missing_reference()
        rouge_type = f"rouge{self.n}"
        measured = _rouge(self.n, self.stem).score(reference, ctx.output)[rouge_type]
        value = float(measured.fmeasure)
        verdict = "reaches" if value >= self.threshold else "is below"
        return self.result(
            value,
            f"ROUGE-{self.n} F1 {value:.3f} (precision {measured.precision:.3f}, recall "
            f"{measured.recall:.3f}) {verdict} threshold {self.threshold:g}",
        )


@lru_cache(maxsize=1)
def _bleu() -> Any:
    from sacrebleu.metrics.bleu import BLEU

    # Sentence-level BLEU needs effective order: without it one missing 4-gram zeroes it.
    return BLEU(effective_order=True)


@register_scorer("bleu")
class Bleu(BaseScorer):
    """Sentence BLEU of the output against ``value`` (or the expected answer), by sacrebleu.

    Args (in the spec): ``value`` (optional: one reference text or a list of them). The value
    is sacrebleu's score (13a tokens, exponential smoothing, effective order) divided by 100.
    Default threshold 0.5.
    """

    default_threshold = 0.5
    arguments = (
        ScorerArgument(
            "value", "string or string list", "reference(s); default: the expected answer"
        ),
    )

    def configure(self, args: ScorerArgs) -> None:
        self.references = args.optional_text_list("value", single=True)

    def score(self, ctx: ScoreContext) -> Score:
        references = self.references or ([ctx.expected] if ctx.expected is not None else None)
        if references is None:
            return self.fail("no 'value' argument and no expected answer to compare with")
        value = float(_bleu().sentence_score(ctx.output, references).score) / 100.0
        verdict = "reaches" if value >= self.threshold else "is below"
        against = f"{len(references)} references" if len(references) > 1 else "the reference"
        return self.result(
            value, f"BLEU {value:.3f} against {against} {verdict} threshold {self.threshold:g}"
        )


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def squad_tokens(text: str) -> list[str]:
    """SQuAD v1.1's answer normalisation: lower case, no punctuation, no articles, split.

    Examples:
        >>> squad_tokens("The Eiffel Tower!")
        ['eiffel', 'tower']
    """
    return _ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split()


def token_f1(prediction: str, reference: str) -> tuple[float, float, float]:
    """``(f1, precision, recall)`` of shared normalised tokens, as SQuAD's evaluation script.

    Two texts with no tokens are identical (1.0) and one empty side scores 0, as in the
    SQuAD v2.0 script (v1.1's scored both cases 0).
    """
    predicted, expected = squad_tokens(prediction), squad_tokens(reference)
    if not predicted or not expected:
        same = float(predicted == expected)
        return same, same, same
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0, 0.0, 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall), precision, recall


@register_scorer("f-score")
class FScore(ReferenceScorer):
    """Token-level F1 of the output against ``value`` (or the expected answer), SQuAD-style.

    Both texts are lower-cased, stripped of punctuation and of the articles a, an, the, then
    split on whitespace; shared tokens count with multiplicity. Default threshold 0.5.
    """

    default_threshold = 0.5

    def score(self, ctx: ScoreContext) -> Score:
        reference = self.reference(ctx)
        if reference is None:
            return self.missing_reference()
        f1, precision, recall = token_f1(ctx.output, reference)
        verdict = "reaches" if f1 >= self.threshold else "is below"
        return self.result(
            f1,
            f"token F1 {f1:.3f} (precision {precision:.3f}, recall {recall:.3f}) {verdict} "
            f"threshold {self.threshold:g}",
        )
