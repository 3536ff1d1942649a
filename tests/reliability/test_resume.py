"""kill -9 mid-training, then ``trainer.resume=true``: nothing lost, nothing changed."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from imitation_lab.training.loggers import JsonlLogger
from tests.conftest import REPO_ROOT
from tests.pausing import as_from_a_terminal, pause_env, wait_until_paused
from tests.reliability.conftest import cli_env, run_cli, train_command

STEPS = 3000
RUN = [
    "logger=wandb",  # offline (the test env), so the resumed W&B run can be checked too
    f"trainer.steps={STEPS}",
    "trainer.batch_size=64",
    "trainer.log_every=100",
    "trainer.checkpoint_every=500",
    "trainer.eval_every=1000",
    "trainer.eval_episodes=2",
    "trainer.eval_envs=2",
    "trainer.progress=false",
    "actor.hidden_sizes=[16]",
    "seed=3",
]
TIMING_KEYS = {"train/train_time", "train/steps_per_sec"}


PAUSE_AT = 500  # the first checkpoint: the run waits there until the test has signalled it


def _signal_after_first_checkpoint(
    run_dir: Path, minari_store: Path, sig: signal.Signals = signal.SIGKILL
) -> tuple[int, subprocess.CompletedProcess]:
    """Start a run, send ``sig`` while it waits after its first checkpoint (step 500); return
    the checkpoint's step and the run."""
    pause = run_dir.parent / f"pause-{run_dir.name}"
    proc = subprocess.Popen(
        train_command(run_dir, *RUN),
        cwd=REPO_ROOT,
        env=cli_env(minari_store, **pause_env(pause, PAUSE_AT)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_from_a_terminal,
    )
    last = run_dir / "checkpoints" / "last.pt"
    try:
        wait_until_paused(pause, PAUSE_AT, alive=lambda: proc.poll() is None)
        os.kill(proc.pid, sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    step = int(torch.load(last, weights_only=True)["step"])
    return step, subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr)


def _records(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [
        {k: v for k, v in json.loads(line).items() if k not in TIMING_KEYS and "time" not in k}
        for line in lines
    ]


def _assert_same_tree(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_same_tree(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_tree(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


@pytest.mark.slow
def test_kill_9_then_resume_is_bit_identical_to_an_uninterrupted_run(
    minari_store: Path, tmp_path: Path
) -> None:
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    result = run_cli(train_command(reference, *RUN), minari_store)
    assert result.returncode == 0, result.stderr[-3000:]

    killed_at, killed = _signal_after_first_checkpoint(resumed, minari_store)
    assert killed.returncode == -signal.SIGKILL
    assert killed_at == PAUSE_AT
    assert not (resumed / "DONE.json").exists()
    run_id = (resumed / "wandb_run_id.txt").read_text()

    result = run_cli(train_command(resumed, *RUN, "trainer.resume=true"), minari_store)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Resumed from {resumed / 'checkpoints' / 'last.pt'} at step {killed_at}" in (
        result.stdout
    )

    # final weights, optimizer, RNG and sampler states: bit for bit
    final = {
        name: torch.load(run / "checkpoints" / "last.pt", weights_only=True)
        for name, run in (("reference", reference), ("resumed", resumed))
    }
    for key in ("policy", "optim", "schedulers", "normalizer", "rng", "sampler", "step"):
        _assert_same_tree(final["reference"][key], final["resumed"][key], key)
    assert final["resumed"]["step"] == STEPS

    # the same metrics file: every step once, with the reference's values
    records = _records(resumed)
    steps = [r["step"] for r in records if r["step"] >= 0]
    train_steps = [r["step"] for r in records if "train/loss" in r]
    assert len(train_steps) == len(set(train_steps)) == STEPS // 100
    assert steps == sorted(steps)
    assert records == _records(reference)

    # the same W&B run: one id, kept on disk, used by both offline run folders
    assert (resumed / "wandb_run_id.txt").read_text() == run_id
    offline_runs = sorted((resumed / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 2
    assert all(p.name.endswith(f"-{run_id}") for p in offline_runs)


def test_resumed_metrics_drop_lines_after_the_checkpoint_and_a_cut_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    lines = [json.dumps({"step": s, "train/loss": 0.1}) for s in (100, 200, 300)]
    original = "\n".join(lines) + '\n{"step": 400, "train/lo'  # killed mid-write
    path.write_text(original)
    logger = JsonlLogger(path, resume_step=200)
    assert path.read_text() == original  # untouched until the resumed run logs
    logger.log({"train/loss": 0.2}, step=300)
    logger.finish({"final/return_mean": 1.0})
    steps = [json.loads(line)["step"] for line in path.read_text().splitlines()]
    assert steps == [100, 200, 300, -1]


@pytest.mark.slow
def test_ctrl_c_says_how_to_resume(minari_store: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    step, interrupted = _signal_after_first_checkpoint(run_dir, minari_store, signal.SIGINT)
    assert interrupted.returncode == 130
    lines = [line for line in interrupted.stderr.splitlines() if line.strip()]
    prefix = "error: interrupted. Continue from the last checkpoint with: "
    assert len(lines) == 1 and lines[0].startswith(prefix), lines
    command = lines[0].removeprefix(prefix)
    assert shlex.split(command)[-2:] == ["trainer.resume=true", f"hydra.run.dir={run_dir}"]
    assert step == PAUSE_AT
    assert not (run_dir / "DONE.json").exists() and not (run_dir / "FAILED.json").exists()
    overrides = (run_dir / ".hydra" / "overrides.yaml").read_text()

    # the printed command, run literally by a shell, finishes the run with its own settings
    env = cli_env(minari_store)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        command, shell=True, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run_dir / "DONE.json").exists()
    records = _records(run_dir)
    assert max(r["step"] for r in records if "train/loss" in r) == STEPS
    for override in RUN:  # the original settings, not the defaults
        assert override in overrides and override in (run_dir / ".hydra/overrides.yaml").read_text()


@pytest.mark.slow
def test_resume_without_retyping_uses_the_runs_saved_overrides(
    minari_store: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    step, killed = _signal_after_first_checkpoint(run_dir, minari_store)
    assert killed.returncode == -signal.SIGKILL and step == PAUSE_AT
    # only the resume flag and the dir: steps, logger, model size etc. come from the run
    result = run_cli(train_command(run_dir, "trainer.resume=true"), minari_store, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Resuming {run_dir} with its saved overrides: " in result.stdout
    assert f"Resumed from {run_dir / 'checkpoints' / 'last.pt'} at step {step}" in result.stdout
    records = _records(run_dir)
    assert max(r["step"] for r in records if "train/loss" in r) == STEPS  # not the default
    saved = (run_dir / ".hydra" / "overrides.yaml").read_text()
    for override in RUN:  # overrides.yaml still says how the run was made
        assert override in saved
    config = (run_dir / ".hydra" / "config.yaml").read_text()
    assert "- 16\n" in config  # actor.hidden_sizes=[16], not the default network
