"""Sweeps through real ``sbatch`` job arrays on the session's single-node Slurm cluster: job
dirs, markers, metrics and the report; preemption/requeue resuming bit-identically; an
Optuna study whose trials are Slurm jobs sharing one journal storage."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
import torch
import yaml
from optuna.trial import TrialState

from imitation_lab.report import main as report_main
from imitation_lab.runs import hpo
from imitation_lab.runs.run_dir import DONE
from tests.pausing import pause_env
from tests.slurm.cluster import SlurmCluster
from tests.sweeps.conftest import TINY, job_dir, sweep_env

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
STEPS = 3000  # the requeue test's run
PAUSES = (1000, 2000)  # where it is interrupted: it waits there (imitation_lab.utils.pause)
ON_SLURM = ["hydra/launcher=slurm", "hydra.launcher.partition=debug"]  # as in the README


def _env(cluster: SlurmCluster, minari_store: Path) -> dict[str, str]:
    return {**sweep_env(minari_store), **cluster.env()}


def _command(sweep_dir: Path, *overrides: str) -> list[str]:
    return [
        sys.executable, "-m", "imitation_lab.train", "-m", *TINY, *ON_SLURM, *overrides,
        f"hydra.sweep.dir={sweep_dir}",
    ]  # fmt: skip


def _sweep(cluster: SlurmCluster, minari: Path, sweep_dir: Path, *overrides: str):
    sweep_dir.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        _command(sweep_dir, *overrides),
        cwd=sweep_dir.parent,
        env=_env(cluster, minari),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _slurm(cluster: SlurmCluster, *args: str) -> str:
    env = {**sweep_env(Path("/nonexistent")), **cluster.env()}
    return subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout


def _wait(what: str, ready: Callable[[], object], proc: subprocess.Popen, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while not (value := ready()):
        assert proc.poll() is None, f"the sweep ended while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.1)
    return value


def _max_step(metrics: Path) -> int:
    steps = [-1]
    if metrics.exists():
        for line in metrics.read_text().splitlines():
            try:
                steps.append(int(json.loads(line)["step"]))
            except (ValueError, KeyError):
                continue  # a line being written
    return max(steps)


def test_sweep_runs_as_a_job_array(slurm_cluster: SlurmCluster, built_pendulum: Path, tmp_path):
    sweep = tmp_path / "array"
    proc = _sweep(slurm_cluster, built_pendulum, sweep, "seed=0,1")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    script = next(sweep.glob(".submitit/*/*_submission.sh")).read_text()
    assert re.search(r"#SBATCH --array=0-1%\d+\n", script) and "--partition=debug\n" in script
    for num in (0, 1):
        job = job_dir(sweep, num)
        hydra_job = yaml.safe_load((job / ".hydra" / "hydra.yaml").read_text())["hydra"]["job"]
        assert re.fullmatch(rf"\d+_{num}", hydra_job["id"])  # the Slurm array task ran it
        done = json.loads((job / DONE).read_text())
        assert done["config"]["seed"] == num
        lines = [json.loads(x) for x in (job / "metrics.jsonl").read_text().splitlines()]
        assert [x["step"] for x in lines if "train/loss" in x] == [25, 50]
        assert lines[-1]["step"] == -1 and "summary/final/normalized_score" in lines[-1]
    assert report_main([str(sweep)]) is None
    runs = (sweep / "report" / "runs.csv").read_text().splitlines()
    assert len(runs) == 3 and all(",done," in row for row in runs[1:])


def test_preempted_and_requeued_job_resumes_bit_identical(
    slurm_cluster: SlurmCluster, built_pendulum: Path, tmp_path: Path
):
    run = [
        f"trainer.steps={STEPS}",
        "trainer.log_every=250",
        "trainer.checkpoint_every=500",
        "trainer.eval_every=0",
        "seed=4",
    ]
    env = _env(slurm_cluster, built_pendulum)
    reference = subprocess.Popen(  # the same run, uninterrupted, on this machine
        [sys.executable, "-m", "imitation_lab.train", *TINY, *run,
         f"hydra.run.dir={tmp_path / 'reference'}"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    sweep, pause = tmp_path / "requeue", tmp_path / "pause"
    proc = subprocess.Popen(  # the job waits after its checkpoints at PAUSES until interrupted
        _command(sweep, *run),
        cwd=tmp_path,
        env=env | pause_env(pause, *PAUSES),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        pickled = _wait("job", lambda: next(sweep.glob(".submitit/*/*_submitted.pkl"), None), proc)
        submitit_dir = pickled.parent  # .submitit/<Slurm job id> (a single job is no array)
        job_id, log = submitit_dir.name, submitit_dir / f"{submitit_dir.name}_0_log.out"

        def resumed() -> list[int]:
            text = log.read_text() if log.exists() else ""
            return [int(s) for s in re.findall(r"Resumed from \S+ at step (\d+)", text)]

        def attempts() -> int:  # submitit starts the job once per attempt
            text = log.read_text() if log.exists() else ""
            return len(re.findall(r"^submitit INFO .* - Loading pickle", text, re.MULTILINE))

        def rerun_now(before: int) -> None:
            """Wait for the requeue; start the job 2 s later instead of the ~2 min Slurm holds
            it. Not at once: slurmd refuses a credential made in the second it revoked the
            job's previous one ("Job credential revoked"), and the job then fails."""

            moved = False

            def started() -> bool:
                nonlocal moved
                state = _slurm(slurm_cluster, "squeue", "-h", "-j", job_id, "-o", "%T %r")
                if state.strip() == "PENDING BeginTime" and not moved:
                    _slurm(
                        slurm_cluster, "scontrol", "update", f"JobId={job_id}", "StartTime=now+2"
                    )
                    moved = True
                return attempts() > before

            # submitit's USR2 handler checkpoints before it requeues: slow on a loaded machine
            _wait(f"attempt {before + 1}", started, proc, timeout=240)

        def interrupt_at(step: int, *command: str) -> None:
            """Wait until the job waits after its checkpoint at ``step``, then interrupt it."""
            _wait(f"the job at step {step}", lambda: next(pause.glob(f"step-{step}-*"), None), proc)
            _slurm(slurm_cluster, *command, job_id)

        interrupt_at(PAUSES[0], "scontrol", "requeue")  # preemption by the cluster
        rerun_now(before=1)
        # submitit's timeout/preemption signal: checkpoint() -> DelayedSubmission, requeue
        interrupt_at(PAUSES[1], "scancel", "--signal=USR2")
        rerun_now(before=2)
        out, _ = proc.communicate(timeout=240)
    finally:
        proc.kill()
        reference.wait(timeout=240)
    job_info = _slurm(slurm_cluster, "scontrol", "show", "job", job_id)
    assert proc.returncode == 0, f"{out[-3000:]}\n{job_info}\n{slurm_cluster.logs()}"
    assert reference.returncode == 0, reference.stderr.read()[-3000:]  # type: ignore[union-attr]
    assert resumed() == list(PAUSES)  # each attempt continued from the last checkpoint
    assert "Restarts=2" in job_info
    metrics = job_dir(sweep, 0) / "metrics.jsonl"
    lines = [json.loads(x) for x in metrics.read_text().splitlines()]
    steps = [x["step"] for x in lines if "train/loss" in x]
    assert steps == list(range(250, STEPS + 1, 250))  # no step lost or written twice
    assert lines[-1]["step"] == -1  # the summary
    assert (job_dir(sweep, 0) / DONE).exists()
    ours = torch.load(job_dir(sweep, 0) / "checkpoints" / "last.pt", weights_only=True)
    ref = torch.load(tmp_path / "reference" / "checkpoints" / "last.pt", weights_only=True)
    assert ours["step"] == ref["step"] == STEPS
    assert ours["policy"].keys() == ref["policy"].keys()
    for name, tensor in ref["policy"].items():
        assert torch.equal(ours["policy"][name], tensor), name  # bit-identical weights


def test_optuna_trials_run_as_slurm_jobs_sharing_one_storage(
    slurm_cluster: SlurmCluster, built_pendulum: Path, tmp_path: Path
):
    url = f"journal:{tmp_path / 'shared' / 'study.journal'}"
    sweep = tmp_path / "optuna"
    proc = _sweep(
        slurm_cluster,
        built_pendulum,
        sweep,
        "experiment=optuna_bc",
        f"hydra.sweeper.storage={url}",
        "hydra.sweeper.study_name=bc_slurm",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=2",  # one array of two jobs
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    study = optuna.load_study(study_name="bc_slurm", storage=hpo.open_storage(url))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    for trial in study.trials:
        job = sweep / str(trial.number)
        hydra_job = yaml.safe_load((job / ".hydra" / "hydra.yaml").read_text())["hydra"]["job"]
        assert re.fullmatch(r"\d+_\d", hydra_job["id"])  # ran as a Slurm array task
        assert trial.intermediate_values.keys() == {25, 50}  # reported from inside the job
        summary = json.loads((job / DONE).read_text())["summary"]
        assert trial.value == pytest.approx(summary["final/normalized_score"])
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_value"] == pytest.approx(study.best_value)
