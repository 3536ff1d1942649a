"""What a W&B run says about itself, read back from the offline run files the CLI wrote."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FAST, read_wandb_run


def _train(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "imitation_lab.train", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


def _runs(run_dir: Path) -> list[dict]:
    files = sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb"))
    return [read_wandb_run(f) for f in files]


@pytest.mark.slow
def test_run_fields_are_set_and_stay_the_same_across_a_resume(tmp_path: Path) -> None:
    fast = [o for o in FAST if not o.startswith(("logger=", "trainer.steps="))]
    args = [*fast, "logger=wandb", "bounding=tanh", "optim.lr=0.003", "hydra.run.dir=run"]
    _train([*args, "trainer.steps=100"], tmp_path)
    _train([*args, "trainer.steps=200", "trainer.resume=true"], tmp_path)
    first, resumed = _runs(tmp_path / "run")
    # named by its overrides (the display-only logger=... left out), kept by the resumed
    # segment although it overrides trainer.steps and trainer.resume
    assert first["name"] == resumed["name"]
    named = first["name"].split(",")
    assert {"bounding=tanh", "optim.lr=0.003", "trainer.steps=100"} <= set(named)
    assert not [o for o in named if o.startswith(("logger", "trainer.resume"))]
    assert first["group"] == resumed["group"] == "train"
    assert first["job_type"] == "train"
    assert "imitation-lab/pendulum/expert-v0" in first["tags"]
    assert "bounding=tanh" in first["tags"]
    config = first["config"]
    assert config["actor"]["obs_dim"] == 3 and config["actor"]["act_dim"] == 1  # not "???"
    assert config["choices"]["bounding"] == "tanh"
    assert config["choices"]["dataset"] == "pendulum"
    assert "optim.lr=0.003" in config["overrides"]
    assert "trainer.resume=true" in resumed["config"]["overrides"]


@pytest.mark.slow
def test_the_seeds_of_one_job_share_a_group_of_their_own(tmp_path: Path) -> None:
    fast = [o for o in FAST if not o.startswith("logger=")]
    _train([*fast, "logger=wandb", "trainer.num_seeds=2", "hydra.run.dir=run"], tmp_path)
    seeds = [_runs(tmp_path / "run" / f"seed_{s}")[0] for s in (0, 1)]
    assert seeds[0]["group"] == seeds[1]["group"] == "train-run"
    prefix = seeds[0]["name"].removesuffix("-seed_0")
    assert "trainer.num_seeds=2" in prefix.split(",")
    assert [s["name"] for s in seeds] == [f"{prefix}-seed_0", f"{prefix}-seed_1"]
