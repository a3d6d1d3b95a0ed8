"""The recorded result of one cell, with its case: what every report is computed from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.evaluation.rows import ResultRow


@dataclass(frozen=True, kw_only=True)
class ResultRecord(ResultRow):
    """A recorded `ResultRow` read back with the case it was asked for.

    Attributes:
        variables: The case's template variables (empty when the case is not known).
        expected: The case's expected output, if any.
    """

    variables: Mapping[str, Any] = field(default_factory=dict, hash=False)
    expected: str | None = None
