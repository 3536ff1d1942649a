"""The study notebook runs top to bottom on a report of a real (tiny) sweep."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from imitation_lab.report import report
from tests.conftest import REPO_ROOT
from tests.sweeps.conftest import Sweep

pytestmark = pytest.mark.slow
NOTEBOOK = REPO_ROOT / "notebooks" / "clip_vs_tanh.ipynb"


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


def test_notebook_executes_on_a_sweep_report(
    report_sweep: Sweep, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    report(report_sweep.dir, tmp_path / "report")
    monkeypatch.setenv("CLIP_VS_TANH_REPORT", str(tmp_path / "report"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    text = "".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", []))
    assert "6 jobs" in text and "bounding=tanh" in text
    assert "- bounding=clip:" in text  # the difference table against clip
    images = [
        out
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]
    assert len(images) == 1
