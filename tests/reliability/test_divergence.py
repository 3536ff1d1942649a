"""Loss or weights become NaN/inf: a clear error, the last good checkpoint, the metrics so far."""

from __future__ import annotations

import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from imitation_lab.actors import MLPActor
from imitation_lab.data.buffer import OfflineData
from imitation_lab.errors import TrainingDivergedError
from imitation_lab.policy.imitation import ImitationPolicy
from imitation_lab.training.fit import fit_policy
from imitation_lab.training.loggers import JsonlLogger
from imitation_lab.training.settings import TrainerSchema
from tests.reliability.conftest import TINY, assert_one_line_error, run_cli, train_command


def test_exploding_lr_stops_with_one_error_and_keeps_the_last_good_checkpoint(
    minari_store: Path, tmp_path: Path
) -> None:
    """At step 100 a step scheduler multiplies lr by 1e30: the loss is inf two steps later."""
    run_dir = tmp_path / "run"
    overrides = [
        *TINY,
        "trainer.steps=400",
        "trainer.checkpoint_every=50",
        "scheduler=step",
        "scheduler.step_size=100",
        "scheduler.gamma=1e30",
    ]
    result = run_cli(train_command(run_dir, *overrides), minari_store)
    line = assert_one_line_error(result, "training stopped", "last good checkpoint is kept")
    assert "Loss became" in line or "became NaN/inf" in line

    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 100  # the last checkpoint before the blow-up, not a poisoned one
    assert all(torch.isfinite(w).all() for w in state["policy"].values())

    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["step"] <= 100] == [50, 100]  # flushed
    assert records[-1]["step"] > 100 and records[-1]["train/loss"] is None  # the bad loss
    assert not (run_dir / "DONE.json").exists()
    assert json.loads((run_dir / "FAILED.json").read_text())["error"] == "TrainingDivergedError"


def _tiny_run(run_dir: Path) -> tuple[ImitationPolicy, OfflineData, TrainerSchema]:
    torch.manual_seed(0)
    n, obs_dim = 64, 3
    obs = torch.randn(n, obs_dim)
    data = OfflineData(
        obs=obs,
        act=obs[:, :1].clamp(-1, 1),
        rewards=torch.zeros(n),
        terminations=torch.zeros(n, dtype=torch.bool),
        truncations=torch.zeros(n, dtype=torch.bool),
        episode_returns=np.zeros(1),
    )
    actor = MLPActor(obs_dim, 1, hidden_sizes=[8])
    policy = ImitationPolicy(
        actor=actor,
        optim=torch.optim.SGD(actor.parameters(), lr=0.01),
        action_space=gym.spaces.Box(-1.0, 1.0, (1,)),
    )
    settings = TrainerSchema(
        steps=40, batch_size=8, log_every=10, checkpoint_every=10, eval_every=0, progress=False
    )
    return policy, data, settings


def test_nan_gradients_never_overwrite_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NaN gradient at step 20 poisons the weights; the step-20 checkpoint must not be written."""
    policy, data, settings = _tiny_run(tmp_path)
    real_update = policy.update
    calls = {"n": 0}

    def update_with_nan_gradient(batch):
        stats = real_update(batch)
        calls["n"] += 1
        if calls["n"] == 20:  # the update of step 20 received a NaN gradient
            with torch.no_grad():
                next(policy.parameters()).fill_(math.nan)
        return stats

    monkeypatch.setattr(policy, "update", update_with_nan_gradient)
    with pytest.raises(TrainingDivergedError, match=r"became NaN/inf at step 20 \(not saved"):
        fit_policy(policy, data, tmp_path, settings, logger=JsonlLogger(tmp_path / "metrics.jsonl"))
    state = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 10
    assert all(torch.isfinite(w).all() for w in state["policy"].values())
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").open()]
    assert steps == [10, 20]
