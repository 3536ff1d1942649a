"""hydra/sweeper=optuna on real storage: shared by sweeps started at once, resumed after a
kill, pruning from the trainer's evaluations, and bad input as one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from imitation_lab.report import main as report_main
from imitation_lab.runs import hpo
from imitation_lab.runs.run_dir import DONE, FAILED, PRUNED
from tests.pausing import pause_env, release, wait_until_paused
from tests.sweeps.conftest import TINY, run_sweep, sweep_env

pytestmark = pytest.mark.slow
OPTUNA = ["experiment=optuna_bc", "hydra.sweeper.study_name=bc"]


def _popen(
    sweep_dir: Path, overrides: list[str], minari_store: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``run_sweep`` in the background, in its own process group (killed as a whole)."""
    sweep_dir.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "imitation_lab.train", "-m", *TINY, *overrides]
    return subprocess.Popen(
        [*command, f"hydra.sweep.dir={sweep_dir}"],
        cwd=sweep_dir.parent,
        env=sweep_env(minari_store) | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _trials(url: str, name: str = "bc") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=hpo.open_storage(url)).trials


def _job_trials(*sweep_dirs: Path) -> list[int]:
    """The trial number of every job folder of these sweeps that finished (DONE.json)."""
    numbers = []
    for sweep_dir in sweep_dirs:
        for done in sweep_dir.glob(f"*/{DONE}"):
            overrides = yaml.safe_load((done.parent / ".hydra" / "overrides.yaml").read_text())
            (trial,) = (int(o.split("=")[1]) for o in overrides if o.startswith("hpo.trial="))
            assert done.parent.name == str(trial)  # trial n runs in <sweep dir>/<n>
            numbers.append(trial)
    return sorted(numbers)


def test_two_sweeps_at_once_share_one_sqlite_study(tmp_path: Path, built_pendulum: Path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    procs = [
        _popen(
            tmp_path / name,
            [
                *OPTUNA,
                f"hydra.sweeper.storage={url}",
                "hydra.sweeper.n_trials=3",
                "hydra.sweeper.n_jobs=2",
                f"hydra.sweeper.sampler.seed={seed}",
            ],
            built_pendulum,
        )
        for seed, name in enumerate(("a", "b"))
    ]
    logs = [proc.communicate(timeout=300)[0] for proc in procs]
    for proc, log in zip(procs, logs, strict=True):
        assert proc.returncode == 0, log[-3000:]
    trials = _trials(url)
    complete = sorted(t.number for t in trials if t.state == TrialState.COMPLETE)
    assert len(complete) == 3  # n_trials over both sweeps
    assert _job_trials(tmp_path / "a", tmp_path / "b") == complete  # each ran exactly once
    others = [t for t in trials if t.state != TrialState.COMPLETE]
    assert all(t.system_attrs.get(hpo.SURPLUS_ATTR) for t in others)  # asked in a race, not run
    best = max(t.value for t in trials if t.state == TrialState.COMPLETE)
    for name in ("a", "b"):
        results = yaml.safe_load((tmp_path / name / "optimization_results.yaml").read_text())
        assert results["best_value"] == pytest.approx(best)


def test_killed_sweep_resumes_and_reruns_the_interrupted_trial(
    tmp_path: Path, built_pendulum: Path
):
    url = f"sqlite:///{tmp_path / 'study.db'}"  # journal: tests/slurm and the pruning test
    overrides = [
        *OPTUNA,
        f"hydra.sweeper.storage={url}",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.n_jobs=1",
        "hydra.sweeper.heartbeat_interval=1",  # stale 3 s after the kill
        "trainer.steps=1500",
        "trainer.eval_every=500",
    ]
    pause = tmp_path / "pause"  # every trial waits after step 500: trial 0 goes on, 1 is killed
    first = _popen(tmp_path / "sweep", overrides, built_pendulum, pause_env(pause, 500))
    try:
        alive = lambda: first.poll() is None  # noqa: E731
        release(wait_until_paused(pause, 500, alive))
        assert not (tmp_path / "sweep" / "1").exists()  # that was trial 0
        wait_until_paused(pause, 500, alive)
        assert (tmp_path / "sweep" / "0" / DONE).exists()
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the sweep and its in-process job
        first.communicate(timeout=60)
    done_0 = (tmp_path / "sweep" / "0" / DONE).read_text()
    assert [t.state for t in _trials(url)] == [TrialState.COMPLETE, TrialState.RUNNING]

    again = run_sweep(tmp_path / "sweep", overrides, built_pendulum)  # same command
    assert again.proc.returncode == 0, again.log[-3000:]
    assert "marked failed, its parameters queued to run again" in again.log
    trials = _trials(url)
    states = [t.state for t in trials]
    assert states.count(TrialState.COMPLETE) == 3
    interrupted = trials[1]
    assert interrupted.state == TrialState.FAIL and interrupted.system_attrs[hpo.INTERRUPTED_ATTR]
    (rerun,) = (t for t in trials if t.system_attrs.get(hpo.RETRY_OF_ATTR) == 1)
    assert rerun.state == TrialState.COMPLETE and rerun.params == interrupted.params
    assert (tmp_path / "sweep" / "0" / DONE).read_text() == done_0  # kept, not run again
    assert _job_trials(tmp_path / "sweep") == sorted(
        t.number for t in trials if t.state == TrialState.COMPLETE
    )
    assert not (tmp_path / "sweep" / "1" / DONE).exists()  # the killed job's folder is kept
    # the re-run's sampler does not replay the first sweep's seed: no two trials are copies
    params = [tuple(sorted(t.params.items())) for t in trials if t.state == TrialState.COMPLETE]
    assert len(set(params)) == len(params), params


@pytest.mark.parametrize("launcher", [[], ["hydra/launcher=batched"]], ids=["basic", "batched"])
def test_pruned_trials_end_cleanly_and_are_reported(
    launcher: list[str], tmp_path: Path, built_pendulum: Path, capsys: pytest.CaptureFixture[str]
):
    sweep = run_sweep(
        tmp_path / "pruned",
        [
            *launcher,
            *OPTUNA,
            "hydra.sweeper.n_trials=2",
            "hydra/sweeper/pruner=threshold",  # deterministic: no score reaches 1000
            "hydra.sweeper.pruner.lower=1000",
        ],
        built_pendulum,
    )
    assert sweep.proc.returncode == 0, sweep.log[-3000:]
    assert "Traceback" not in sweep.log
    assert "ERROR" not in sweep.log and "failed" not in sweep.log  # pruned is no failure
    study = yaml.safe_load((sweep.dir / "optuna_study.yaml").read_text())
    trials = _trials(study["storage"])  # storage null: a journal in the sweep dir
    assert [t.state for t in trials] == [TrialState.PRUNED] * 2
    for trial in trials:
        job = sweep.dir / str(trial.number)
        assert json.loads((job / PRUNED).read_text())["step"] == 25  # the first evaluation
        assert not (job / DONE).exists() and not (job / FAILED).exists()
    report_main([str(sweep.dir)])
    out = capsys.readouterr().out
    assert "| 0 | pruned |" in out and "pruned at step 25" in out
    assert "## Pruned jobs" in (sweep.dir / "report" / "results.md").read_text()


@pytest.mark.parametrize(
    ("url", "fragment"),
    [("nosuchdb://x", "cannot be opened"), ("sqlite:///", "in-memory"),
     ("sqlite:///:memory:", "in-memory")],
    ids=["unknown", "sqlite-empty", "sqlite-memory"],
)  # fmt: skip
def test_bad_storage_is_one_error_line(
    url: str, fragment: str, tmp_path: Path, built_pendulum: Path
):
    """Refused before a trial runs: an in-memory database trained a trial, then failed with a
    43-line traceback (its jobs open their own, empty, database)."""
    sweep = run_sweep(tmp_path / "bad", [*OPTUNA, f"hydra.sweeper.storage={url}"], built_pendulum)
    assert sweep.proc.returncode == 1
    assert "Traceback" not in sweep.proc.stderr
    (line,) = [ln for ln in sweep.proc.stderr.splitlines() if ln.startswith("error:")]
    assert url in line and fragment in line and "hydra.sweeper.storage" in line
    assert not list((tmp_path / "bad").glob("*/.hydra"))  # no trial ran


def test_the_objective_is_maximized_and_minimize_is_refused(tmp_path: Path, built_pendulum: Path):
    """Without the preset the sweeper maximizes the score the app returns (before, its default
    minimized it and named the worst configuration best); minimize is one line, nothing run."""
    space = ["hydra/sweeper=optuna", "optim.lr=tag(log,interval(1e-4,1e-2))"]
    sweep = run_sweep(tmp_path / "max", [*space, "hydra.sweeper.n_trials=3"], built_pendulum)
    assert sweep.proc.returncode == 0, sweep.log[-3000:]
    results = yaml.safe_load((sweep.dir / "optimization_results.yaml").read_text())
    values = [json.loads((p / DONE).read_text())["summary"]["final/normalized_score"]
              for p in sweep.dir.iterdir() if (p / DONE).exists()]  # fmt: skip
    assert len(values) == 3 and results["best_value"] == pytest.approx(max(values))
    assert "Best trial" in sweep.log and "maximize" in sweep.log
    refused = run_sweep(
        tmp_path / "min", [*space, "hydra.sweeper.direction=minimize"], built_pendulum
    )
    assert refused.proc.returncode == 1
    assert "direction=minimize" in refused.log and "Traceback" not in refused.log
    assert not (tmp_path / "min").exists()


def test_a_sweep_dir_of_another_study_is_refused_before_anything_is_written(
    tmp_path: Path, built_pendulum: Path
):
    sweep_dir = tmp_path / "sweep"
    first = run_sweep(sweep_dir, [*OPTUNA, "hydra.sweeper.n_trials=1"], built_pendulum)
    assert first.proc.returncode == 0, first.log[-3000:]
    before = {p.name: p.read_bytes() for p in sweep_dir.iterdir() if p.is_file()}
    assert {"optuna_study.yaml", "multirun.yaml"} <= before.keys()
    other = run_sweep(
        sweep_dir, [*OPTUNA, "hydra.sweeper.study_name=other", "hydra.sweeper.n_trials=1"],
        built_pendulum,
    )  # fmt: skip
    assert other.proc.returncode == 1
    assert "holds study 'bc'" in other.log and "nothing was written" in other.log
    assert {p.name: p.read_bytes() for p in sweep_dir.iterdir() if p.is_file()} == before


def test_a_study_is_shared_only_by_sweeps_with_the_same_fixed_settings(
    tmp_path: Path, built_pendulum: Path
):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    common = [*OPTUNA, f"hydra.sweeper.storage={url}", "hydra.sweeper.n_trials=2"]
    first = run_sweep(tmp_path / "a", [*common, "trainer.steps=10"], built_pendulum)
    assert first.proc.returncode == 0, first.log[-3000:]
    trials = _trials(url)
    other = run_sweep(tmp_path / "b", [*common, "trainer.steps=20"], built_pendulum)
    assert other.proc.returncode == 1
    assert "trainer.steps=10" in other.log and "trainer.steps=20" in other.log
    assert len(_trials(url)) == len(trials)  # refused before asking: no FAIL trial, no place
    assert not (tmp_path / "b" / "0").exists()
