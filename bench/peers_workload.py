"""What every peer-benchmark runner shares: the workloads, their cases, files and flags.

A workload is N cases of one variable, one template and one `contains` assertion. Each
runner (``bench/peers_*.py``) is a script run as its own process, given the simulator's
``--api-base``, the cell count and the concurrency; it prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL = "sim-medium"
"""The simulated model every runner asks: its latency factor is 1, so the workload's
latency is what each request takes (``sim-small`` answers in half of it)."""

TEMPLATE = "What is {{n}} + 1?"
ACCOUNT = "peers"


@dataclass(frozen=True)
class Workload:
    name: str
    cells: int
    latency_ms: float
    concurrency: int
    rpm: int | None = None

    @property
    def bound_s(self) -> float:
        """The least time it can take: the rate limit's pace, else latency × cells / C."""
        ideal = self.cells * self.latency_ms / 1000 / self.concurrency
        return max(ideal, self.cells * 60 / self.rpm) if self.rpm else ideal

    def label(self) -> str:
        limit = f", {self.rpm:,} rpm" if self.rpm else ""
        return f"{self.cells:,} cells, {self.latency_ms:g} ms{limit}, C={self.concurrency}"


WORKLOADS = {
    w.name: w
    for w in (
        Workload("0ms-c32", 1_000, 0, 32),
        Workload("100ms-c32", 1_000, 100, 32),
        Workload("100ms-c128", 2_000, 100, 128),
        Workload("rpm1200-c64", 600, 50, 64, rpm=1_200),
    )
}


def case(i: int) -> dict[str, Any]:
    return {"id": f"c{i:05d}", "vars": {"n": i}, "expected": str(i + 1)}


def rendered(i: int) -> str:
    """The template rendered for case ``i``, as the raw loops send it."""
    return TEMPLATE.replace("{{n}}", str(i))


UNLIMITED_RPM = 60_000_000
"""What the catalogue declares for a server without a rate limit (as `simulator_catalogue`)."""


@dataclass(frozen=True)
class Files:
    """What a user has on disk before the clock starts: cases, catalogue and eval file."""

    cases: Path
    catalogue: Path
    eval_file: Path
    data_dir: Path


def prepare(
    directory: Path,
    api_base: str,
    cells: int,
    concurrency: int,
    rpm: int | None = None,
    account_concurrency: int | None = None,
) -> Files:
    """Write the workload's files into ``directory`` (the data dir stays to be created)."""
    directory.mkdir(parents=True, exist_ok=True)
    cases = directory / "cases.jsonl"
    cases.write_text("".join(json.dumps(case(i)) + "\n" for i in range(cells)))
    catalogue = directory / "catalogue.json"
    catalogue.write_text(json.dumps(_catalogue(api_base, rpm, account_concurrency or concurrency)))
    eval_file = directory / "eval.yaml"
    eval_file.write_text(
        "name: peers\n"
        f"prompt: {{name: peers, versions: [{{template: {json.dumps(TEMPLATE)}}}]}}\n"
        f"models: [openai/{MODEL}]\n"
        "dataset: cases.jsonl\n"
        "scorers: [{type: contains}]\n"
        f"concurrency: {concurrency}\n"
        "cache: false\n"
    )
    return Files(cases, catalogue, eval_file, directory / "data")


def _catalogue(api_base: str, rpm: int | None, max_concurrency: int) -> dict[str, Any]:
    """The account a user declares for this server: its rpm (if limited) and concurrency."""
    from engine.simulator import SIMULATED_MODELS

    profile = SIMULATED_MODELS[MODEL]
    account = {
        "name": ACCOUNT,
        "provider": "openai",
        "api_base": api_base,
        "requires_api_key": False,
        "rpm": rpm or UNLIMITED_RPM,
        "max_concurrency": max_concurrency,
        "timeout_s": 60,
    }
    model = {
        "name": f"openai/{MODEL}",
        "account": ACCOUNT,
        "input_cost_per_token": profile.input_cost_per_token,
        "output_cost_per_token": profile.output_cost_per_token,
    }
    return {"accounts": [account], "models": [model]}


def runner_parser(description: str, *, engine: bool = False) -> argparse.ArgumentParser:
    """The flags every runner takes; ``engine`` adds the catalogue's declared limits."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--api-base", required=True, help="the simulator's /v1 URL")
    parser.add_argument("--cells", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    if engine:
        parser.add_argument("--rpm", type=int, default=None, help="the account's declared rpm")
        parser.add_argument(
            "--account-concurrency", type=int, default=None, help="default: --concurrency"
        )
        parser.add_argument(
            "--workdir", type=Path, default=None, help="files from `prepare` (else written now)"
        )
    return parser


def files_for(args: argparse.Namespace) -> Files:
    """The files `bench/peers.py` prepared in ``--workdir``, or new ones in a temp dir."""
    if args.workdir is not None:
        directory: Path = args.workdir
        return Files(
            directory / "cases.jsonl",
            directory / "catalogue.json",
            directory / "eval.yaml",
            directory / "data",
        )
    directory = Path(tempfile.mkdtemp(prefix="af-peers-"))
    return prepare(
        directory, args.api_base, args.cells, args.concurrency, args.rpm, args.account_concurrency
    )


def emit(result: dict[str, Any]) -> None:
    """The runner's one line of stdout, read by ``bench/peers.py``."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
