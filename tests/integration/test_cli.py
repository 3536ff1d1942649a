"""The two entry points as a user runs them: `python -m imitation_lab.train` and `imitation-lab`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.helpers import FAST
from tests.sweeps.conftest import job_dir


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_cfg_job_prints_the_composed_config(tmp_path: Path) -> None:
    result = _run(
        [sys.executable, "-m", "imitation_lab.train", "optim=adamw", "--cfg", "job"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    cfg = yaml.safe_load(result.stdout)
    assert cfg["optim"]["_target_"] == "torch.optim.AdamW"
    assert cfg["dataset"]["id"] == "imitation-lab/pendulum/expert-v0"
    assert not (tmp_path / "outputs").exists()  # printing runs nothing


def test_console_script_is_the_same_app(tmp_path: Path) -> None:
    exe = shutil.which("imitation-lab") or str(Path(sys.executable).parent / "imitation-lab")
    if not Path(exe).exists():
        pytest.skip("console script not installed (pip install -e .)")
    result = _run([exe, "train", "bounding=tanh", "--cfg", "job"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["bounding"]["action_bound_method"] == "tanh"
    usage = _run([exe, "--help"], tmp_path)
    assert usage.returncode == 0 and "train" in usage.stdout


@pytest.mark.slow
def test_multirun_makes_one_run_dir_per_job(tmp_path: Path) -> None:
    result = _run(
        [
            sys.executable,
            "-m",
            "imitation_lab.train",
            "-m",
            *FAST,
            "trainer.steps=20",
            "trainer.eval_episodes=1",
            "trainer.eval_envs=1",
            "seed=0,1",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = [job_dir(tmp_path / "sweep", n) for n in (0, 1)]
    assert len([p for p in (tmp_path / "sweep").iterdir() if p.is_dir()]) == 2
    seeds = []
    for job in jobs:
        seeds.append(yaml.safe_load((job / ".hydra" / "config.yaml").read_text())["seed"])
        rows = [json.loads(line) for line in (job / "metrics.jsonl").read_text().splitlines()]
        assert rows[-1]["step"] == -1 and "summary/final/normalized_score" in rows[-1]
        assert (job / "checkpoints" / "last.pt").exists()
    assert seeds == [0, 1]
