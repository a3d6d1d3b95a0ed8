"""Keyword classifiers the simulated models use for sentiment and labelling tasks."""

from __future__ import annotations

import re

from engine.simulator._tasks import Task, mistakes_of

POSITIVE = frozenset(
    "good great love loved lovely excellent happy wonderful amazing fantastic best like liked "
    "enjoy enjoyed awesome nice pleased delighted perfect brilliant superb recommend".split()
)
NEGATIVE = frozenset(
    "bad terrible hate hated awful horrible worst poor sad angry disappointed disappointing "
    "broken boring slow ugly useless refund rude waste annoying".split()
)
_NEGATORS = frozenset("not no never isn't wasn't don't didn't doesn't hardly".split())
SENTIMENTS = ("positive", "negative", "neutral")

KEYWORDS: dict[str, frozenset[str]] = {
    label: frozenset(words.split())
    for label, words in {
        "billing": "bill invoice charge charged payment pay refund price subscription",
        "technical": "error bug crash crashes broken install login password slow server",
        "account": "account username profile email signup sign delete settings",
        "shipping": "shipping delivery package shipped arrived tracking courier",
        "sports": "game team match score player goal season coach league",
        "politics": "election government vote senate president minister policy law",
        "technology": "software computer app phone ai chip internet startup",
        "business": "market stock company profit revenue sales economy",
        "health": "doctor hospital disease medicine vaccine health diet",
        "science": "research study scientists experiment physics biology space",
        "spam": "free winner prize click offer urgent money lottery",
        "ham": "meeting tomorrow thanks lunch call see",
        "urgent": "asap immediately urgent now emergency critical",
        "question": "how what why when where which can could",
        "complaint": "bad terrible worst disappointed broken complaint angry",
        "praise": "great love excellent thanks amazing wonderful",
    }.items()
}

_WORD = re.compile(r"[a-z']+")
_SENTIMENT = re.compile(r"\bsentiment\b", re.IGNORECASE)
_LABELS = re.compile(
    r"\b(?:into|as|categories|labels|classes|options)\b"
    r"(?:\s+(?:one\s+of|either|the\s+(?:categories|labels|classes)))?\s*:?\s*"
    r"(?P<labels>[A-Za-z][\w-]*(?:\s*(?:,|/|\bor\b|\band\b)\s*[A-Za-z][\w-]*)+)"
)
_SPLIT = re.compile(r"\s*(?:,|/|\bor\b|\band\b)\s*")
_CLASSIFY = re.compile(r"\b(?:classify|categori[sz]e|label)\b", re.IGNORECASE)


def _as_written(label: str, prompt: str) -> str:
    m = re.search(rf"\b{re.escape(label)}\b", prompt, re.IGNORECASE)
    return m.group(0) if m else label


def sentiment_of(text: str) -> str:
    """Return positive/negative/neutral by counting listed words; a negator flips the next."""
    score = 0
    flip = False
    for word in _WORD.findall(text.lower()):
        polarity = (word in POSITIVE) - (word in NEGATIVE)
        score += -polarity if flip else polarity
        flip = word in _NEGATORS or (flip and polarity == 0 and word in ("very", "so", "that"))
    return "positive" if score > 0 else "negative" if score < 0 else "neutral"


def sentiment(text: str) -> Task | None:
    """``Classify the sentiment: I love it`` → ``positive``.

    Only the text after the first colon following "sentiment" is read, if there is one.
    Labels keep the casing the prompt wrote them in (``Positive`` if offered that way).
    """
    m = _SENTIMENT.search(text)
    if m is None:
        return None
    tail = text[m.end() :]
    colon = tail.find(":")
    body = tail[colon + 1 :] if colon >= 0 else tail
    label = sentiment_of(body)
    instruction = text[: m.end() + max(colon, 0)]
    answer = _as_written(label, instruction)
    others = [_as_written(s, instruction) for s in SENTIMENTS if s != label]
    return Task("sentiment", answer, mistakes_of(answer, others))


def classify(text: str) -> Task | None:
    """``Classify into billing, technical or account: my invoice is wrong`` → ``billing``.

    Each offered label scores one point per word of the text equal to the label, or listed
    for it in :data:`KEYWORDS`; the best label wins, ties go to the first offered (or to
    ``other`` when offered and nothing matched).
    """
    if _CLASSIFY.search(text) is None:
        return None
    m = _LABELS.search(text)
    if m is None:
        return None
    labels = [x for x in _SPLIT.split(m.group("labels")) if x]
    if len(labels) < 2:
        return None
    words = _WORD.findall((text[: m.start()] + " " + text[m.end() :]).lower())
    best, best_score = labels[0], 0
    for label in labels:
        key = label.lower()
        keys = KEYWORDS.get(key, frozenset()) | {key, key.rstrip("s")}
        score = sum(w in keys for w in words)
        if score > best_score:
            best, best_score = label, score
    if best_score == 0:
        best = next((x for x in labels if x.lower() == "other"), labels[0])
    return Task("classify", best, mistakes_of(best, [x for x in labels if x != best]))
