from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _validate(config: dict[str, Any]) -> None:
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(copy.deepcopy(config)))


@pytest.mark.parametrize("path", ["cluster.yaml", "docs/cluster-aws.yaml"])
def test_cluster_configs_pass_rays_validation(path: str) -> None:
    _validate(yaml.safe_load((ROOT / path).read_text()))


def test_local_config_installs_this_package_and_has_no_node_types() -> None:
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    assert config["provider"]["type"] == "local"
    assert "available_node_types" not in config
    assert any("pip install ~/autoforge-nexus" in c for c in config["setup_commands"])


def test_validation_rejects_a_broken_config() -> None:
    import jsonschema

    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    config["not_a_ray_field"] = True
    with pytest.raises(jsonschema.ValidationError):
        _validate(config)
