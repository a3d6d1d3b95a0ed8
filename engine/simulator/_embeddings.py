"""Deterministic text embeddings: a normalised bag of hashed words."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from functools import lru_cache

DIMENSIONS = 64
_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    "a an the of on in to at is are was were be it its and or for with as by this that".split()
)


@lru_cache(maxsize=65_536)
def _slot(token: str) -> int:
    digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def embed(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """Embed ``text`` as a unit vector; texts sharing words have cosine-similar vectors.

    Each lower-cased word except common stopwords (all words if only stopwords) adds ±1 to
    one dimension chosen by a blake2b hash (the sign comes from another bit of the same
    hash), then the vector is L2-normalised. Text without words maps to the first basis
    vector.

    Examples:
        >>> len(embed("hello world"))
        64
    """
    vector = [0.0] * dimensions
    tokens = _TOKEN.findall(text.lower())
    for token in [t for t in tokens if t not in _STOPWORDS] or tokens:
        h = _slot(token)
        vector[h % dimensions] += 1.0 if (h >> 32) & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        return [1.0] + [0.0] * (dimensions - 1)
    return [v / norm for v in vector]


def as_base64(vector: list[float]) -> str:
    """Encode like OpenAI's ``encoding_format="base64"``: little-endian float32."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
