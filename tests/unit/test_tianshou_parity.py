"""Numeric parity of ``imitation_lab.ImitationPolicy`` with Tianshou 1.2's ``ImitationPolicy``.

``tests/data/tianshou_reference.json`` was recorded by ``tools/tianshou_parity/make_reference.py``
in a side venv with Tianshou installed; this test replays every case with our policy and
compares, without importing Tianshou. Tianshou's ``update(0, buffer)`` was driven with a
buffer holding exactly the batch, so it saw the same minibatch our ``update(batch)`` gets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from imitation_lab import Batch, ImitationPolicy

REFERENCE_PATH = Path(__file__).resolve().parents[1] / "data" / "tianshou_reference.json"
REFERENCE: dict[str, Any] = json.loads(REFERENCE_PATH.read_text())
CASES: list[dict[str, Any]] = REFERENCE["cases"]
SETUP = REFERENCE["setup"]
INPUTS = REFERENCE["inputs"]
ATOL = 1e-6


class Actor(nn.Module):
    """The generator's actor: ``Linear(4, 16) -> Tanh -> Linear(16, out)``."""

    def __init__(self, out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, out_dim))
        self.training_seen: list[bool] = []

    def forward(self, obs: Any, state: Any = None, info: Any = None) -> tuple[torch.Tensor, Any]:
        self.training_seen.append(self.training)
        return self.net(torch.as_tensor(obs, dtype=torch.float32)), state


def _case_id(case: dict[str, Any]) -> str:
    scaling = "scaled" if case["action_scaling"] else "raw"
    return f"{case['kind']}-{case['action_bound_method']}-{scaling}-{case['scheduler']}"


def _space(kind: str) -> gym.Space:
    if kind == "discrete":
        return gym.spaces.Discrete(SETUP["n_discrete"])
    low = np.array(SETUP["box_low"], dtype=np.float32)
    high = np.array(SETUP["box_high"], dtype=np.float32)
    return gym.spaces.Box(low=low, high=high, shape=(2,), dtype=np.float32)


def _load_actor(weights: dict[str, Any], out_dim: int) -> Actor:
    actor = Actor(out_dim)
    state = {k: torch.tensor(v, dtype=torch.float32) for k, v in weights.items()}
    actor.load_state_dict(state)
    return actor


def _schedulers(name: str, optim: torch.optim.Optimizer) -> Any:
    if name == "none":
        return None
    if name == "steplr":
        return torch.optim.lr_scheduler.StepLR(optim, step_size=2, gamma=0.5)
    assert name == "multi"
    # Tianshou: MultipleLRSchedulers(StepLR, ExponentialLR); ours takes the plain list.
    return [
        torch.optim.lr_scheduler.StepLR(optim, step_size=2, gamma=0.5),
        torch.optim.lr_scheduler.ExponentialLR(optim, gamma=0.9),
    ]


def _build(case: dict[str, Any]) -> tuple[ImitationPolicy, Actor, torch.optim.Optimizer]:
    out_dim = SETUP["n_discrete"] if case["kind"] == "discrete" else 2
    actor = _load_actor(case["initial_weights"], out_dim)
    optim = torch.optim.Adam(actor.parameters(), lr=1e-2)
    policy = ImitationPolicy(
        actor=actor,
        optim=optim,
        action_space=_space(case["kind"]),
        action_scaling=case["action_scaling"],
        action_bound_method=case["action_bound_method"],
        lr_scheduler=_schedulers(case["scheduler"], optim),
    )
    return policy, actor, optim


def _obs() -> np.ndarray:
    return np.array(INPUTS["obs"], dtype=np.float32)


def _target(kind: str) -> np.ndarray:
    if kind == "discrete":
        return np.array(INPUTS["act_discrete"], dtype=np.int64)
    return np.array(INPUTS["act_continuous"], dtype=np.float32)


def _close(actual: Any, expected: Any) -> None:
    if isinstance(actual, torch.Tensor):
        actual = actual.detach().cpu().numpy()
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=0, atol=ATOL)


def _as_input(values: list, kind: str) -> np.ndarray:
    return np.array(values, dtype=np.float32 if kind == "continuous" else np.int64)


def test_reference_header_and_coverage() -> None:
    header = REFERENCE["header"]
    assert header["versions"]["tianshou"].startswith("1.")
    assert "make_reference.py" in header["command"]
    ids = {_case_id(c) for c in CASES}
    assert len(ids) == len(CASES) == 3 * 3 + 3 * 2 * 3  # discrete 3x3, continuous 3x2x3


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_forward_matches(case: dict[str, Any]) -> None:
    policy, _, _ = _build(case)
    with torch.no_grad():
        out = policy(Batch(obs=_obs()))
    _close(out.logits, case["forward_logits"])
    if case["kind"] == "discrete":
        assert out.act.dtype == torch.int64
        assert out.act.tolist() == case["forward_act"]
    else:
        _close(out.act, case["forward_act"])
    assert (out.state is None) is case["forward_state_is_none"]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_training_matches(case: dict[str, Any]) -> None:
    policy, actor, optim = _build(case)
    batch = Batch(obs=_obs(), act=_target(case["kind"]))
    use_update = case["scheduler"] != "none"
    updating_inside: list[bool] = []
    original_learn = policy.learn

    def spying_learn(b: Batch, *args: Any, **kwargs: Any) -> Any:
        updating_inside.append(policy.updating)
        return original_learn(b, *args, **kwargs)

    policy.learn = spying_learn  # type: ignore[method-assign]
    losses, lrs = [], []
    for _ in range(SETUP["n_steps"]):
        stats = policy.update(batch) if use_update else policy.learn(batch)
        losses.append(stats.loss)
        lrs.append([g["lr"] for g in optim.param_groups])

    _close(losses, case["losses"])
    _close(lrs, case["lrs"])
    for name, value in actor.state_dict().items():
        _close(value, case["final_weights"][name])
    with torch.no_grad():
        _close(policy(Batch(obs=_obs())).logits, case["forward_logits_after"])
    if use_update:
        assert updating_inside == case["updating_inside_learn"]
        assert policy.updating is case["updating_after_update"]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_map_action_matches(case: dict[str, Any]) -> None:
    policy, _, _ = _build(case)
    kind = case["kind"]
    raw = _as_input(case["map_action_in"], kind)
    mapped = policy.map_action(raw)
    _close(mapped, case["map_action_out"])
    assert str(np.asarray(mapped).dtype) == case["map_action_out_dtype"]
    _close(policy.map_action(torch.as_tensor(raw)), case["map_action_torch_out"])

    inv_in = _as_input(case["map_action_inverse_in"], kind)
    inverse = policy.map_action_inverse(inv_in)
    _close(inverse, case["map_action_inverse_out"])
    assert str(np.asarray(inverse).dtype) == case["map_action_inverse_out_dtype"]
    _close(policy.map_action(inverse), case["map_action_of_inverse"])

    if "map_action_wide_input" in case:
        expected = case["map_action_wide_input"]
        assert expected["raises"] == "AssertionError"
        wide = np.array(expected["in"], dtype=np.float32)
        with pytest.raises(AssertionError, match="action scaling only accepts"):
            policy.map_action(wide)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_update_leaves_policy_mode_as_tianshou(case: dict[str, Any]) -> None:
    """After ``update`` the module mode is what it was before (Tianshou restores it too)."""
    policy, _, _ = _build(case)
    policy.eval()
    policy.update(Batch(obs=_obs(), act=_target(case["kind"])))
    assert policy.training is case["policy_training_after_update"]


def test_construction_errors_match() -> None:
    construction = REFERENCE["construction"]
    box, disc = _space("continuous"), _space("discrete")

    def build(space: gym.Space, **kwargs: Any) -> ImitationPolicy:
        actor = Actor(2)
        optim = torch.optim.Adam(actor.parameters(), lr=1e-2)
        return ImitationPolicy(actor=actor, optim=optim, action_space=space, **kwargs)

    assert construction["unknown_bound_method"]["raises"] == "ValueError"
    with pytest.raises(ValueError):
        build(box, action_bound_method="x")
    assert construction["scaling_on_discrete"]["raises"] == "ValueError"
    with pytest.raises(ValueError, match="action_scaling can only be True"):
        build(disc, action_scaling=True)
    assert "value" in construction["scaling_with_bound_none_on_box"]
    build(box, action_scaling=True, action_bound_method=None)


def test_broadcast_target_is_rejected_where_tianshou_broadcasts() -> None:
    """The one deliberate difference: a ``(B,)`` target for a ``(B, 1)`` output."""
    ref = REFERENCE["broadcast_target"]
    # Tianshou averaged the (B, B) broadcast, not the per-sample error.
    assert ref["tianshou_loss"] == pytest.approx(ref["broadcast_mse_BxB"], abs=ATOL)
    assert abs(ref["tianshou_loss"] - ref["correct_mse"]) > 1e-3
    torch.manual_seed(0)
    actor = Actor(1)
    optim = torch.optim.Adam(actor.parameters(), lr=1e-2)
    policy = ImitationPolicy(
        actor=actor, optim=optim, action_space=gym.spaces.Box(-1.0, 1.0, shape=(1,))
    )
    target = np.array(ref["target"], dtype=np.float32)
    with pytest.raises(ValueError, match="shape"):
        policy.learn(Batch(obs=_obs(), act=target))
    # Reshaped to (B, 1) it trains and gives the per-sample MSE.
    with torch.no_grad():
        out = policy(Batch(obs=_obs())).act
    stats = policy.learn(Batch(obs=_obs(), act=target[:, None]))
    assert stats.loss == pytest.approx(float(((out[:, 0] - torch.as_tensor(target)) ** 2).mean()))


# --------------------------------------------------------------------------- train mode, numpy out
# Two behaviours recorded from Tianshou: learn runs in train mode inside update, and
# map_action returns numpy for any space.


def test_update_runs_learn_in_train_mode() -> None:
    case = CASES[0]
    assert all(case["actor_training_inside_learn_after_policy_eval"])
    policy, actor, _ = _build(case)
    policy.eval()
    actor.training_seen.clear()
    policy.update(Batch(obs=_obs(), act=_target(case["kind"])))
    assert actor.training_seen == [True]


def test_discrete_map_action_of_tensor_returns_numpy() -> None:
    case = next(c for c in CASES if c["kind"] == "discrete")
    assert case["map_action_torch_in_out_type"] == "ndarray"
    policy, _, _ = _build(case)
    raw = torch.as_tensor(np.array(case["map_action_in"], dtype=np.int64))
    assert isinstance(policy.map_action(raw), np.ndarray)
