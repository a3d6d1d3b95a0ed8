"""`engine.sdk` exports each name from its home, loading it only on first use."""

from __future__ import annotations

import subprocess
import sys

import engine.sdk


def test_every_exported_name_resolves() -> None:
    for name in engine.sdk.__all__:
        assert getattr(engine.sdk, name) is not None


def test_the_prompt_sdk_loads_without_redis_ray_or_litellm() -> None:
    code = (
        "import sys, engine.sdk.prompts; "
        "print([m for m in ('redis', 'ray', 'litellm') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
