"""Every action head end to end on the built pendulum data: trains, evaluates, checkpoints,
and ``eval`` repeats its evaluation to the last bit (a sampling head included); stacked
members equal their single runs; a kill -9 resume is bit-identical; ``collect`` runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import torch

from imitation_lab.collect import collect
from imitation_lab.eval_app import run_eval
from imitation_lab.train import train
from tests.datasets.helpers import compose_collect
from tests.helpers import compose_config, eval_config
from tests.pausing import pause_env, wait_until_paused
from tests.reliability.conftest import cli_env, run_cli, train_command

RUN = ["trainer.steps=200", "trainer.eval_every=100", "trainer.eval_episodes=3",
       "trainer.eval_envs=2", "actor.hidden_sizes=[32,32]", "seed=5"]  # fmt: skip
HEADS = {
    "gaussian": ["head=gaussian", "head.act=sample"],  # a draw per step: still exact
    "gmm": ["head=gmm", "head.modes=3"],
    "bins": ["head=bins", "head.bins=21"],
    "diffusion": ["head=diffusion", "head.feature_dim=16", "head.hidden_sizes=[32]",
                  "head.inference_steps=4"],
}  # fmt: skip


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("name", list(HEADS))
def test_a_head_trains_and_eval_repeats_its_evaluation_exactly(name: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    summary = train(compose_config([*RUN, *HEADS[name]], run_dir))
    assert summary["step"] == 200 and "final/normalized_score" in summary
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert state["metadata"]["config"]["head"]["_target_"].endswith("Head")
    if name == "diffusion":  # the denoiser is in the checkpoint, beside the actor
        assert any(key.startswith("head.denoiser") for key in state["policy"])
    cfg = eval_config(run_dir / "checkpoints" / "last.pt")
    result = run_eval(cfg, tmp_path / "eval")
    logged = [x for x in _lines(run_dir) if "eval/return_mean" in x][-1]
    assert result["return_mean"] == logged["eval/return_mean"]  # to the last bit


def test_stacked_members_equal_their_single_runs_with_every_stackable_head(
    tmp_path: Path,
) -> None:
    """Over a short budget, as for head=mse: the stacked and the separate runs compute in a
    different float order (bmm vs mm), which gradient descent amplifies over longer runs
    (``benchmarks/batched_drift.py``): a GMM's NLL, with its 1e-4 minimum std, the fastest."""
    for name in ("gaussian", "gmm", "bins"):
        overrides = [*RUN, *HEADS[name], "trainer.eval_every=0", "trainer.eval_episodes=0",
                     "trainer.steps=100", "trainer.log_every=20"]  # fmt: skip
        stacked = tmp_path / name / "stacked"
        train(compose_config([*overrides, "trainer.num_seeds=2"], stacked))
        for seed in (5, 6):
            single = tmp_path / name / f"single_{seed}"
            train(compose_config([*overrides, f"seed={seed}"], single))
            ours = [x["train/loss"] for x in _lines(stacked / f"seed_{seed}") if "train/loss" in x]
            ref = [x["train/loss"] for x in _lines(single) if "train/loss" in x]
            # float order differs (bmm vs mm): an NLL near its optimum shows it at ~1e-5
            assert ours == pytest.approx(ref, rel=1e-4, abs=1e-5), name


def test_diffusion_refuses_stacking_in_one_line(tmp_path: Path, minari_store: Path) -> None:
    result = run_cli(
        train_command(tmp_path / "run", "logger=none", *HEADS["diffusion"], "trainer.num_seeds=2"),
        minari_store,
    )
    assert result.returncode == 1 and "does not stack" in result.error_lines[0]


@pytest.mark.slow
def test_kill_9_then_resume_with_a_sampling_head_is_bit_identical(
    tmp_path: Path, minari_store: Path
) -> None:
    """With a validation split too: val/loss, the best_val choice and best.pt resume exactly."""
    overrides = ["logger=none", "trainer.progress=false", "trainer.checkpoint_every=100",
                 *RUN, *HEADS["gaussian"], "dataset.val_fraction=0.2",
                 "trainer.select=best_val"]  # fmt: skip
    reference = tmp_path / "reference"
    assert run_cli(train_command(reference, *overrides), minari_store).returncode == 0
    resumed, pause = tmp_path / "resumed", tmp_path / "pause"
    proc = subprocess.Popen(train_command(resumed, *overrides), env=cli_env(
        minari_store, **pause_env(pause, 100)), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_until_paused(pause, 100, alive=lambda: proc.poll() is None)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    result = run_cli(train_command(resumed, *overrides, "trainer.resume=true"), minari_store)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("last.pt", "best.pt"):
        ours, ref = (torch.load(r / "checkpoints" / name, weights_only=True)["policy"]
                     for r in (resumed, reference))  # fmt: skip
        assert ours.keys() == ref.keys()
        assert all(torch.equal(ours[k], ref[k]) for k in ref), name
    drop = ("train/train_time", "train/steps_per_sec")
    lines = [[{k: v for k, v in x.items() if k not in drop} for x in _lines(r)]
             for r in (resumed, reference)]  # fmt: skip
    assert lines[0] == lines[1]  # the evaluations after the resume drew the same actions
    assert sum("val/loss" in x for x in lines[0]) == 2  # steps 100 and 200, none twice


def test_collect_acts_with_a_trained_head(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train(compose_config([*RUN, *HEADS["bins"], "trainer.eval_episodes=0"], run_dir))
    summary = collect(compose_collect([
        "source=checkpoint", f"source.path={run_dir / 'checkpoints' / 'last.pt'}",
        "dataset_id=me/heads/bins-v0", "episodes=2", "ref_episodes=1", "num_envs=1",
    ]))  # fmt: skip
    assert summary["episodes"] == 2 and summary["steps"] == 400
