"""The report on real sweeps: numbers against a hand computation, partial sweeps, failures."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from imitation_lab.cli import main as cli_main
from imitation_lab.errors import SweepError
from imitation_lab.report import main as report_main
from imitation_lab.report import report
from imitation_lab.runs.run_dir import DONE
from tests.sweeps.conftest import Sweep, job_dir, run_sweep

pytestmark = pytest.mark.slow
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _scores_by_arm(sweep_dir: Path) -> dict[str, list[float]]:
    """By hand: each job's overrides and DONE.json summary."""
    out: dict[str, list[float]] = {}
    for job in sorted(sweep_dir.glob(f"*/{DONE}")):
        overrides = yaml.safe_load((job.parent / ".hydra" / "overrides.yaml").read_text())
        arm = next(o.split("=")[1] for o in overrides if o.startswith("bounding="))
        score = json.loads(job.read_text())["summary"]["final/normalized_score"]
        out.setdefault(arm, []).append(score)
    return out


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path) as handle:
        return {row["group"]: row for row in csv.DictReader(handle)}


def test_report_matches_hand_computation(report_sweep: Sweep, tmp_path: Path):
    report(report_sweep.dir, tmp_path)
    rows = _rows(tmp_path / "results.csv")
    hand = _scores_by_arm(report_sweep.dir)
    assert set(rows) == {"bounding=clip", "bounding=tanh"}  # grouped by bounding, not seed
    for arm, scores in hand.items():
        row, x = rows[f"bounding={arm}"], np.sort(scores)
        assert int(row["n"]) == 3 and int(row["n_failed"]) == 0
        assert float(row["mean"]) == pytest.approx(sum(scores) / 3)
        assert float(row["std"]) == pytest.approx(
            (sum((s - sum(scores) / 3) ** 2 for s in scores) / 2) ** 0.5
        )
        assert float(row["median"]) == pytest.approx(x[1])
        assert float(row["iqm"]) == pytest.approx(x.mean())  # n=3: int(0.75) = 0 trimmed
        for stat in ("mean", "iqm"):
            low, high = float(row[f"{stat}_ci_low"]), float(row[f"{stat}_ci_high"])
            eps = 1e-9  # the mean of identical resampled values is not bit-exact
            assert x[0] - eps <= low <= float(row[stat]) <= high <= x[-1] + eps
    md = (tmp_path / "results.md").read_text()
    clip = rows["bounding=clip"]
    assert f"| bounding=clip | 3 | {float(clip['mean']):.1f} ± {float(clip['std']):.1f} |" in md
    for png in ("learning_curves.png", "final_scores.png", "paired_differences.png"):
        data = (tmp_path / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    with open(tmp_path / "curves.csv") as handle:  # evals at steps 25 and 50 of every job
        curves = {(r["group"], int(r["step"])): r for r in csv.DictReader(handle)}
    for arm in hand:
        for step in (25, 50):
            values = [
                json.loads(line)["eval/normalized_score"]
                for job in report_sweep.dir.glob("*/metrics.jsonl")
                if f"bounding={arm}" in (job.parent / ".hydra/overrides.yaml").read_text()
                for line in job.read_text().splitlines()
                if json.loads(line)["step"] == step and "eval/normalized_score" in line
            ]
            row = curves[(f"bounding={arm}", step)]
            assert int(row["n"]) == len(values) == 3
            assert float(row["mean"]) == pytest.approx(sum(values) / 3)
    with open(tmp_path / "runs.csv") as handle:
        runs = list(csv.DictReader(handle))
    assert len(runs) == 6 and {r["status"] for r in runs} == {"done"}
    # paired by seed: tanh seed k minus clip seed k (the same seeds: the same order by hand)
    tanh, clip = (_scores_by_seed(report_sweep.dir, arm) for arm in ("tanh", "clip"))
    diffs = [t - c for t, c in zip(tanh, clip, strict=True)]
    assert "## Paired by seed: difference to bounding=clip" in md
    row = f"| bounding=tanh | 3 | {np.mean(diffs):+.1f} ["
    assert row in md and f"| {sum(d > 0 for d in diffs)} | {sum(d < 0 for d in diffs)} |" in md


def _scores_by_seed(sweep_dir: Path, arm: str) -> list[float]:
    found = {}
    for job in sweep_dir.glob(f"*/{DONE}"):
        overrides = yaml.safe_load((job.parent / ".hydra" / "overrides.yaml").read_text())
        if f"bounding={arm}" in overrides:
            seed = next(o for o in overrides if o.startswith("seed="))
            found[seed] = json.loads(job.read_text())["summary"]["final/normalized_score"]
    return [found[s] for s in sorted(found)]


def test_partial_sweep_reports_n_per_group(report_sweep: Sweep, tmp_path: Path):
    partial = tmp_path / "partial"
    shutil.copytree(report_sweep.dir, partial, ignore=shutil.ignore_patterns("checkpoints"))
    jobs = {}
    for job in (d for d in partial.iterdir() if (d / ".hydra").is_dir()):
        overrides = yaml.safe_load((job / ".hydra/overrides.yaml").read_text())
        jobs[tuple(o for o in overrides if o.startswith(("bounding=", "seed=")))] = job
    shutil.rmtree(jobs[("bounding=tanh", "seed=2")])  # never started
    unfinished = jobs[("bounding=tanh", "seed=1")]  # killed mid-run: no marker, no summary
    (unfinished / DONE).unlink()
    lines = (unfinished / "metrics.jsonl").read_text().splitlines()
    (unfinished / "metrics.jsonl").write_text("\n".join(lines[:2]) + "\n")
    report(partial, tmp_path / "out")
    rows = _rows(tmp_path / "out" / "results.csv")
    assert (rows["bounding=clip"]["n"], rows["bounding=tanh"]["n"]) == ("3", "1")
    assert rows["bounding=tanh"]["n_unfinished"] == "1"
    assert "| bounding=tanh | 1 |" in (tmp_path / "out" / "results.md").read_text()


def test_failed_job_is_listed(failing_sweep: Sweep, tmp_path: Path):
    report(failing_sweep.dir, tmp_path)
    rows = _rows(tmp_path / "results.csv")
    assert rows["optim.lr=-1"]["n_failed"] == "1" and rows["optim.lr=-1"]["n"] == "0"
    assert rows["optim.lr=0.001"]["n"] == "1"
    md = (tmp_path / "results.md").read_text()
    assert "## Failed or unfinished jobs" in md
    assert f"| {job_dir(failing_sweep.dir, 1).name} | failed | `optim.lr=-1`" in md
    assert "ConfigError" in md


def test_not_a_sweep_is_one_clear_error(report_sweep: Sweep, tmp_path: Path, capsys):
    with pytest.raises(SweepError, match="is a single run"):
        report(job_dir(report_sweep.dir, 0), tmp_path / "out")
    with pytest.raises(SweepError, match="not a Hydra sweep"):
        report(tmp_path, tmp_path / "out")
    with pytest.raises(SystemExit) as exit_info:
        report_main([str(tmp_path / "missing")])
    assert exit_info.value.code == 1
    assert "does not exist" in capsys.readouterr().err


def test_console_subcommand_reports(
    report_sweep: Sweep, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(sys, "argv", ["imitation-lab"])  # the CLI rewrites sys.argv
    cli_main(["report", str(report_sweep.dir), "--out", str(tmp_path)])
    assert "| bounding=clip | 3 |" in capsys.readouterr().out
    assert (tmp_path / "results.csv").exists()


def test_group_by_other_keys_stratifies_by_the_rest(report_sweep: Sweep, tmp_path: Path):
    results = report(report_sweep.dir, tmp_path, by=["seed"])
    assert sorted(r.label for r in results) == ["seed=0", "seed=1", "seed=2"]
    for res in results:  # each seed group holds one clip and one tanh job, as two strata
        assert res.stats["n"] == 2 and len(res.strata) == 2
        assert res.stats["mean_ci_low"] == pytest.approx(res.stats["mean"])  # 1 run per stratum


def test_probability_of_improvement_over_the_reference_arm(report_sweep: Sweep, tmp_path: Path):
    """P(tanh > clip) by hand (pairs of seeds, ties 1/2) equals the report's; clip has none."""
    report(report_sweep.dir, tmp_path)  # reference defaults to clip: it is one of the arms
    rows = _rows(tmp_path / "results.csv")
    hand = _scores_by_arm(report_sweep.dir)
    pairs = [np.sign(t - c) for t in hand["tanh"] for c in hand["clip"]]
    expected = (np.mean(pairs) + 1) / 2
    tanh = rows["bounding=tanh"]
    assert float(tanh["poi_vs_reference"]) == pytest.approx(expected)
    assert 0.0 <= float(tanh["poi_ci_low"]) <= expected <= float(tanh["poi_ci_high"]) <= 1.0
    assert rows["bounding=clip"]["poi_vs_reference"] == ""
    md = (tmp_path / "results.md").read_text()
    assert "P(> clip) [95% CI]" in md and f"| {expected:.2f} [" in md
    with pytest.raises(SweepError, match=r"No arm bounding='sigmoid'.*\['clip', 'tanh'\]"):
        report(report_sweep.dir, tmp_path / "x", reference="sigmoid")


@pytest.fixture(scope="module")
def two_task_sweep(tmp_path_factory: pytest.TempPathFactory, built_pendulum: Path) -> Sweep:
    """Batched, 2 arms x 2 learning rates (the tasks) x 3 seeds, in one process."""
    sweep = run_sweep(
        tmp_path_factory.mktemp("sweeps") / "tasks",
        ["hydra/launcher=batched", "bounding=clip,tanh", "optim.lr=0.001,0.01", "seed=0,1,2"],
        built_pendulum,
    )
    assert sweep.proc.returncode == 0, sweep.log[-3000:]
    return sweep


def _scores_by_arm_and_task(sweep_dir: Path) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {}
    for job in sorted(sweep_dir.glob(f"*/{DONE}")):
        overrides = dict(
            o.split("=", 1)
            for o in yaml.safe_load((job.parent / ".hydra/overrides.yaml").read_text())
        )
        score = json.loads(job.read_text())["summary"]["final/normalized_score"]
        out.setdefault(overrides["bounding"], {}).setdefault(overrides["optim.lr"], []).append(
            score
        )
    return out


def test_statistics_across_tasks_match_a_hand_computation(two_task_sweep: Sweep, tmp_path: Path):
    """Aggregate IQM/mean over tasks, P(tanh > clip) over tasks and the performance profile,
    by hand from the jobs' DONE.json, equal aggregate.csv / profiles.csv."""
    report_main([str(two_task_sweep.dir), "--out", str(tmp_path)])
    hand = _scores_by_arm_and_task(two_task_sweep.dir)
    assert {arm: len(tasks) for arm, tasks in hand.items()} == {"clip": 2, "tanh": 2}
    with open(tmp_path / "aggregate.csv") as handle:
        rows = {row["bounding"]: row for row in csv.DictReader(handle)}
    tasks = sorted(hand["clip"])
    for arm in ("clip", "tanh"):
        runs = np.sort(np.concatenate([hand[arm][t] for t in tasks]))  # 6 runs
        assert float(rows[arm]["iqm"]) == pytest.approx(runs[1:5].mean())  # middle 50 %
        means = [np.mean(hand[arm][t]) for t in tasks]
        assert float(rows[arm]["mean"]) == pytest.approx(np.mean(means))
        assert int(rows[arm]["n_tasks"]) == 2 and int(rows[arm]["n_runs"]) == 6
    per_task = [
        np.mean([(np.sign(t - c) + 1) / 2 for t in hand["tanh"][task] for c in hand["clip"][task]])
        for task in tasks
    ]
    assert float(rows["tanh"]["poi"]) == pytest.approx(np.mean(per_task))
    assert float(rows["tanh"]["poi_ci_low"]) <= float(rows["tanh"]["poi"])
    assert float(rows["tanh"]["poi"]) <= float(rows["tanh"]["poi_ci_high"])
    assert rows["clip"]["poi"] == ""
    with open(tmp_path / "profiles.csv") as handle:
        profile = [r for r in csv.DictReader(handle) if r["bounding"] == "tanh"]
    runs = np.concatenate([hand["tanh"][t] for t in tasks])
    for row in profile[::10]:
        tau = float(row["tau"])
        assert float(row["fraction"]) == pytest.approx(np.mean(runs > tau), abs=1e-5)
        assert float(row["low"]) <= float(row["fraction"]) + 1e-9
    md = (tmp_path / "aggregate.md").read_text()
    assert "Tasks (2): optim.lr=0.001, optim.lr=0.01." in md
    assert f"| bounding=tanh | 2 | 6 | {float(rows['tanh']['iqm']):.1f} [" in md
    for png in ("performance_profiles.png", "learning_curves_by_task.png"):
        data = (tmp_path / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000


def test_one_task_writes_no_cross_task_files(report_sweep: Sweep, tmp_path: Path):
    report(report_sweep.dir, tmp_path)
    assert not (tmp_path / "aggregate.md").exists()
    assert not (tmp_path / "performance_profiles.png").exists()
    assert not (tmp_path / "learning_curves_by_task.png").exists()


def test_a_report_rerun_replaces_only_its_own_files(
    report_sweep: Sweep,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    """Re-run with other options into the same folder: an earlier report's aggregate and
    figures that this one does not write are gone (not shown as if they were this report's),
    the user's own files stay, and nothing is written before a refusal."""
    monkeypatch.setattr(sys, "argv", ["imitation-lab"])  # the CLI rewrites sys.argv
    out = tmp_path / "report"
    out.mkdir()
    for stale in ("aggregate.md", "aggregate.csv", "profiles.csv", "performance_profiles.png"):
        (out / stale).write_text("an earlier report, over other tasks\n\n| x |\n\nold table")
    (out / "notes.txt").write_text("mine")
    cli_main(["report", str(report_sweep.dir), "--out", str(out)])
    printed = capsys.readouterr().out
    assert "old table" not in printed
    assert not any((out / name).exists() for name in ("aggregate.md", "profiles.csv"))
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "results.csv").is_file() and not list(out.glob(".report-*"))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["report", str(report_sweep.dir), "--out", str(out), "--by", "nokey"])
    assert exit_info.value.code == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "--by nokey" in err[0], err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing written
