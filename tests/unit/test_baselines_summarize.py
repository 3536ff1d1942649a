"""experiments/baselines/summarize.py extends its CSV: rows of other datasets are never dropped."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "experiments" / "baselines" / "summarize.py"
FIELDS = ["dataset_id", "seed", "train_steps", "final_normalized_score", "best_normalized_score"]
FIELDS += ["final_return_mean", "final_return_std", "final_success_rate", "wall_s"]


def _module():
    spec = importlib.util.spec_from_file_location("baselines_summarize", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(dataset_id: str, seed: int, score: float) -> dict:
    return {
        "dataset_id": dataset_id,
        "seed": seed,
        "train_steps": 10,
        "final_normalized_score": score,
        "best_normalized_score": score,
        "final_return_mean": score,
        "final_return_std": 0.0,
        "final_success_rate": "",
        "wall_s": 1.0,
    }


def test_recorded_rows_of_other_datasets_and_seeds_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows([_row("me/a/x-v0", 0, 1.0), _row("me/b/x-v0", 0, 2.0)])
    merged = _module().merge_with_recorded([_row("me/b/x-v0", 0, 9.0)], path)
    scores = {(r["dataset_id"], r["seed"]): r["final_normalized_score"] for r in merged}
    assert scores == {("me/a/x-v0", 0): 1.0, ("me/b/x-v0", 0): 9.0}  # b's seed 0 re-run wins


def test_rows_of_a_csv_without_the_success_column_are_read(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    old_fields = [f for f in FIELDS if f != "final_success_rate"]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=old_fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerow(_row("me/a/x-v0", 0, 1.0))
    module = _module()
    merged = module.merge_with_recorded([_row("me/b/x-v0", 0, 9.0)], path)
    assert {r["final_success_rate"] for r in merged} == {""}
    assert "| `me/a/x-v0` | 1 |" in module.results_table(merged)


def test_a_folder_without_runs_is_one_error_and_leaves_the_csv(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_text("kept\n")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "empty"), "--csv", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "error: no finished runs" in done.stderr
    assert path.read_text() == "kept\n"
