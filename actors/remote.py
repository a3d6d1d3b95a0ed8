"""The one way an actor class is defined: a plain class, made a Ray actor class once, at
module level, with its default options (Ray's docs list redefining one per call as an
anti-pattern). Creation adds the name and lifetime with ``.options(...)``.

Ray is imported when an actor class is first used, not when its module is: a process that
hosts the same classes inline (`actors.host`) never pays for ``import ray`` (~0.4 s)."""

from __future__ import annotations

from typing import Any


class _ActorClass:
    """``ray.remote(**options)(cls)``, built on first use and kept."""

    def __init__(self, cls: type, options: dict[str, Any]) -> None:
        self._cls = cls
        self._options = options
        self._remote: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._remote is None:
            import ray

            self._remote = ray.remote(**self._options)(self._cls)
        return getattr(self._remote, name)


def actor_class(cls: type, **options: Any) -> Any:
    """``cls`` as a Ray actor class whose actors get ``options`` unless told otherwise.

    Examples:
        >>> EvaluatorActor = actor_class(Evaluator, num_cpus=0)  # doctest: +SKIP
        >>> EvaluatorActor.options(name="evaluator:ab12cd34:0").remote(url)  # doctest: +SKIP
    """
    return _ActorClass(cls, options)


def is_ray_error(exc: BaseException, name: str = "RayError") -> bool:
    """Whether ``exc`` is Ray's ``ray.exceptions.<name>``, asked without importing Ray: in a
    process that never imported it, nothing can raise its errors."""
    import sys

    exceptions = sys.modules.get("ray.exceptions")
    kind = getattr(exceptions, name, None) if exceptions is not None else None
    return kind is not None and isinstance(exc, kind)
