"""The layer contract (`[tool.importlinter]` in pyproject.toml) names every part of `engine`.

import-linter only checks the modules a contract names: a new `engine/<module>` left out of
the layers would be free to import anything. `make lint` runs the contracts themselves.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    return [part.strip() for layer in contract["layers"] for part in layer.split(":")]


def test_every_part_of_the_engine_has_a_layer() -> None:
    parts = {
        f"engine.{path.stem if path.is_file() else path.name}"
        for path in (ROOT / "engine").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert parts - set(_layers()) == set()


def test_the_facade_sits_above_the_actors_and_the_adapters_below() -> None:
    layers = _layers()
    assert layers.index("engine.cli") < layers.index("engine.sdk") < layers.index("actors")
    assert layers.index("actors") < layers.index("engine.runtime") < layers.index("domain")
