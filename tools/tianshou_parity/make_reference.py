"""Record Tianshou 1.x ``ImitationPolicy`` numbers for the parity test.

Runs ONLY in the side venv that has ``tianshou`` installed (see README.md beside this file);
nothing in the ``imitation_lab`` package or its tests imports this module. It writes
``tests/data/tianshou_reference.json``, which ``tests/unit/test_tianshou_parity.py`` replays
against ``imitation_lab.ImitationPolicy`` without Tianshou.

Usage (from the repository root)::

    /tmp/ts_venv/bin/python tools/tianshou_parity/make_reference.py \
        --out tests/data/tianshou_reference.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import tianshou
import torch
from tianshou.data import Batch, ReplayBuffer
from tianshou.policy import ImitationPolicy
from tianshou.utils import MultipleLRSchedulers
from tianshou.utils.torch_utils import policy_within_training_step
from torch import nn

N_STEPS = 5
BATCH_SIZE = 8
OBS_DIM = 4
HIDDEN = 16
LR = 1e-2
BOX_LOW = [-2.0, -1.0]
BOX_HIGH = [2.0, 3.0]
N_DISCRETE = 3
BOUND_METHODS: list[str | None] = ["clip", "tanh", None]
SCHEDULERS = {
    "none": "no lr_scheduler",
    "steplr": "StepLR(optim, step_size=2, gamma=0.5)",
    "multi": (
        "MultipleLRSchedulers(StepLR(optim, step_size=2, gamma=0.5), "
        "ExponentialLR(optim, gamma=0.9)) -- ours: the list [StepLR, ExponentialLR]"
    ),
}

# Raw actor outputs fed to map_action. Values outside [-1, 1] exercise clip/tanh; with
# action_scaling=True and no bound method Tianshou asserts the range, so that case gets the
# in-range array (the out-of-range one is recorded as raising AssertionError).
RAW_ACT_WIDE = [[-3.0, 2.5], [-1.0, 1.0], [-0.5, 0.25], [0.0, 0.0], [0.9, -0.999], [1.7, -1.2]]
RAW_ACT_INSIDE = [[-1.0, 1.0], [-0.5, 0.25], [0.0, 0.0], [0.9, -0.999], [0.3, -0.7], [0.75, 0.1]]
# Env-unit actions fed to map_action_inverse (strictly inside the box so atanh stays finite).
ENV_ACT_INSIDE_BOX = [[-1.9, -0.9], [-1.0, 0.0], [0.0, 1.0], [0.5, 2.5], [1.99, 2.99]]
# Inputs for map_action_inverse without scaling: (-1, 1) for tanh, anything otherwise.
NORM_ACT_INSIDE = [[-0.99, 0.99], [-0.5, 0.25], [0.0, 0.0], [0.3, -0.7]]
NORM_ACT_WIDE = [[-3.0, 2.5], [-0.5, 0.25], [0.0, 0.0], [1.7, -1.2]]


class Actor(nn.Module):
    """``Linear(4, 16) -> Tanh -> Linear(16, out)`` with Tianshou's model signature."""

    def __init__(self, out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(OBS_DIM, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, out_dim))

    def forward(self, obs: Any, state: Any = None, info: Any = None) -> tuple[torch.Tensor, Any]:
        obs = torch.as_tensor(obs, dtype=torch.float32)
        return self.net(obs), state


def make_actor(out_dim: int) -> Actor:
    torch.manual_seed(0)
    return Actor(out_dim)


def weights_of(module: nn.Module) -> dict[str, Any]:
    return {name: p.detach().cpu().double().tolist() for name, p in module.state_dict().items()}


def to_list(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64).tolist()
    return arr.astype(np.float64).tolist()


def make_inputs() -> dict[str, Any]:
    rng = np.random.default_rng(1)
    obs = rng.standard_normal((BATCH_SIZE, OBS_DIM)).astype(np.float32)
    low, high = np.array(BOX_LOW), np.array(BOX_HIGH)
    act_cont = (low + (high - low) * rng.random((BATCH_SIZE, 2))).astype(np.float32)
    act_disc = rng.integers(0, N_DISCRETE, size=BATCH_SIZE).astype(np.int64)
    return {"obs": obs, "act_continuous": act_cont, "act_discrete": act_disc}


def make_space(kind: str) -> gym.Space:
    if kind == "discrete":
        return gym.spaces.Discrete(N_DISCRETE)
    low, high = np.array(BOX_LOW, np.float32), np.array(BOX_HIGH, np.float32)
    return gym.spaces.Box(low=low, high=high, shape=(2,), dtype=np.float32)


def make_scheduler(name: str, optim: torch.optim.Optimizer) -> Any:
    if name == "none":
        return None
    if name == "steplr":
        return torch.optim.lr_scheduler.StepLR(optim, step_size=2, gamma=0.5)
    return MultipleLRSchedulers(
        torch.optim.lr_scheduler.StepLR(optim, step_size=2, gamma=0.5),
        torch.optim.lr_scheduler.ExponentialLR(optim, gamma=0.9),
    )


def fill_buffer(obs: np.ndarray, act: np.ndarray) -> ReplayBuffer:
    """A full buffer of exactly the batch, so ``sample(0)`` returns it in order."""
    buffer = ReplayBuffer(size=len(obs))
    for i in range(len(obs)):
        buffer.add(
            Batch(
                obs=obs[i],
                act=act[i],
                rew=0.0,
                terminated=False,
                truncated=False,
                obs_next=obs[i],
                info={},
            )
        )
    return buffer


def outcome(fn: Callable[[], Any]) -> dict[str, Any]:
    """``{"value": ...}`` or ``{"raises": "ExceptionType"}``."""
    try:
        return {"value": to_list(fn())}
    except Exception as exc:
        return {"raises": type(exc).__name__, "message": str(exc)[:200]}


def run_case(kind: str, bound: str | None, scaling: bool, sched: str, inputs: dict) -> dict:
    out_dim = N_DISCRETE if kind == "discrete" else 2
    actor = make_actor(out_dim)
    initial = weights_of(actor)
    optim = torch.optim.Adam(actor.parameters(), lr=LR)
    scheduler = make_scheduler(sched, optim)
    policy = ImitationPolicy(
        actor=actor,
        optim=optim,
        action_space=make_space(kind),
        action_scaling=scaling,
        action_bound_method=bound,
        lr_scheduler=scheduler,
    )
    obs = inputs["obs"]
    target = inputs["act_continuous"] if kind == "continuous" else inputs["act_discrete"]

    with torch.no_grad():
        fwd = policy(Batch(obs=obs, info={}))
    record: dict[str, Any] = {
        "kind": kind,
        "action_bound_method": bound,
        "action_scaling": scaling,
        "scheduler": sched,
        "initial_weights": initial,
        "forward_logits": to_list(fwd.logits),
        "forward_act": to_list(fwd.act),
        "forward_state_is_none": fwd.state is None,
    }

    buffer = fill_buffer(obs, target)
    losses, lrs, updating_seen = [], [], []
    original_learn = policy.learn

    def spying_learn(batch: Any, *args: Any, **kwargs: Any) -> Any:
        updating_seen.append((bool(policy.updating), bool(policy.actor.training)))
        np.testing.assert_array_equal(batch.obs, obs)  # sample(0) kept the batch order
        return original_learn(batch, *args, **kwargs)

    policy.learn = spying_learn  # type: ignore[method-assign]
    policy.eval()  # Tianshou's update switches to train mode itself (torch_train_mode)
    with policy_within_training_step(policy):
        for _ in range(N_STEPS):
            stats = policy.update(0, buffer)
            losses.append(float(stats.loss))
            lrs.append([float(g["lr"]) for g in optim.param_groups])
    record.update(
        losses=losses,
        lrs=lrs,
        final_weights=weights_of(actor),
        updating_inside_learn=[u for u, _ in updating_seen],
        actor_training_inside_learn_after_policy_eval=[t for _, t in updating_seen],
        policy_training_after_update=bool(policy.training),
        updating_after_update=bool(policy.updating),
    )
    with torch.no_grad():
        fwd = policy(Batch(obs=obs, info={}))
    record["forward_logits_after"] = to_list(fwd.logits)

    # map_action / map_action_inverse on fixed arrays.
    if kind == "continuous":
        raw = RAW_ACT_INSIDE if (scaling and bound is None) else RAW_ACT_WIDE
        inv = (
            ENV_ACT_INSIDE_BOX
            if scaling
            else (NORM_ACT_INSIDE if bound == "tanh" else NORM_ACT_WIDE)
        )
    else:
        raw = [0, 2, 1, 1]
        inv = [2, 0, 1]
    raw_np = np.array(raw, dtype=np.float32 if kind == "continuous" else np.int64)
    inv_np = np.array(inv, dtype=np.float32 if kind == "continuous" else np.int64)
    mapped = policy.map_action(raw_np)
    record["map_action_in"] = to_list(raw_np)
    record["map_action_out"] = to_list(mapped)
    record["map_action_out_dtype"] = str(np.asarray(mapped).dtype)
    mapped_torch = policy.map_action(torch.as_tensor(raw_np))
    record["map_action_torch_in_out_type"] = type(mapped_torch).__name__
    record["map_action_torch_out"] = to_list(mapped_torch)
    inverse = policy.map_action_inverse(inv_np)
    record["map_action_inverse_in"] = to_list(inv_np)
    record["map_action_inverse_out"] = to_list(inverse)
    record["map_action_inverse_out_dtype"] = str(np.asarray(inverse).dtype)
    record["map_action_of_inverse"] = to_list(policy.map_action(inverse))
    if kind == "continuous" and scaling and bound is None:
        wide = np.array(RAW_ACT_WIDE, dtype=np.float32)
        record["map_action_wide_input"] = {
            "in": to_list(wide),
            **outcome(lambda: policy.map_action(wide)),
        }
    return record


def construction_errors() -> dict[str, Any]:
    def build(space: gym.Space, **kwargs: Any) -> Callable[[], Any]:
        def fn() -> Any:
            actor = make_actor(2)
            optim = torch.optim.Adam(actor.parameters(), lr=LR)
            ImitationPolicy(actor=actor, optim=optim, action_space=space, **kwargs)
            return 0

        return fn

    return {
        "unknown_bound_method": outcome(build(make_space("continuous"), action_bound_method="x")),
        "scaling_on_discrete": outcome(build(make_space("discrete"), action_scaling=True)),
        "scaling_with_bound_none_on_box": outcome(
            build(make_space("continuous"), action_scaling=True, action_bound_method=None)
        ),
    }


def broadcast_target(inputs: dict) -> dict[str, Any]:
    """Tianshou silently broadcasts a (B,) target against a (B, 1) output; ours raises."""
    actor = make_actor(1)
    optim = torch.optim.Adam(actor.parameters(), lr=LR)
    policy = ImitationPolicy(
        actor=actor,
        optim=optim,
        action_space=gym.spaces.Box(low=-1.0, high=1.0, shape=(1,)),
    )
    target = inputs["act_continuous"][:, 0] / 2.0
    with torch.no_grad():
        out = policy(Batch(obs=inputs["obs"], info={})).act
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stats = policy.learn(Batch(obs=inputs["obs"], act=target, info={}))
    t = torch.as_tensor(target)
    return {
        "target": to_list(target),
        "tianshou_loss": float(stats.loss),
        "broadcast_mse_BxB": float(((out - t[None, :]) ** 2).mean()),
        "correct_mse": float(((out[:, 0] - t) ** 2).mean()),
        "warnings": [str(w.message)[:200] for w in caught],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tests/data/tianshou_reference.json")
    args = parser.parse_args()

    torch.set_num_threads(1)
    inputs = make_inputs()
    cases = []
    for kind in ("discrete", "continuous"):
        for bound in BOUND_METHODS:
            for scaling in (False, True) if kind == "continuous" else (False,):
                for sched in SCHEDULERS:
                    cases.append(run_case(kind, bound, scaling, sched, inputs))

    command = "python " + " ".join([sys.argv[0], *sys.argv[1:]])
    reference = {
        "header": {
            "generator": "tools/tianshou_parity/make_reference.py",
            "command": f"/tmp/ts_venv/bin/{command}",
            "versions": {
                "tianshou": tianshou.__version__,
                "torch": torch.__version__,
                "numpy": np.__version__,
                "gymnasium": gym.__version__,
                "python": platform.python_version(),
            },
            "platform": platform.platform(),
            "torch_num_threads": torch.get_num_threads(),
            "driver": (
                "policy.update(0, ReplayBuffer) inside policy_within_training_step; the buffer "
                "holds exactly the batch, so sample(0) returns it in insertion order"
            ),
        },
        "setup": {
            "actor": "torch.manual_seed(0); Sequential(Linear(4,16), Tanh(), Linear(16,out))",
            "optim": f"Adam(actor.parameters(), lr={LR})",
            "n_steps": N_STEPS,
            "box_low": BOX_LOW,
            "box_high": BOX_HIGH,
            "n_discrete": N_DISCRETE,
            "schedulers": SCHEDULERS,
        },
        "inputs": {key: to_list(value) for key, value in inputs.items()},
        "cases": cases,
        "construction": construction_errors(),
        "broadcast_target": broadcast_target(inputs),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(reference, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
