"""experiments/baselines/plot.py draws the committed baseline results (one row per dataset)."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

HERE = REPO_ROOT / "experiments" / "baselines"


def _module():
    spec = importlib.util.spec_from_file_location("baselines_plot", HERE / "plot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_figure_of_the_committed_results(tmp_path: Path) -> None:
    plot = _module()
    paths = sorted(HERE.glob("results*.csv"))
    by_hand: dict[str, list[float]] = {}
    for path in paths:
        with open(path) as handle:
            for row in csv.DictReader(handle):
                by_hand.setdefault(row["dataset_id"], []).append(float(row[plot.METRIC]))
    rows = plot.plot(plot.read_scores(paths), tmp_path / "baselines.png")
    assert {d for d, *_ in rows} == set(by_hand)
    for dataset, mean, low, high in rows:
        assert mean == pytest.approx(sum(by_hand[dataset]) / len(by_hand[dataset]))
        assert min(by_hand[dataset]) - 1e-9 <= low <= mean <= high <= max(by_hand[dataset]) + 1e-9
    assert (tmp_path / "baselines.png").read_bytes().startswith(b"\x89PNG")
    assert (HERE / "baselines.png").is_file()  # the committed figure the README shows
