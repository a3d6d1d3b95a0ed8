"""Deterministic token log-probabilities for ``logprobs: true`` chat requests."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

_TOKEN = re.compile(r"\s*\S+|\s+")


def token_logprobs(content: str) -> list[dict[str, Any]]:
    """OpenAI's ``logprobs.content``: one entry per word (with its leading space).

    Each word's probability lies in [0.5, 1), fixed by a hash of the word, so a text's
    perplexity lies in (1, 2] and the same text always gets the same one.

    Examples:
        >>> [t["token"] for t in token_logprobs("The answer is 4.")]
        ['The', ' answer', ' is', ' 4.']
    """
    entries = []
    for token in _TOKEN.findall(content):
        digest = hashlib.blake2b(token.encode(), digest_size=4).digest()
        probability = 0.5 + 0.5 * int.from_bytes(digest, "big") / 2**32
        entries.append(
            {
                "token": token,
                "logprob": math.log(probability),
                "bytes": list(token.encode()),
                "top_logprobs": [],
            }
        )
    return entries
