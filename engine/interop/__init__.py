"""Suites written for other tools (promptfoo, OpenAI Evals), read as they are.

Each importer turns a third-party file into an `ImportedSuite`: prompt versions, cases with
their own assertions, run-wide scorers and catalogue model names, plus every construct it
could not bring over (`Unsupported`, never silently dropped). `load_suite` picks the importer
by the file's shape; `ImportedSuite.to_eval_file` gives what `autoforge eval` runs.
"""

from engine.interop.models import ModelMap, default_model_name
from engine.interop.suite import ImportedSuite, Unsupported, detect_kind, load_suite

__all__ = [
    "ImportedSuite",
    "ModelMap",
    "Unsupported",
    "default_model_name",
    "detect_kind",
    "load_suite",
]
