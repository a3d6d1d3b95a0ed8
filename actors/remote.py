"""The one way an actor class is defined: a plain class, made a Ray actor class once, at
module level, with its default options (Ray's docs list redefining one per call as an
anti-pattern). Creation adds the name and lifetime with ``.options(...)``."""

from __future__ import annotations

from typing import Any

import ray


def actor_class(cls: type, **options: Any) -> Any:
    """``cls`` as a Ray actor class whose actors get ``options`` unless told otherwise.

    Examples:
        >>> EvaluatorActor = actor_class(Evaluator, num_cpus=0)  # doctest: +SKIP
        >>> EvaluatorActor.options(name="evaluator:ab12cd34:0").remote(url)  # doctest: +SKIP
    """
    return ray.remote(**options)(cls)
