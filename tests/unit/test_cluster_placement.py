"""Pure parts of cluster placement and the capacity model (bench/capacity_model.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from actors.host import is_database_file
from bench.capacity_model import MEASURED, ceilings


@pytest.mark.parametrize(
    ("url", "file"),
    [
        ("sqlite+libsql:////home/ubuntu/autoforge.db", True),
        ("sqlite:///relative.db", True),
        ("sqlite://", True),
        ("sqlite+libsql://my-db.turso.io?secure=true", False),
    ],
)
def test_a_database_file_is_told_from_a_server(url: str, file: bool) -> None:
    assert is_database_file(url) is file


def _args(**overrides: Any) -> argparse.Namespace:
    values: dict[str, Any] = {
        "nodes": 10,
        "cores_per_node": 4,
        "cpu_ms_per_cell": 0.5,
        "latency_ms": 0.0,
        "concurrency": 4096,
        "max_inflight": 4096,
        "batch": 16,
        "actor_calls_per_s": 4500.0,
        "permits_per_lease": 16,
        "redis_single_ops_per_cell": 2.0,
        "rpm": 0,
        "accounts": 1,
    }
    return argparse.Namespace(**(values | overrides))


def test_evaluators_grow_with_nodes_until_latency_caps_them() -> None:
    assert ceilings(_args(), MEASURED)["evaluators"] == 10 * 4 * 2000
    assert ceilings(_args(nodes=20), MEASURED)["evaluators"] == 20 * 4 * 2000
    slow = ceilings(_args(latency_ms=1000), MEASURED)
    assert slow["evaluators"] == 4096
    assert slow["scheduler"] == 4096  # max_inflight / latency


def test_shared_parts_do_not_grow_with_nodes_and_the_provider_binds_when_limited() -> None:
    small, large = ceilings(_args(nodes=2), MEASURED), ceilings(_args(nodes=200), MEASURED)
    for part in ("redis", "recorder (libSQL)", "gateway (one account)"):
        assert small[part] == large[part]
    assert small["gateway (one account)"] == MEASURED["gateway_actor_leases_per_s"] * 16
    limited = ceilings(_args(rpm=6000, accounts=2), MEASURED)
    assert limited["provider"] == 200
    assert min(limited, key=limited.__getitem__) == "provider"


@pytest.mark.parametrize("nodes", ["1", "17"])
def test_cluster_local_refuses_a_node_count_out_of_range_before_starting_anything(
    nodes: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli.main import main

    code = main(["cluster", "local", "--nodes", nodes, "--data-dir", str(tmp_path)])
    assert code == 2
    assert "--nodes must be 2..16" in capsys.readouterr().err
    assert not (tmp_path / "cluster-local.json").exists()


def test_cluster_local_stop_says_when_none_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli.main import main

    (tmp_path / "cluster-local.json").write_text('{"pid": 999999999}')  # a pid nobody has
    assert main(["cluster", "local", "--stop", "--data-dir", str(tmp_path)]) == 3
    assert "no local cluster runs" in capsys.readouterr().out
    assert not (tmp_path / "cluster-local.json").exists()
