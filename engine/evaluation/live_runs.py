"""The resolved contexts of the runs a cluster is working, kept outside the scheduler.

A `RunScheduler` restarted by Ray (`max_restarts`) has lost its memory; what it needs to
continue a run (templates, cases, catalogue, custom scorers, the owner's provider keys)
cannot be rebuilt from the database. Ray's GCS key-value store lives as long as the
cluster, in memory only (nothing is written under the Ray temp dir or the data dir), so a
restarted scheduler finds here every run it was working. A fresh cluster finds nothing:
its runs were interrupted with the process that owned them.
"""

from __future__ import annotations

from typing import Any

NAMESPACE = "autoforge-runs"


class LiveRuns:
    """Contexts of live runs of one deployment (one database), by run id."""

    def __init__(self, deployment: str) -> None:
        self._prefix = f"{deployment}:"

    def keep(self, context: Any) -> None:
        """Hold ``context`` until `drop`: a restarted scheduler continues its run."""
        import ray.cloudpickle as cloudpickle
        from ray.experimental.internal_kv import _internal_kv_put

        payload = cloudpickle.dumps(context)  # type: ignore[no-untyped-call]
        _internal_kv_put(self._prefix + context.run_id, payload, namespace=NAMESPACE)

    def get(self, run_id: str) -> Any | None:
        """The context of ``run_id`` if a scheduler of this cluster was working it."""
        import ray.cloudpickle as cloudpickle
        from ray.experimental.internal_kv import _internal_kv_get

        payload = _internal_kv_get(self._prefix + run_id, namespace=NAMESPACE)
        return None if payload is None else cloudpickle.loads(payload)

    def drop(self, run_id: str) -> None:
        from ray.experimental.internal_kv import _internal_kv_del

        _internal_kv_del(self._prefix + run_id, namespace=NAMESPACE)
