"""``ImitationPolicy`` against values worked out by hand (no Tianshou-recorded numbers).

Actors are single ``Linear`` layers with chosen weights, so every loss, gradient step and
action mapping below can be checked on paper; the arithmetic is spelled out in the comments.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from imitation_lab import Batch, ImitationPolicy, ImitationTrainingStats

LN2, LN3 = math.log(2.0), math.log(3.0)


class LinearActor(nn.Module):
    """``obs @ W.T + b`` with Tianshou's model signature; records ``policy.updating``."""

    def __init__(self, weight: list[list[float]], bias: list[float]) -> None:
        super().__init__()
        self.linear = nn.Linear(len(weight[0]), len(weight))
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor(weight))
            self.linear.bias.copy_(torch.tensor(bias))
        self.policy: ImitationPolicy | None = None
        self.updating_seen: list[bool] = []

    def forward(self, obs: Any, state: Any = None, info: Any = None) -> tuple[torch.Tensor, Any]:
        if self.policy is not None:
            self.updating_seen.append(self.policy.updating)
        return self.linear(torch.as_tensor(obs, dtype=torch.float32)), state


def make_policy(
    actor: nn.Module | None = None,
    space: gym.Space | None = None,
    lr: float = 0.1,
    **kwargs: Any,
) -> ImitationPolicy:
    actor = actor if actor is not None else LinearActor([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])
    space = space if space is not None else gym.spaces.Box(-1.0, 1.0, shape=(2,))
    optim = torch.optim.SGD(actor.parameters(), lr=lr)
    return ImitationPolicy(actor=actor, optim=optim, action_space=space, **kwargs)


def box(low: list[float], high: list[float]) -> gym.spaces.Box:
    return gym.spaces.Box(
        low=np.array(low, dtype=np.float32), high=np.array(high, dtype=np.float32), shape=(2,)
    )


SYM_BOX = box([-2.0, -2.0], [2.0, 2.0])  # scale: a -> 2a in both dims
ASYM_BOX = box([-2.0, -1.0], [2.0, 3.0])  # scale: a -> (2a, 2a + 1)


# --------------------------------------------------------------------------- continuous learn
# W = [[1, 2], [0, -1]], b = [0.5, 0]; obs = [[1, 0], [0, 1]]
#   out = [[1 + 0.5, 0], [2 + 0.5, -1]] = [[1.5, 0], [2.5, -1]]
#   target = [[1, 0], [2, 1]] -> diff = [[0.5, 0], [0.5, -2]]
#   MSE = (0.25 + 0 + 0.25 + 4) / 4 = 1.125
#   dL/dout = 2 * diff / 4 = [[0.25, 0], [0.25, -1]]
#   dW = dL/dout.T @ obs = [[0.25, 0.25], [0, -1]],  db = [0.5, -1]
#   SGD(lr=0.1): W = [[0.975, 1.975], [0, -0.9]],  b = [0.45, 0.1]
CONT_W, CONT_B = [[1.0, 2.0], [0.0, -1.0]], [0.5, 0.0]
CONT_OBS = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
CONT_TARGET = np.array([[1.0, 0.0], [2.0, 1.0]], dtype=np.float32)


@pytest.mark.parametrize("bound", ["clip", "tanh", None])
@pytest.mark.parametrize("scaling", [False, True])
def test_continuous_learn_is_mse_on_raw_output(bound: str | None, scaling: bool) -> None:
    """Bounding/scaling never touch learn: the raw output is regressed on the given target."""
    actor = LinearActor(CONT_W, CONT_B)
    policy = make_policy(actor, ASYM_BOX, action_bound_method=bound, action_scaling=scaling)
    stats = policy.learn(Batch(obs=CONT_OBS, act=CONT_TARGET))
    assert isinstance(stats, ImitationTrainingStats)
    assert stats.loss == pytest.approx(1.125, abs=1e-6)
    torch.testing.assert_close(
        actor.linear.weight.detach(), torch.tensor([[0.975, 1.975], [0.0, -0.9]])
    )
    torch.testing.assert_close(actor.linear.bias.detach(), torch.tensor([0.45, 0.1]))


def test_continuous_forward_act_is_the_raw_output() -> None:
    policy = make_policy(LinearActor(CONT_W, CONT_B), ASYM_BOX)
    out = policy(Batch(obs=CONT_OBS))
    expected = torch.tensor([[1.5, 0.0], [2.5, -1.0]])
    torch.testing.assert_close(out.logits, expected)
    assert out.act is out.logits
    assert out.state is None


def test_continuous_target_accepts_torch_and_float64() -> None:
    policy = make_policy(LinearActor(CONT_W, CONT_B), ASYM_BOX)
    target = torch.tensor(CONT_TARGET, dtype=torch.float64)
    assert policy.learn(Batch(obs=CONT_OBS, act=target)).loss == pytest.approx(1.125, abs=1e-6)


def test_continuous_target_shape_mismatch_raises() -> None:
    """A (B,) target for a (B, 1) output would broadcast to (B, B) in F.mse_loss."""
    actor = LinearActor([[1.0, 0.0]], [0.0])
    policy = make_policy(actor, gym.spaces.Box(-1.0, 1.0, shape=(1,)))
    before = actor.linear.weight.detach().clone()
    with pytest.raises(ValueError, match=r"shape \(2,\).*\(2, 1\)"):
        policy.learn(Batch(obs=CONT_OBS, act=np.array([1.0, 2.0], dtype=np.float32)))
    torch.testing.assert_close(actor.linear.weight.detach(), before)  # no step taken
    # (B, 1): out = [[1], [0]], target [[1], [2]] -> MSE = (0 + 4) / 2 = 2
    stats = policy.learn(Batch(obs=CONT_OBS, act=np.array([[1.0], [2.0]], dtype=np.float32)))
    assert stats.loss == pytest.approx(2.0, abs=1e-6)


# --------------------------------------------------------------------------- discrete learn
# W = [[1, 0], [0, 1], [-1, -1]], b = 0
#   obs0 = [ln 4, 0]: logits [ln 4, 0, -ln 4] -> exp [4, 1, 1/4], sum 21/4 -> p = [16, 4, 1] / 21
#   obs1 = [0, ln 3]: logits [0, ln 3, -ln 3] -> exp [1, 3, 1/3], sum 13/3 -> p = [3, 9, 1] / 13
#   target [0, 2]: NLL = -(ln(16/21) + ln(1/13)) / 2;  argmax act = [0, 1]
DISC_W, DISC_B = [[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], [0.0, 0.0, 0.0]
DISC_OBS = np.array([[2 * LN2, 0.0], [0.0, LN3]], dtype=np.float32)
DISC_TARGET = np.array([0, 2], dtype=np.int64)
DISC_NLL = -(math.log(16 / 21) + math.log(1 / 13)) / 2


@pytest.mark.parametrize("bound", ["clip", "tanh", None])
def test_discrete_learn_is_nll_of_log_softmax(bound: str | None) -> None:
    actor = LinearActor(DISC_W, DISC_B)
    policy = make_policy(actor, gym.spaces.Discrete(3), action_bound_method=bound)
    stats = policy.learn(Batch(obs=DISC_OBS, act=DISC_TARGET))
    assert stats.loss == pytest.approx(DISC_NLL, abs=1e-6)
    # dL/dlogits = (softmax - onehot) / 2;  db = column sums
    p0 = np.array([16, 4, 1]) / 21
    p1 = np.array([3, 9, 1]) / 13
    grad_b = ((p0 - [1, 0, 0]) + (p1 - [0, 0, 1])) / 2
    np.testing.assert_allclose(actor.linear.bias.detach().numpy(), -0.1 * grad_b, atol=1e-6)


def test_discrete_target_accepts_float_labels() -> None:
    policy = make_policy(LinearActor(DISC_W, DISC_B), gym.spaces.Discrete(3))
    stats = policy.learn(Batch(obs=DISC_OBS, act=np.array([0.0, 2.0])))
    assert stats.loss == pytest.approx(DISC_NLL, abs=1e-6)


def test_discrete_forward_act_is_argmax() -> None:
    policy = make_policy(LinearActor(DISC_W, DISC_B), gym.spaces.Discrete(3))
    out = policy(Batch(obs=DISC_OBS))
    torch.testing.assert_close(
        out.logits, torch.tensor([[2 * LN2, 0.0, -2 * LN2], [0.0, LN3, -LN3]])
    )
    assert out.act.dtype == torch.int64
    assert out.act.tolist() == [0, 1]


def test_forward_passes_state_and_info_through() -> None:
    class StatefulActor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))
            self.seen: list[Any] = []

        def forward(self, obs: Any, state: Any = None, info: Any = None) -> Any:
            self.seen.append((state, info))
            return torch.zeros(len(obs), 3), {"h": 7}

    actor = StatefulActor()
    policy = make_policy(actor, gym.spaces.Discrete(3))
    out = policy(Batch(obs=np.zeros((2, 2)), info={"k": 1}), state="s0")
    assert actor.seen == [("s0", {"k": 1})]
    assert out.state == {"h": 7}
    policy(Batch(obs=np.zeros((2, 2))))
    assert actor.seen[-1] == (None, {})


# --------------------------------------------------------------------------- update / schedulers
def test_updating_is_true_only_inside_learn_during_update() -> None:
    actor = LinearActor(CONT_W, CONT_B)
    policy = make_policy(actor, ASYM_BOX)
    actor.__dict__["policy"] = policy  # a plain reference, not a submodule (no cycle)
    batch = Batch(obs=CONT_OBS, act=CONT_TARGET)
    assert policy.updating is False
    stats = policy.update(batch)
    assert actor.updating_seen == [True]
    assert policy.updating is False
    assert stats.loss == pytest.approx(1.125, abs=1e-6)
    assert stats.train_time >= 0.0
    assert stats.get_loss_stats_dict() == {"loss": stats.loss}
    policy.learn(batch)  # learn alone is not an update
    assert actor.updating_seen == [True, False]


def test_scheduler_steps_exactly_once_per_update() -> None:
    actor = LinearActor(CONT_W, CONT_B)
    optim = torch.optim.SGD(actor.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optim, step_size=1, gamma=0.5)
    policy = ImitationPolicy(
        actor=actor, optim=optim, action_space=ASYM_BOX, lr_scheduler=scheduler
    )
    batch = Batch(obs=CONT_OBS, act=CONT_TARGET)
    policy.learn(batch)  # learn never steps the scheduler
    assert scheduler.last_epoch == 0
    assert optim.param_groups[0]["lr"] == pytest.approx(0.1)
    for k in range(1, 4):
        policy.update(batch)
        assert scheduler.last_epoch == k
        assert optim.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**k)


def test_scheduler_list_is_stepped_in_order_once_per_update() -> None:
    calls: list[str] = []

    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name

        def step(self) -> None:
            calls.append(self.name)

    policy = make_policy(
        LinearActor(CONT_W, CONT_B), ASYM_BOX, lr_scheduler=[Recorder("a"), Recorder("b")]
    )
    batch = Batch(obs=CONT_OBS, act=CONT_TARGET)
    policy.update(batch)
    assert calls == ["a", "b"]
    policy.update(batch)
    assert calls == ["a", "b", "a", "b"]


def test_two_real_schedulers_on_one_optimizer_compose() -> None:
    actor = LinearActor(CONT_W, CONT_B)
    optim = torch.optim.SGD(actor.parameters(), lr=1.0)
    schedulers = [
        torch.optim.lr_scheduler.StepLR(optim, step_size=2, gamma=0.5),
        torch.optim.lr_scheduler.ExponentialLR(optim, gamma=0.9),
    ]
    policy = ImitationPolicy(
        actor=actor, optim=optim, action_space=ASYM_BOX, lr_scheduler=schedulers
    )
    batch = Batch(obs=CONT_OBS * 0.0, act=CONT_TARGET * 0.0)
    lrs = []
    for _ in range(4):
        policy.update(batch)
        lrs.append(optim.param_groups[0]["lr"])
    # step k: 0.9**k from ExponentialLR, halved at k = 2 and 4 by StepLR
    assert lrs == pytest.approx([0.9, 0.81 * 0.5, 0.729 * 0.5, 0.6561 * 0.25])


# --------------------------------------------------------------------------- constructor checks
def test_unknown_bound_method_raises() -> None:
    with pytest.raises(ValueError, match="action_bound_method"):
        make_policy(action_bound_method="sigmoid")


def test_action_scaling_on_discrete_raises() -> None:
    with pytest.raises(ValueError, match="action_scaling can only be True"):
        make_policy(LinearActor(DISC_W, DISC_B), gym.spaces.Discrete(3), action_scaling=True)


def test_action_types() -> None:
    assert make_policy(space=gym.spaces.Discrete(3)).action_type == "discrete"
    assert make_policy(space=gym.spaces.MultiDiscrete([2, 3])).action_type == "discrete"
    assert make_policy(space=gym.spaces.MultiBinary(2)).action_type == "discrete"
    assert make_policy(space=ASYM_BOX).action_type == "continuous"
    with pytest.raises(ValueError, match="Unsupported action space"):
        make_policy(space=gym.spaces.Text(5))


# --------------------------------------------------------------------------- map_action
WIDE = np.array([[-3.0, 0.5], [1.5, -1.0]], dtype=np.float32)
TANH_IN = np.array([[0.0, LN3], [LN2, -LN3]], dtype=np.float32)  # tanh -> [[0, .8], [.6, -.8]]
INSIDE = np.array([[-1.0, 0.5], [0.0, 1.0]], dtype=np.float32)

MAP_CASES = [
    # (bound, scaling, space, input, expected)
    ("clip", False, ASYM_BOX, WIDE, [[-1.0, 0.5], [1.0, -1.0]]),
    ("clip", True, SYM_BOX, WIDE, [[-2.0, 1.0], [2.0, -2.0]]),  # 2a
    ("clip", True, ASYM_BOX, WIDE, [[-2.0, 2.0], [2.0, -1.0]]),  # (2a, 2a + 1)
    ("tanh", False, ASYM_BOX, TANH_IN, [[0.0, 0.8], [0.6, -0.8]]),
    ("tanh", True, SYM_BOX, TANH_IN, [[0.0, 1.6], [1.2, -1.6]]),
    ("tanh", True, ASYM_BOX, TANH_IN, [[0.0, 2.6], [1.2, -0.6]]),
    (None, False, ASYM_BOX, WIDE, WIDE.tolist()),  # identity, no range check
    (None, True, SYM_BOX, INSIDE, [[-2.0, 1.0], [0.0, 2.0]]),
    (None, True, ASYM_BOX, INSIDE, [[-2.0, 2.0], [0.0, 3.0]]),
]


def _map_id(case: tuple) -> str:
    bound, scaling, space, _, _ = case
    name = "sym" if space is SYM_BOX else "asym"
    return f"{bound}-{'scaled' if scaling else 'raw'}-{name}"


@pytest.mark.parametrize("case", MAP_CASES, ids=[_map_id(c) for c in MAP_CASES])
@pytest.mark.parametrize("as_torch", [False, True], ids=["numpy", "torch"])
def test_map_action(case: tuple, as_torch: bool) -> None:
    bound, scaling, space, raw, expected = case
    policy = make_policy(space=space, action_bound_method=bound, action_scaling=scaling)
    act = torch.as_tensor(raw) if as_torch else raw
    out = policy.map_action(act)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_map_action_scaling_without_bound_asserts_range() -> None:
    policy = make_policy(space=ASYM_BOX, action_bound_method=None, action_scaling=True)
    with pytest.raises(AssertionError, match=r"raw action range = \[-1, 1\]"):
        policy.map_action(WIDE)


def test_map_action_accepts_a_list() -> None:
    policy = make_policy(space=ASYM_BOX, action_scaling=True)
    np.testing.assert_allclose(policy.map_action([[2.0, 0.0]]), [[2.0, 1.0]], atol=1e-6)


def test_map_action_is_identity_on_discrete() -> None:
    policy = make_policy(space=gym.spaces.Discrete(3))
    act = np.array([2, 0, 1])
    np.testing.assert_array_equal(policy.map_action(act), [2, 0, 1])
    np.testing.assert_array_equal(policy.map_action_inverse(act), [2, 0, 1])


INVERSE_CASES = [
    # (bound, scaling, space, env action, expected raw action)
    ("clip", False, ASYM_BOX, WIDE, WIDE.tolist()),  # identity
    (None, False, ASYM_BOX, WIDE, WIDE.tolist()),
    ("tanh", False, ASYM_BOX, [[0.6, -0.8]], [[LN2, -LN3]]),  # atanh(.6) = ln 2, atanh(.8) = ln 3
    # unscale (a0 / 2, (a1 - 1) / 2)
    ("clip", True, ASYM_BOX, [[-2.0, 3.0], [0.0, 1.0], [1.0, 2.0]], [[-1, 1], [0, 0], [0.5, 0.5]]),
    (None, True, ASYM_BOX, [[-2.0, 3.0], [1.0, 2.0]], [[-1, 1], [0.5, 0.5]]),
    ("tanh", True, ASYM_BOX, [[1.2, 2.6]], [[LN2, LN3]]),  # -> [.6, .8] -> atanh
    ("tanh", True, SYM_BOX, [[1.2, -1.6]], [[LN2, -LN3]]),  # -> [.6, -.8] -> atanh
]


@pytest.mark.parametrize("case", INVERSE_CASES, ids=[_map_id(c) for c in INVERSE_CASES])
@pytest.mark.parametrize("as_torch", [False, True], ids=["numpy", "torch"])
def test_map_action_inverse(case: tuple, as_torch: bool) -> None:
    bound, scaling, space, env_act, expected = case
    policy = make_policy(space=space, action_bound_method=bound, action_scaling=scaling)
    env_act = np.asarray(env_act, dtype=np.float32)
    out = policy.map_action_inverse(torch.as_tensor(env_act) if as_torch else env_act)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("bound", ["clip", "tanh", None])
@pytest.mark.parametrize("space", [SYM_BOX, ASYM_BOX], ids=["sym", "asym"])
def test_map_action_inverse_round_trip(bound: str | None, space: gym.spaces.Box) -> None:
    policy = make_policy(space=space, action_bound_method=bound, action_scaling=True)
    low, high = space.low, space.high
    env_act = np.stack([low + (high - low) * f for f in (0.05, 0.3, 0.5, 0.95)])
    np.testing.assert_allclose(
        policy.map_action(policy.map_action_inverse(env_act)), env_act, atol=1e-5
    )


def test_map_action_inverse_guards_a_zero_width_dimension() -> None:
    space = gym.spaces.Box(
        low=np.array([0.0, -1.0], np.float32), high=np.array([0.0, 1.0], np.float32)
    )
    policy = make_policy(space=space, action_scaling=True)
    # dim 0: (0 - 0) * 2 / eps - 1 = -1 (no division by zero); dim 1: (0.5 + 1) * 2 / 2 - 1
    np.testing.assert_allclose(policy.map_action_inverse(np.array([[0.0, 0.5]])), [[-1.0, 0.5]])
    np.testing.assert_array_equal(space.high - space.low, [0.0, 2.0])  # space left untouched
