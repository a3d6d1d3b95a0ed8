"""The names of the engine's actors: everybody who creates or looks one up asks here.

A deployment's actors (scheduler, recorder, evaluators, prompt shards) are tagged by the
database they write, so two engines on one Ray cluster never share one bound to the other's
database (`get_if_exists` would hand it back). Gateways are per account and cluster-wide:
their limits hold for every engine that calls the account.
"""

from __future__ import annotations

import hashlib


def deployment_tag(database_url: str) -> str:
    """A short tag of the database an engine writes, used in its actors' names."""
    return hashlib.blake2b(database_url.encode(), digest_size=4).hexdigest()


def scheduler_name(database_url: str) -> str:
    """The `RunScheduler` of a deployment."""
    return f"run-scheduler:{deployment_tag(database_url)}"


def recorder_name(database_url: str) -> str:
    """The `ResultRecorder` of a deployment."""
    return f"result-recorder:{deployment_tag(database_url)}"


def evaluator_name(database_url: str, index: int) -> str:
    """Evaluator ``index`` of a deployment's pool."""
    return f"evaluator:{deployment_tag(database_url)}:{index}"


def shard_name(index: int, database_url: str) -> str:
    """Prompt shard ``index`` of a deployment."""
    return f"prompt-shard:{deployment_tag(database_url)}:{index}"


def gateway_name(account: str) -> str:
    """The `Gateway` of provider account ``account``."""
    return f"gateway:{account}"
