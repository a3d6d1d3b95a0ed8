import pytest

from domain.errors import ValidationError
from domain.scoring import PureScorer, Score, ScoreContext, ScorerSpec, build_scorer
from domain.scoring.metrics import squad_tokens, token_f1

# The sample in rouge-score's `RougeScorer` docstring (rouge_score/rouge_scorer.py, also its
# README): ROUGE-1 with stemming is P 6/8, R 6/9, F1 12/17 = 0.70588 (the, quick, brown,
# jump, dog and a second "the" shared).
ROUGE_TARGET = "The quick brown fox jumps over the lazy dog"
ROUGE_PREDICTION = "The quick brown dog jumps on the log."

# sacrebleu's test/test_sentence_bleu.py (example from its issue #98): sentence BLEU with
# exp smoothing, 13a tokens and effective order is 8.493.
BLEU_REF = "producţia de zahăr brut se exprimă în zahăr alb;"
BLEU_SYS = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;"


def score(
    type_: str,
    output: str,
    expected: str | None = None,
    threshold: float | None = None,
    **args: object,
) -> Score:
    scorer = build_scorer(ScorerSpec(type_, args, threshold=threshold))
    assert isinstance(scorer, PureScorer)
    return scorer.score(ScoreContext(output=output, expected=expected))


# rouge-n


def test_rouge_1_matches_rouge_scores_documented_sample():
    result = score("rouge-n", ROUGE_PREDICTION, expected=ROUGE_TARGET, stem=True)
    assert result.value == pytest.approx(12 / 17)
    assert not result.passed  # default threshold 0.75
    assert result.reason == (
        "ROUGE-1 F1 0.706 (precision 0.750, recall 0.667) is below threshold 0.75"
    )


def test_rouge_agrees_with_rouge_scores_own_tokenizer_on_ascii_text():
    from rouge_score import rouge_scorer

    for n in (1, 2, 3, 4):
        oracle = rouge_scorer.RougeScorer([f"rouge{n}"], use_stemmer=True)
        expected = oracle.score(ROUGE_TARGET, ROUGE_PREDICTION)[f"rouge{n}"].fmeasure
        assert score("rouge-n", ROUGE_PREDICTION, value=ROUGE_TARGET, n=n, stem=True).value == (
            pytest.approx(expected)
        )


def test_rouge_2_counts_shared_bigrams():
    # 2 shared bigrams (the quick, quick brown) of 7 predicted and 8 reference: F1 4/15.
    result = score("rouge-n", ROUGE_PREDICTION, value=ROUGE_TARGET, n=2)
    assert result.value == pytest.approx(4 / 15)


def test_rouge_keeps_non_ascii_letters():
    # rouge-score's own tokenizer would read "café" as "caf" and "naïve" as "na ve".
    result = score("rouge-n", "café naïve", value="café crème")
    assert result.value == pytest.approx(0.5)


def test_rouge_passes_at_exactly_the_threshold():
    assert score("rouge-n", "a b", value="a c", threshold=0.5).passed  # F1 exactly 0.5
    assert not score("rouge-n", "a b", value="a c", threshold=0.51).passed


def test_rouge_needs_a_reference():
    assert "no 'value' argument" in score("rouge-n", "text").reason


@pytest.mark.parametrize("n", [0, 5, 1.5, "2", True])
def test_rouge_n_must_be_a_whole_number_from_1_to_4(n):
    with pytest.raises(ValidationError, match="'n' must be"):
        build_scorer(ScorerSpec("rouge-n", {"n": n}))


# bleu


def test_bleu_matches_sacrebleus_documented_sentence_score():
    result = score("bleu", BLEU_SYS, value=BLEU_REF)
    assert result.value == pytest.approx(0.08493, abs=1e-5)
    assert result.reason == "BLEU 0.085 against the reference is below threshold 0.5"


def test_bleu_with_nothing_shared_is_zero():
    # sacrebleu's test_api_sentence_bleu_zero (its issue #141).
    assert score("bleu", "this is a cat", expected="okay thanks").value == 0.0


def test_bleu_takes_the_best_of_several_references():
    result = score("bleu", "The cat sat on the mat.", value=["A dog.", "The cat sat on the mat."])
    assert result.value == pytest.approx(1.0) and result.passed
    assert "against 2 references" in result.reason


def test_bleu_threshold_is_inclusive():
    assert score("bleu", "same words here", value="same words here", threshold=1.0).passed


def test_bleu_falls_back_to_the_expected_answer():
    assert score("bleu", "the cat sat", expected="the cat sat").passed
    assert score("bleu", "the cat sat").reason.startswith("no 'value' argument")


@pytest.mark.parametrize("value", [[], [""], "", 3, ["ok", 2]])
def test_bleu_refuses_bad_references(value):
    with pytest.raises(ValidationError, match="'value'"):
        build_scorer(ScorerSpec("bleu", {"value": value}))


# f-score


def test_squad_normalisation_drops_case_punctuation_and_articles():
    assert squad_tokens("The  Eiffel-Tower, an icon!") == ["eiffeltower", "icon"]


def test_token_f1_known_values():
    # 2 shared of 4 predicted and 2 expected: P 0.5, R 1, F1 2/3.
    assert token_f1("The Eiffel Tower, in Paris!", "eiffel tower") == pytest.approx(
        (2 / 3, 2 / 4, 1.0)
    )
    assert token_f1("a an the", "the") == (1.0, 1.0, 1.0)  # both empty once normalised
    assert token_f1("", "Paris") == (0.0, 0.0, 0.0)
    assert token_f1("paris paris", "paris") == pytest.approx((2 / 3, 0.5, 1.0))


def test_f_score_passes_at_exactly_the_default_threshold():
    result = score("f-score", "paris london", expected="paris rome")  # F1 exactly 0.5
    assert result.passed
    assert result.reason == ("token F1 0.500 (precision 0.500, recall 0.500) reaches threshold 0.5")
    assert not score("f-score", "london", expected="paris rome").passed


def test_f_score_prefers_value_over_expected():
    assert score("f-score", "rome", expected="paris", value="Rome.").value == 1.0
