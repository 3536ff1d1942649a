"""joblib, submitit_local and optuna multiruns for real; re-runs skip, failures stay local."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from imitation_lab.runs.run_dir import DONE, FAILED
from tests.sweeps.conftest import Sweep, job_dir, run_sweep

pytestmark = pytest.mark.slow


def _overrides(job_dir: Path) -> list[str]:
    return yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text())


def _assert_finished_job(job_dir: Path, expected: list[str]) -> dict:
    assert set(expected) <= set(_overrides(job_dir))
    assert (job_dir / "checkpoints" / "last.pt").exists()
    lines = (job_dir / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["step"] == -1
    done = json.loads((job_dir / DONE).read_text())
    assert done["config"]["seed"] == int(expected[-1].split("=")[1])
    return done


def test_joblib_jobs_get_own_dirs_seeds_and_wandb_runs(tmp_path: Path, built_pendulum: Path):
    sweep = run_sweep(
        tmp_path / "joblib",
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "seed=0,1", "logger=wandb"],
        built_pendulum,
    )
    assert sweep.proc.returncode == 0, sweep.log[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in sweep.log
    assert len([p for p in sweep.dir.iterdir() if p.is_dir()]) == 2
    run_ids = set()
    for num in (0, 1):
        job = job_dir(sweep.dir, num)
        _assert_finished_job(job, [f"seed={num}"])
        assert len(list((job / "wandb").glob("offline-run-*"))) == 1  # its own offline run
        run_ids.add((job / "wandb_run_id.txt").read_text().strip())
    assert len(run_ids) == 2


def test_submitit_local_jobs_complete(tmp_path: Path, built_pendulum: Path):
    sweep = run_sweep(
        tmp_path / "submitit",
        ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5", "seed=0,1"],
        built_pendulum,
    )
    assert sweep.proc.returncode == 0, sweep.log[-3000:]
    assert (sweep.dir / ".submitit").is_dir()  # submitit's own job folders: the cluster path
    for num in (0, 1):
        _assert_finished_job(job_dir(sweep.dir, num), [f"seed={num}"])


def test_optuna_sweep_returns_best_value(tmp_path: Path, built_pendulum: Path):
    sweep = run_sweep(
        tmp_path / "optuna",
        ["experiment=optuna_bc", "hydra.sweeper.n_trials=3"],
        built_pendulum,
    )
    assert sweep.proc.returncode == 0, sweep.log[-3000:]
    results = yaml.safe_load((sweep.dir / "optimization_results.yaml").read_text())
    scores = [
        json.loads((sweep.dir / str(n) / DONE).read_text())["summary"]["final/normalized_score"]
        for n in range(3)
    ]
    assert results["best_value"] == pytest.approx(max(scores))
    # the preset's search space, less actor.hidden_sizes, which the command line fixes
    assert set(results["best_params"]) == {
        "optim.lr",
        "optim.weight_decay",
        "trainer.batch_size",
        "bounding",
    }


def test_rerun_skips_finished_jobs(report_sweep: Sweep, built_pendulum: Path):
    before = {
        p.parent.name: (p.stat().st_mtime_ns, p.read_text())
        for p in report_sweep.dir.glob(f"*/{DONE}")
    }
    assert len(before) == 6
    again = run_sweep(
        report_sweep.dir,
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "bounding=clip,tanh", "seed=0,1,2"],
        built_pendulum,
    )
    assert again.proc.returncode == 0, again.log[-3000:]
    assert again.log.count("skipped") == 6
    after = {
        p.parent.name: (p.stat().st_mtime_ns, p.read_text())
        for p in report_sweep.dir.glob(f"*/{DONE}")
    }
    assert after == before


def test_a_failing_job_does_not_lose_the_others(failing_sweep: Sweep):
    sweep = failing_sweep
    assert sweep.proc.returncode != 0  # the sweep reports the failure...
    assert (job_dir(sweep.dir, 0) / DONE).exists()  # ...after the good job finished
    assert not (job_dir(sweep.dir, 0) / FAILED).exists()
    failed = json.loads((job_dir(sweep.dir, 1) / FAILED).read_text())
    assert failed["error"] == "ConfigError"
    assert "optim.lr=-1" in failed["message"]
    assert not (job_dir(sweep.dir, 1) / DONE).exists()
