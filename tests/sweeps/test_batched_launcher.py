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
    overrides = ["hydra/launcher=batched", "hydra.launcher.n_jobs=1", "seed=0,1",
                 "bounding=clip,tanh", "logger=wandb"]  # fmt: skip
    sweep = run_sweep(tmp_path / "study", overrides, built_pendulum)
    assert sweep.proc.returncode == 0, sweep.log[-3000:]
    assert "1 group(s) of 4 members; 1 process x " in sweep.log
    assert "Time in 1 group(s), process-seconds: start-up" in sweep.log  # where it went
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


def test_workers_die_with_their_launcher_and_a_rerun_resumes_cleanly(
    tmp_path: Path, built_pendulum: Path
) -> None:
    """kill -9 of a launcher with two worker processes: the workers (each holding its jobs'
    locks) exit instead of training on as orphans, and the same command resumes both jobs from
    their checkpoints (before: orphans and the re-run wrote into the same dirs: step 9600 then
    8700 in metrics.jsonl). The workers log as the launcher does (train.log, console)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.pausing import pause_env
    from tests.sweeps.conftest import TINY, sweep_env

    sweep_dir, pause = tmp_path / "sweep", tmp_path / "pause"
    overrides = ["hydra/launcher=batched", "hydra.launcher.n_jobs=2", "seed=0,1",
                 "trainer.steps=300", "trainer.checkpoint_every=100"]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "imitation_lab.train", "-m", *TINY, *overrides,
         f"hydra.sweep.dir={sweep_dir}"],
        cwd=tmp_path, env=sweep_env(built_pendulum) | pause_env(pause, 100),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while len(list(pause.glob("step-100-*"))) < 2:  # both workers wait after step 100
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        workers = [int(p.name.rsplit("-", 1)[1]) for p in pause.glob("step-100-*")]
        assert proc.pid not in workers  # two worker processes
        os.kill(proc.pid, signal.SIGKILL)  # the launcher alone
        proc.wait(timeout=30)
    finally:
        proc.kill()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers), "orphaned workers kept running"

    again = run_sweep(sweep_dir, overrides, built_pendulum)
    assert again.proc.returncode == 0, again.log[-3000:]
    assert again.log.count("resuming it") == 2
    assert again.log.count("Final:") == 2  # the workers' console lines reach the console
    for num in (0, 1):
        job = job_dir(sweep_dir, num)
        lines = [json.loads(x) for x in (job / "metrics.jsonl").read_text().splitlines()]
        steps = [x["step"] for x in lines if "train/loss" in x]
        assert steps == sorted(set(steps)) and steps[-1] == 300  # no step twice, none back
        assert "step 300:" in (job / "train.log").read_text()  # the worker's log lines


def test_jobs_that_cannot_stack_train_alone_beside_the_groups(
    tmp_path: Path, built_pendulum: Path
) -> None:
    """head=diffusion (a denoiser beside the actor) cannot stack: its jobs train as groups of
    one in the same sweep, instead of being refused; the stackable ones still share a group."""
    sweep = run_sweep(
        tmp_path / "mixed",
        ["hydra/launcher=batched", "hydra.launcher.n_jobs=2", "head=bins,diffusion", "seed=0,1"],
        built_pendulum,
    )  # fmt: skip
    assert sweep.proc.returncode == 0, sweep.log[-3000:]
    assert "2 job(s) train alone" in sweep.log
    assert "3 group(s) of 2/1/1 members" in sweep.log
    assert [job.status for job in load_jobs(sweep.dir)] == ["done"] * 4
