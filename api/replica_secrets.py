"""Secrets travel from `autoforge serve` to its Serve replicas in memory, never through a file.

Ray's runtime-env agent writes every `runtime_env` (env vars included) in plaintext to a
0644 log under the 0777 `/tmp/ray`, and Serve keeps deployment arguments in its own records:
a secret handed to replicas either way is readable by every local user. So the driver keeps
one named actor, gives it the secrets by method call (task arguments and results are held in
memory, inlined in the RPC, and not logged), and each replica asks for them as it starts.

A replica started without that driver (`serve run api/serve_config.yaml`) finds no holder and
reads its secrets from its own environment, as any Ray worker does.
"""

from __future__ import annotations

import base64
from typing import Any

import ray
from pydantic import SecretStr

from engine.keys import Keyring
from engine.ray_runtime import NAMESPACE
from engine.settings import redact_url

HOLDER_NAME = "serve-secrets"
SECRET_FIELDS = frozenset({"auth_hs256_secret", "metrics_token"})
# Plain for a file or a local socket; secret once they carry a password or an auth token.
URL_FIELDS = frozenset({"database_url", "redis_url"})
MASTER_KEYS = "secret_keys"


class SecretHolder:
    """The secrets of this Serve instance, in the memory of one actor process."""

    def __init__(self) -> None:
        self._secrets: dict[str, str] = {}

    def put(self, secrets: dict[str, str]) -> None:
        self._secrets = dict(secrets)

    def get(self) -> dict[str, str]:
        return dict(self._secrets)


RemoteSecretHolder: Any = ray.remote(num_cpus=0)(SecretHolder)


def split_secrets(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Replica settings as (what may be a bind argument, what must stay in memory)."""
    plain: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for name, value in overrides.items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        credentialed = name in URL_FIELDS and isinstance(value, str) and redact_url(value) != value
        if name in SECRET_FIELDS or credentialed:
            if value:
                secrets[name] = str(value)
        else:
            plain[name] = value
    return plain, secrets


def keyring_spec(keyring: Keyring) -> str:
    """``kid:base64key,…`` with the current key first, as `Keyring.parse` reads it."""
    order = [keyring.current, *(kid for kid in keyring.keys if kid != keyring.current)]
    return ",".join(f"{kid}:{base64.b64encode(keyring.keys[kid]).decode()}" for kid in order)


def hand_over(secrets: dict[str, str]) -> Any:
    """Give ``secrets`` to this cluster's holder (created if needed); keep the handle alive.

    A named actor that is not detached dies with its last handle: the caller holds it for as
    long as replicas may (re)start.
    """
    holder = RemoteSecretHolder.options(
        name=HOLDER_NAME, namespace=NAMESPACE, get_if_exists=True
    ).remote()
    ray.get(holder.put.remote(secrets))
    return holder


def fetch_secrets() -> dict[str, str]:
    """The secrets the driver handed over; empty when no holder runs (or outside Ray)."""
    if not ray.is_initialized():
        return {}
    try:
        holder = ray.get_actor(HOLDER_NAME, namespace=NAMESPACE)
    except ValueError:
        return {}
    secrets: Any = ray.get(holder.get.remote())
    return dict(secrets)
