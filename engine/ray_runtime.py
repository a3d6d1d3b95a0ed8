"""Starting or joining Ray with settings every worker needs.

Workers inherit the environment through `runtime_env`: LiteLLM must read its local cost
map (no network fetch) and every worker must reach the same Redis and database. Ray's
runtime-env agent logs that environment in plaintext to a world-readable file, so nothing
secret goes into it: actors get their URLs as arguments, provider keys come from the
environment the workers inherit.
"""

from __future__ import annotations

import os
from typing import Any

from engine.logs import get_logger
from engine.settings import redact_url

log = get_logger(__name__)

NAMESPACE = "autoforge"
# Token auth is on by default for a local cluster (2.59+); a driver joining it must say so.
RAY_AUTH_MODE = "RAY_AUTH_MODE"
WORKER_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "RAY_DEDUP_LOGS": "0"}


def worker_env(**extra: str) -> dict[str, str]:
    """Environment variables set in every Ray worker process; a value that carries a
    password or token (a URL with credentials) is left out."""
    env = dict(WORKER_ENV)
    for name, value in extra.items():
        if not value:
            continue
        if redact_url(value) != value:
            log.debug("credentials kept out of the Ray runtime_env", variable=name)
            continue
        env[name] = value
    return env


def start_ray(
    address: str | None,
    num_cpus: int | None,
    env_vars: dict[str, str],
    *,
    log_to_driver: bool = True,
    metrics_port: int | None = None,
) -> dict[str, Any]:
    """Join `address`, or start a local Ray sized to this machine; returns its resources.

    ``log_to_driver`` echoes the actors' output on this process' console (Ray's log files
    keep it either way). ``metrics_port``: where a local Ray's metrics agent serves
    Prometheus (a joined cluster's nodes say theirs with `ray start --metrics-export-port`).

    Raises:
        ServiceUnavailableError: Ray cannot start or the cluster cannot be reached.
    """
    import ray

    from domain.errors import ServiceUnavailableError

    if ray.is_initialized():
        return dict(ray.cluster_resources())  # type: ignore[no-untyped-call]
    kwargs: dict[str, Any] = {
        "namespace": NAMESPACE,
        "runtime_env": {"env_vars": env_vars},
        "include_dashboard": False,
        "logging_level": "WARNING",
        "log_to_driver": log_to_driver,
        "configure_logging": True,
    }
    if address:
        kwargs["address"] = address
    else:
        kwargs["address"] = "local"
        kwargs["num_cpus"] = num_cpus or os.cpu_count() or 1
        if metrics_port is not None:
            kwargs["_metrics_export_port"] = metrics_port
        # Token auth, Ray's default for a local head, said explicitly: left implicit, Ray
        # warns about it on every start.
        use_auth_mode("token")
    try:
        ray.init(**kwargs)
    except Exception as exc:
        target = address or "a local Ray"
        raise ServiceUnavailableError(f"cannot start or join {target}: {exc}") from exc
    resources = dict(ray.cluster_resources())  # type: ignore[no-untyped-call]
    log.info("ray ready", address=address or "local", cpus=resources.get("CPU"))
    return resources


def use_auth_mode(mode: str) -> None:
    """Join a cluster whose head runs Ray's auth `mode` ("token" for a local head here).

    An explicit RAY_AUTH_MODE wins. Ray caches the variable in its config when `ray` is
    imported (the CLI imports it to build its parser), so setting it alone is too late.
    """
    if os.environ.get(RAY_AUTH_MODE) is not None:
        return
    os.environ[RAY_AUTH_MODE] = mode
    from ray._raylet import Config  # type: ignore[attr-defined]

    Config.initialize("")


def current_address() -> str | None:
    """The GCS address of the cluster this process is connected to, for others to join."""
    import ray

    if not ray.is_initialized():
        return None
    address: str | None = ray.get_runtime_context().gcs_address
    return address


def metrics_targets() -> list[str]:
    """``host:port`` of every live node's Ray metrics agent: Prometheus' scrape targets for
    the actors' metrics (``ray_autoforge_*``) and Ray's own. Empty when not connected."""
    import ray

    if not ray.is_initialized():
        return []
    return [
        f"{node['NodeManagerAddress']}:{node['MetricsExportPort']}"
        for node in ray.nodes()  # type: ignore[no-untyped-call]
        if node.get("Alive") and node.get("MetricsExportPort")
    ]


def stop_ray() -> None:
    """Shut down the Ray this process started or joined."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
