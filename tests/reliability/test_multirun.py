"""A multirun where one job fails mid-training: the others finish, keep results, and the report
lists the failure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
import yaml

from imitation_lab.report import load_jobs, report
from imitation_lab.runs.run_dir import DONE, FAILED
from tests.reliability.conftest import TINY, run_cli


@pytest.mark.slow
def test_a_job_that_diverges_does_not_cost_the_sweep(minari_store: Path, tmp_path: Path) -> None:
    """Default (sequential) launcher; job 0 blows up at step 102, job 1 must still run."""
    sweep_dir = tmp_path / "sweep"
    args = [
        sys.executable,
        "-m",
        "imitation_lab.train",
        "-m",
        *TINY,
        "trainer.checkpoint_every=50",
        "scheduler=step",
        "scheduler.step_size=100",
        "scheduler.gamma=1e30,0.5",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    result = run_cli(args, minari_store, timeout=300)
    assert result.returncode != 0  # the sweep says something failed, in one line...
    assert "Traceback" not in result.stderr
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert "Loss became" in line, result.stderr[-2000:]
    # told when it happened, in the job's log, before the next job starts
    job_failed = result.stdout.index("Job failed (TrainingDivergedError: Loss became")
    assert result.stdout.index("#1 : ") > job_failed

    jobs = {
        next(
            o
            for o in yaml.safe_load((p / ".hydra" / "overrides.yaml").read_text())
            if o.startswith("scheduler.gamma")
        ): p
        for p in sweep_dir.iterdir()
        if p.is_dir()
    }
    failed, done = jobs["scheduler.gamma=1e+30"], jobs["scheduler.gamma=0.5"]  # after every job
    assert json.loads((failed / FAILED).read_text())["error"] == "TrainingDivergedError"
    assert not (failed / DONE).exists()
    assert torch.load(failed / "checkpoints" / "last.pt", weights_only=True)["step"] == 100
    assert (done / DONE).exists() and not (done / FAILED).exists()
    assert torch.load(done / "checkpoints" / "last.pt", weights_only=True)["step"] == 200

    status = {job.name: job.status for job in load_jobs(sweep_dir)}
    assert status == {failed.name: "failed", done.name: "done"}
    report(sweep_dir, tmp_path / "report")
    markdown = (tmp_path / "report" / "results.md").read_text()
    row = f"| {failed.name} | failed | `scheduler.gamma=1e+30` | TrainingDivergedError: Loss became"
    assert row in markdown
