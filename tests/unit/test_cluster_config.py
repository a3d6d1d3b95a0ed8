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


def _schema_validator() -> Any:
    """Ray's autoscaler schema (``ray/autoscaler/ray-schema.json``, shipped with ray) as a
    Draft 7 validator that resolves only the schema's own ``$ref``s, never a remote one."""
    import json

    import jsonschema
    import ray.autoscaler
    from referencing import Registry
    from referencing.exceptions import NoSuchResource

    def refuse(uri: str) -> Any:
        raise NoSuchResource(ref=uri)

    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    return jsonschema.Draft7Validator(schema, registry=Registry(retrieve=refuse))


@pytest.mark.parametrize("path", ["cluster.yaml", "docs/cluster-aws.yaml"])
def test_cluster_configs_match_rays_schema_file(path: str) -> None:
    config = yaml.safe_load((ROOT / path).read_text())
    errors = [error.message for error in _schema_validator().iter_errors(config)]
    assert errors == []


def test_rays_schema_file_refuses_a_misspelt_field() -> None:
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    config["provider"]["head_ips"] = config["provider"].pop("head_ip")
    config["max_worker"] = 2
    errors = list(_schema_validator().iter_errors(config))
    assert any("max_worker" in error.message for error in errors)


def test_every_node_starts_ray_with_the_same_auth_mode() -> None:
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    head = " ".join(config["head_start_ray_commands"])
    workers = " ".join(config["worker_start_ray_commands"])
    assert "RAY_AUTH_MODE=token" in head and "RAY_AUTH_MODE=token" in workers
