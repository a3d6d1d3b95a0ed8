"""What ``autoforge eval`` refuses before it starts a service: everything the eval file and
the settings alone can tell (dataset file, scorers, budget, model names).

The engine checks the same again when the run is created (versions, API keys, parameters);
this pass only spares a user ~25 s of starting Ray and Redis to learn about a typo.
"""

from __future__ import annotations

from domain.errors import ValidationError
from domain.evaluation import check_budget
from domain.llm import Catalogue
from engine.evaluation.evalfile import EvalFile
from engine.sdk.evalrun import eval_rows
from engine.sdk.evaluations import split_scorers
from engine.settings import Settings

# Model names are all this pass reads from the simulator's account; it starts with the engine.
_SIMULATOR_NOT_STARTED = "http://127.0.0.1:0/v1"


def check_eval_file(spec: EvalFile, settings: Settings) -> None:
    """Validate what ``spec`` names.

    Raises:
        ValidationError: unreadable or invalid dataset file, bad scorer, bad budget.
        NotFoundError: a model the catalogue does not list.
    """
    try:
        eval_rows(spec)
    except OSError as exc:
        raise ValidationError(
            f"eval file dataset: cannot read {spec.dataset_path}: {exc.strerror or exc}",
            reason="bad-eval-file",
            field="dataset",
        ) from None
    except UnicodeDecodeError:
        raise ValidationError(
            f"eval file dataset: {spec.dataset_path} is not UTF-8 text",
            reason="bad-eval-file",
            field="dataset",
        ) from None
    split_scorers(spec.scorers, allow_code=True, base_dir=spec.path.parent)  # the user's file
    if spec.budget_usd is not None:
        check_budget(spec.budget_usd)
    catalogue = _catalogue(settings, spec.simulator)
    for model in spec.models:
        catalogue.model(model)


def _catalogue(settings: Settings, simulator: bool) -> Catalogue:
    from engine.llm.catalogue import default_catalogue, load_catalogue

    if settings.catalogue_path is not None:
        return load_catalogue(settings.catalogue_path)
    return default_catalogue(_SIMULATOR_NOT_STARTED if simulator else None)
