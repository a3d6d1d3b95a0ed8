"""Datasets: test cases, JSONL/CSV import and export, and numbered, content-hashed versions.

Examples:
    >>> result = parse_jsonl('{"question": "2+2?", "expected": "4"}')
    >>> [case.expected for case in result.cases]
    ['4']
"""

from domain.datasets.case import TestCase, derive_case_id
from domain.datasets.csv_format import parse_csv
from domain.datasets.export import to_csv, to_jsonl
from domain.datasets.jsonl import parse_jsonl
from domain.datasets.result import (
    DEFAULT_MAX_ROWS,
    DEFAULT_MAX_VALUE_BYTES,
    ParseResult,
    RowError,
)
from domain.datasets.version import DatasetVersion, content_hash

__all__ = [
    "DEFAULT_MAX_ROWS",
    "DEFAULT_MAX_VALUE_BYTES",
    "DatasetVersion",
    "ParseResult",
    "RowError",
    "TestCase",
    "content_hash",
    "derive_case_id",
    "parse_csv",
    "parse_jsonl",
    "to_csv",
    "to_jsonl",
]
