"""The quickstart notebook, executed headless in a real Jupyter kernel (nbclient)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"


def _texts(cell: Any) -> list[str]:
    texts: list[str] = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            texts.append(output["text"])
        for value in output.get("data", {}).values():
            texts.append(value if isinstance(value, str) else str(value))
    return texts


def test_the_quickstart_notebook_runs_with_a_notebook_progress_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    for name in ("REDIS_URL", "RAY_ADDRESS", "AUTOFORGE_LOG_FORMAT", "AUTOFORGE_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTOFORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUTOFORGE_RAY_NUM_CPUS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    code = [c for c in notebook.cells if c.cell_type == "code"]
    waited = next(c for c in code if "run.wait()" in c.source)
    assert any("completed" in text for text in _texts(waited))
    # tqdm drew an ipywidgets bar: no "IProgress not found" text-mode fallback.
    widgets = [
        o for o in waited.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widgets, waited.outputs
    report = next(c for c in code if 'run.report("markdown")' in c.source)
    assert "sim-large" in "".join(_texts(report))
    everything = "\n".join(text for cell in code for text in _texts(cell))
    assert "IProgress not found" not in everything
    warnings = [line for line in everything.splitlines() if "warn" in line.lower()]
    assert warnings == []
