"""An imported suite, what it could not bring over, and choosing the importer by shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.datasets import TestCase
from domain.errors import ValidationError
from engine.evaluation.evalfile import EvalFile, PromptVersionSpec
from engine.interop.models import ModelMap


@dataclass(frozen=True)
class Unsupported:
    """One construct an importer could not bring over, and where it is in the source."""

    where: str
    """Key path in the source, e.g. ``tests[3].assert[1]`` or ``prompts[0]``."""
    what: str
    """What it is and why it is not supported, e.g. ``assertion type 'webhook'``."""

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"

    def to_dict(self) -> dict[str, str]:
        return {"where": self.where, "what": self.what}


@dataclass(frozen=True)
class ImportedSuite:
    """A third-party suite in our terms.

    Args:
        kind: The importer: ``"promptfoo"``, ``"openai-evals"`` or ``"openai-evals-api"``.
        source: The file it came from.
        name: The suite's name (also names the run and the dataset ``<name>-cases``).
        description: The suite's description, if any.
        prompt_name: The prompt its versions are committed to.
        versions: One prompt version per source prompt, in source order.
        models: Catalogue model names, after the model map.
        cases: The test cases, with their own assertions (`TestCase.scorers`).
        scorers: Scorer specs applied to every case.
        unsupported: Everything left out, with its location. Not empty means the suite may
            run only when the user asked to skip those.
    """

    kind: str
    source: Path
    name: str
    description: str
    prompt_name: str
    versions: tuple[PromptVersionSpec, ...]
    models: tuple[str, ...]
    cases: tuple[TestCase, ...]
    scorers: tuple[dict[str, Any], ...] = ()
    unsupported: tuple[Unsupported, ...] = ()

    def check_supported(self, *, skip_unsupported: bool) -> None:
        """Refuse a suite with unsupported constructs unless the user asked to skip them.

        Raises:
            ValidationError: ``reason="unsupported"`` listing each construct and where it is
                (``details["unsupported"]``).
        """
        if not self.unsupported or skip_unsupported:
            return
        lines = "".join(f"\n  {item}" for item in self.unsupported)
        raise ValidationError(
            f"{self.kind} suite {self.source} uses {len(self.unsupported)} unsupported "
            f"construct(s); nothing was run (pass --skip-unsupported to run the rest):{lines}",
            reason="unsupported",
            unsupported=[u.to_dict() for u in self.unsupported],
        )

    def to_eval_file(self, **overrides: Any) -> EvalFile:
        """What `autoforge eval` runs: the suite's versions × models on its cases."""
        if not self.models:
            raise ValidationError(
                f"{self.kind} suite {self.source} names no model: give one with "
                "--model-map '*=MODEL'",
                reason="no-model",
            )
        if not self.cases:
            raise ValidationError(
                f"{self.kind} suite {self.source} has no test case", reason="empty"
            )
        fields: dict[str, Any] = {
            "path": self.source,
            "name": self.name,
            "prompt_name": self.prompt_name,
            "versions": self.versions,
            "models": self.models,
            "dataset_path": None,
            "scorers": self.scorers,
            "cases": self.cases,
        }
        fields.update(overrides)
        return EvalFile(**fields)


Loader = Callable[[Path, ModelMap], ImportedSuite]
"""An importer: the source file and the user's model map to a suite (no service called)."""
Detector = Callable[[Path, Any], bool]
"""Whether a parsed file (its path and the loaded YAML/JSON value) is this importer's shape."""
_IMPORTERS: dict[str, tuple[Detector, Loader]] = {}


def register_importer(kind: str, detect: Detector, load: Loader) -> None:
    """Make ``kind`` available to `load_suite` and `detect_kind`."""
    _IMPORTERS[kind] = (detect, load)


def importer_kinds() -> list[str]:
    """The known importer kinds, sorted."""
    _load_importers()
    return sorted(_IMPORTERS)


def _load_importers() -> None:
    # The importers register themselves on import; importing them here keeps `autoforge eval`
    # of a native eval file from loading any of them.
    import importlib

    for module in ("promptfoo", "openai_evals"):
        importlib.import_module(f"engine.interop.{module}")


def detect_kind(path: Path, data: Any) -> str | None:
    """The importer whose shape ``data`` (the parsed file at ``path``) has, if any."""
    _load_importers()
    for kind, (detect, _load) in sorted(_IMPORTERS.items()):
        if detect(path, data):
            return kind
    return None


def load_suite(path: str | Path, kind: str, model_map: ModelMap | None = None) -> ImportedSuite:
    """Import the suite at ``path`` with the ``kind`` importer.

    Raises:
        ValidationError: ``reason="unknown-importer"``, or the importer's own errors
            (unreadable or malformed files, each with its location).
    """
    _load_importers()
    if kind not in _IMPORTERS:
        raise ValidationError(
            f"unknown suite kind {kind!r} (known: {', '.join(sorted(_IMPORTERS)) or 'none'})",
            reason="unknown-importer",
        )
    return _IMPORTERS[kind][1](Path(path), model_map or ModelMap())
