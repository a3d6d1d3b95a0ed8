"""Optimizations from a guest engine (a process that joined the data dir's owner): the loop
runs in the guest, its runs are worked by the owner; a guest of an owner that works no runs
refuses before anything is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from domain.errors import ServiceUnavailableError
from engine.llm import simulator_catalogue
from tests.integration.test_optimization_loop import PROMPT, _engine, _seeded

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_a_guest_of_an_inline_owner_optimizes_through_the_owners_runs(
    tmp_path: Path, simulator: Any
) -> None:
    from engine import Engine

    owner = _engine(tmp_path / "data", simulator.api_base)
    try:
        _seeded(owner, 16)
        guest = Engine(data_dir=tmp_path / "data")
        guest.use_catalogue(owner.catalogue)
        try:
            assert guest.runtime.owner_served is not None and guest.runtime.executor is None
            opt = guest.optimize(
                PROMPT,
                "sums",
                ["openai/sim-small"],
                ["contains"],
                optimizer="random",
                max_metric_calls=30,
                minibatch=2,
                seed=1,
            )
            info = opt.wait(progress=False, timeout=180)
            assert info.status == "completed", info.error
        finally:
            guest.close()
        assert owner.optimization(opt.id).info.status == "completed"
    finally:
        owner.close()


def test_a_guest_of_an_owner_that_works_no_runs_refuses_before_storing(
    tmp_path: Path, simulator: Any
) -> None:
    from engine import Engine
    from engine.runtime import Runtime
    from engine.settings import load_settings

    owner = Runtime(load_settings(data_dir=tmp_path / "data"), start_ray=False).start()
    try:
        guest = Engine(data_dir=tmp_path / "data")
        guest.use_catalogue(simulator_catalogue(simulator.api_base))
        try:
            _seeded(guest, 12)
            with pytest.raises(ServiceUnavailableError) as refused:
                guest.optimize(
                    PROMPT, "sums", ["openai/sim-small"], ["contains"], optimizer="random"
                )
            assert refused.value.details["reason"] == "data-dir-busy"
            assert guest.optimizations() == []
            assert list(guest.prompts.get(PROMPT).branches) == ["main"]
        finally:
            guest.close()
    finally:
        owner.stop()
