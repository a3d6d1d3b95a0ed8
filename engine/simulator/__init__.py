"""A simulated OpenAI-compatible provider: real HTTP, seeded answers, limits and faults.

Models (``sim-small``, ``sim-medium``, ``sim-large``, ``sim-judge``) attempt simple tasks
in the last user message — arithmetic, string transforms, keyword classification, JSON
extraction — and succeed with a probability set by their skill and the prompt's quality;
``sim-judge`` grades answers against expected text (and picks a choice for model-graded
prompts); ``sim-reflector`` proposes prompt edits from a reflection request. Output rules
(decimals, units, casing, prefixes...) are followed only when the prompt states or
demonstrates them (``_follow``); ``_families`` holds seeded task families with hidden rules
for optimization benchmarks. See ``_reply``, ``_judge`` and ``_graded`` for the exact rules.

Examples:
    >>> from engine.simulator import SimulatorConfig, running_simulator
    >>> with running_simulator(SimulatorConfig(rpm=600)) as sim:  # doctest: +SKIP
    ...     litellm.completion(model="openai/sim-small", api_base=sim.api_base, api_key="x",
    ...                        messages=[{"role": "user", "content": "What is 2 + 2?"}])
"""

from __future__ import annotations

from engine.simulator._config import SimulatorConfig
from engine.simulator._embeddings import embed
from engine.simulator._models import (
    EMBEDDING_MODEL,
    SIMULATED_MODELS,
    ModelProfile,
    register_with_litellm,
)
from engine.simulator._reply import simulate_reply
from engine.simulator._runners import running_simulator, simulator_subprocess
from engine.simulator._server import Simulator
from engine.simulator._stats import credential_fingerprint, request_key

__all__ = [
    "EMBEDDING_MODEL",
    "SIMULATED_MODELS",
    "ModelProfile",
    "Simulator",
    "SimulatorConfig",
    "credential_fingerprint",
    "embed",
    "register_with_litellm",
    "request_key",
    "running_simulator",
    "simulate_reply",
    "simulator_subprocess",
]
