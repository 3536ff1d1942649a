"""tanh_squash trains through the squash; double squashing is rejected; markers match configs."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from imitation_lab.actors import MLPActor
from imitation_lab.config.identity import resolved_config
from imitation_lab.config.schemas import validate
from imitation_lab.data.batch import Batch
from imitation_lab.errors import ConfigError
from imitation_lab.policy.imitation import ImitationPolicy
from imitation_lab.runs.run_dir import finished_summary, write_done
from imitation_lab.train import train
from tests.helpers import compose_config

BOX = gym.spaces.Box(-2.0, 2.0, shape=(1,), dtype=np.float32)


class LinearActor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(2, 1)
        with torch.no_grad():
            self.net.weight.copy_(torch.tensor([[1.5, -2.0]]))
            self.net.bias.fill_(0.5)

    def forward(self, obs, state=None, info=None):
        return self.net(torch.as_tensor(obs, dtype=torch.float32)), state


def _loss(train_through_bound: bool, bound: str) -> tuple[float, torch.Tensor]:
    actor = LinearActor()
    policy = ImitationPolicy(
        actor=actor,
        optim=torch.optim.SGD(actor.parameters(), lr=0.1),
        action_space=BOX,
        action_scaling=True,
        action_bound_method=bound,
        train_through_bound=train_through_bound,
    )
    obs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    target = torch.tensor([[1.0], [-1.0], [0.25]])
    raw = actor(obs)[0].detach()  # 2.0, -1.5, 1.5
    return policy.learn(Batch(obs=obs, act=target, info={})).loss, raw


def test_tanh_squash_loss_is_on_the_squashed_output():
    loss, raw = _loss(True, "tanh")
    target = torch.tensor([[1.0], [-1.0], [0.25]])
    expected = ((np.tanh(2.0) - 1) ** 2 + (np.tanh(-1.5) + 1) ** 2 + (np.tanh(1.5) - 0.25) ** 2) / 3
    assert loss == pytest.approx(expected, rel=1e-6)
    assert loss == pytest.approx(F.mse_loss(torch.tanh(raw), target).item(), rel=1e-6)


def test_default_tanh_keeps_tianshou_loss_on_the_raw_output():
    loss, _ = _loss(False, "tanh")
    assert loss == pytest.approx(((2.0 - 1) ** 2 + (-1.5 + 1) ** 2 + (1.5 - 0.25) ** 2) / 3)


def test_train_through_bound_needs_tanh():
    with pytest.raises(ValueError, match="needs action_bound_method='tanh'"):
        _loss(True, "clip")
    cfg = compose_config(["bounding=clip", "bounding.train_through_bound=true"])
    with pytest.raises(ConfigError, match="bounding=tanh_squash"):
        validate(cfg)


def test_tanh_head_with_tanh_bounding_is_rejected():
    cfg = compose_config(["actor.output_activation=tanh", "bounding=tanh"])
    with pytest.raises(ConfigError, match="squashes the action twice"):
        validate(cfg)
    with pytest.raises(ConfigError, match="squashes the action twice"):
        validate(compose_config(["actor.output_activation=tanh", "bounding=tanh_squash"]))
    validate(compose_config(["actor.output_activation=tanh", "bounding=clip"]))  # fine


def test_tanh_head_bounds_the_actor_output():
    actor = MLPActor(3, 2, hidden_sizes=[8], output_activation="tanh")
    out, _ = actor(torch.randn(64, 3) * 100)
    assert isinstance(actor.net[-1], nn.Tanh) and out.abs().max() <= 1.0


def test_tanh_squash_trains_end_to_end(tmp_path: Path):
    cfg = compose_config(["bounding=tanh_squash"], run_dir=tmp_path)
    assert cfg.bounding.train_through_bound is True
    summary = train(cfg)
    assert summary["step"] == 200 and np.isfinite(summary["final/normalized_score"])
    assert finished_summary(tmp_path, resolved_config(cfg)) == summary


def test_marker_only_matches_the_same_config(tmp_path: Path):
    config = {"seed": 0, "optim": {"lr": 0.001}}
    write_done(tmp_path, config, {"final/normalized_score": 90.0})
    assert finished_summary(tmp_path, config) == {"final/normalized_score": 90.0}
    assert finished_summary(tmp_path, {**config, "seed": 1}) is None
    assert finished_summary(tmp_path / "nowhere", config) is None
