"""``-m hydra/launcher=batched`` for real: one process trains the sweep, each job keeps its dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from imitation_lab.report import load_jobs, report
from imitation_lab.runs.run_dir import DONE, FAILED
from tests.sweeps.conftest import job_dir, run_sweep

pytestmark = pytest.mark.slow


def test_a_study_trains_in_one_process_and_each_job_keeps_its_run_dir(
    tmp_path: Path, built_pendulum: Path
) -> None:
    overrides = ["hydra/launcher=batched", "seed=0,1", "bounding=clip,tanh", "logger=wandb"]
    sweep = run_sweep(tmp_path / "study", overrides, built_pendulum)
    assert sweep.proc.returncode == 0, sweep.log[-3000:]
    assert "1 group(s) of 4 members" in sweep.log
    jobs = [job_dir(sweep.dir, n) for n in range(4)]
    run_ids = set()
    for job in jobs:
        own = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())
        config = yaml.safe_load((job / ".hydra" / "config.yaml").read_text())
        done = json.loads((job / DONE).read_text())
        assert done["config"]["seed"] == config["seed"] and f"seed={config['seed']}" in own
        assert done["config"]["bounding"] == config["bounding"]
        rows = [json.loads(line) for line in (job / "metrics.jsonl").read_text().splitlines()]
        assert rows[-1]["step"] == -1 and "summary/final/normalized_score" in rows[-1]
        assert (job / "checkpoints" / "last.pt").exists()
        assert (job / "train.log").exists() and (job / "dataset_info.json").exists()
        assert len(list((job / "wandb").glob("offline-run-*"))) == 1
        run_ids.add((job / "wandb_run_id.txt").read_text())
    assert len(run_ids) == 4  # one W&B run per job
    results = report(sweep.dir)
    assert sorted((r.label, r.stats["n"]) for r in results) == [
        ("bounding=clip", 2),
        ("bounding=tanh", 2),
    ]
    again = run_sweep(tmp_path / "study", overrides, built_pendulum)  # a re-run skips them all
    assert again.proc.returncode == 0, again.log[-3000:]
    assert again.log.count("for this exact config: skipped") == 4
    assert "0 jobs to train" in again.log


def test_a_job_with_a_bad_value_fails_alone(tmp_path: Path, built_pendulum: Path) -> None:
    sweep = run_sweep(
        tmp_path / "bad", ["hydra/launcher=batched", "optim.lr=0.001,-1"], built_pendulum
    )
    assert sweep.proc.returncode != 0  # the sweep says a job failed
    assert (job_dir(sweep.dir, 0) / DONE).exists()
    failed = json.loads((job_dir(sweep.dir, 1) / FAILED).read_text())
    assert "optim.lr" in failed["message"]
    status = {job.name: job.status for job in load_jobs(sweep.dir)}
    assert status == {job_dir(sweep.dir, 0).name: "done", job_dir(sweep.dir, 1).name: "failed"}


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [("hydra.launcher.max_members=-1", "max_members=-1"), ("hydra.launcher.n_jobs=0", "n_jobs=0")],
    ids=["max-members", "n-jobs"],
)
def test_launcher_settings_that_cannot_work_are_one_line_before_any_job_dir(
    setting: str, fragment: str, tmp_path: Path, built_pendulum: Path
) -> None:
    sweep = run_sweep(
        tmp_path / "bad", ["hydra/launcher=batched", setting, "seed=0,1"], built_pendulum
    )
    assert sweep.proc.returncode == 1
    assert "Traceback" not in sweep.log
    lines = [line for line in sweep.proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and fragment in lines[0], sweep.proc.stderr  # + Hydra's --debug hint
    assert not list((tmp_path / "bad").glob("*/.hydra"))


@pytest.mark.parametrize("launcher", [[], ["hydra/launcher=batched"]], ids=["basic", "batched"])
def test_jobs_that_fail_at_start_are_on_record_and_the_sweep_ends_with_one_line(
    launcher: list[str], tmp_path: Path, built_pendulum: Path
) -> None:
    """A missing dataset fails every job before it trains: each job dir has its ``.hydra/``
    and ``FAILED.json`` (the report lists them as failed, never as done), and the sweep ends
    with the one line a single run gives (before, the batched launcher left empty dirs and a
    traceback)."""
    sweep = run_sweep(
        tmp_path / "missing", [*launcher, "dataset.id=nosuch/thing-v0", "seed=0,1"], built_pendulum
    )
    assert sweep.proc.returncode == 1
    assert "Traceback" not in sweep.log
    lines = [line for line in sweep.proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "nosuch/thing-v0" in lines[0], sweep.proc.stderr[-3000:]
    jobs = load_jobs(sweep.dir)
    assert [job.status for job in jobs] == ["failed", "failed"]
    assert all("DatasetError" in job.error for job in jobs)
