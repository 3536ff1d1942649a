"""Real Hydra multiruns in subprocesses (tiny jobs), shared by the sweep tests of a module."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, subprocess_env

TINY = [
    "logger=none",
    "trainer.steps=50",
    "trainer.log_every=25",
    "trainer.eval_every=25",
    "trainer.eval_episodes=1",
    "trainer.eval_envs=1",
    "trainer.checkpoint_every=0",
    "trainer.progress=false",
    "actor.hidden_sizes=[16]",
]


def job_dir(sweep_dir: Path, number: int) -> Path:
    """The folder of job ``number`` of a sweep (``<number>-<config hash>``)."""
    (found,) = [p for p in Path(sweep_dir).glob(f"{number}-*") if p.is_dir()]
    return found


@dataclass
class Sweep:
    """A finished ``-m`` run: its folder and the process result."""

    dir: Path
    proc: subprocess.CompletedProcess[str]

    @property
    def log(self) -> str:
        return self.proc.stdout + self.proc.stderr


def sweep_env(minari_store: Path) -> dict[str, str]:
    """The subprocess environment: the test Minari store, offline W&B, one thread per job."""
    return subprocess_env(minari_store, PYTHONPATH=str(REPO_ROOT))


def run_sweep(sweep_dir: Path, overrides: list[str], minari_store: Path) -> Sweep:
    """``python -m imitation_lab.train -m <overrides>`` into ``sweep_dir`` (cwd: its parent)."""
    sweep_dir.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "imitation_lab.train",
            "-m",
            *TINY,
            *overrides,
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=sweep_dir.parent,
        env=sweep_env(minari_store),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Sweep(sweep_dir, proc)


@pytest.fixture(scope="session")
def built_pendulum(minari_store: Path) -> Path:
    """Build the pendulum dataset once, before parallel jobs could race to build it."""
    env = sweep_env(minari_store)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from imitation_lab.config.build import open_dataset;"
            "open_dataset('imitation-lab/pendulum/expert-v0')",
        ],
        env=env,
        check=True,
        timeout=120,
    )
    return minari_store


@pytest.fixture(scope="session")
def report_sweep(tmp_path_factory: pytest.TempPathFactory, built_pendulum: Path) -> Sweep:
    """joblib, 2 arms x 3 seeds: the sweep the report, re-run and notebook tests read."""
    sweep = run_sweep(
        tmp_path_factory.mktemp("sweeps") / "arms",
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "bounding=clip,tanh", "seed=0,1,2"],
        built_pendulum,
    )
    assert sweep.proc.returncode == 0, sweep.log[-3000:]
    return sweep


@pytest.fixture(scope="session")
def failing_sweep(tmp_path_factory: pytest.TempPathFactory, built_pendulum: Path) -> Sweep:
    """joblib, two jobs, the second with an invalid learning rate (fails at start)."""
    return run_sweep(
        tmp_path_factory.mktemp("sweeps") / "failing",
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "optim.lr=0.001,-1"],
        built_pendulum,
    )
