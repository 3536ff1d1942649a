"""Policy sources for ``collect``: scripted experts, rl-zoo / CS285 checkpoints, imitation_lab runs.

Each factory returns a :class:`PolicySource`: a batch-aware policy plus the env it acts in.
Every failure a user can cause (unknown name, missing file, checkpoint/env mismatch, missing
``[zoo]`` extra) is one :class:`~imitation_lab.errors.DatasetError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from imitation_lab.collection.experts import SCRIPTED_EXPERTS
from imitation_lab.collection.zoo.registry import find_expert, resolve_experts_dir
from imitation_lab.errors import DatasetError, ImitationLabError
from imitation_lab.rollout import PolicyFn


@dataclass
class PolicySource:
    """A policy and the env (``gymnasium.make(env_id, **env_kwargs)``) whose obs it consumes."""

    policy: PolicyFn
    env_id: str
    name: str
    algorithm_name: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)


def scripted_source(name: str) -> PolicySource:
    """One of imitation_lab's scripted experts (``SCRIPTED_EXPERTS``: pendulum, cartpole, ...)."""
    if name not in SCRIPTED_EXPERTS:
        raise DatasetError(
            f"Unknown scripted expert '{name}' (source.name). Choose one of: "
            f"{', '.join(sorted(SCRIPTED_EXPERTS))}."
        )
    expert = SCRIPTED_EXPERTS[name]
    return PolicySource(expert.make(), expert.env_id, name, expert.algorithm_name)


def zoo_source(
    name: str,
    experts_dir: str | None = None,
    env_id: str | None = None,
    deterministic: bool = True,
) -> PolicySource:
    """An rl-zoo (``<algo>_<Env>``) or CS285 (``cs285_<Env>``) checkpoint folder."""

    root = resolve_experts_dir(experts_dir)
    try:
        expert = find_expert(name, root, env_id=env_id, deterministic=deterministic)
    except ImportError as err:
        raise DatasetError(f"Expert '{name}': {err}") from err
    except (ValueError, OSError, gym.error.Error) as err:
        raise DatasetError(f"Cannot load expert '{name}' from {root}: {err}") from err
    return PolicySource(
        expert,
        expert.env_id,
        expert.name,
        f"{expert.algo}({'deterministic' if deterministic else 'stochastic'})",
        dict(expert.env_kwargs),
    )


class CheckpointPolicy:
    """Deterministic env actions of an imitation_lab checkpoint (as its evaluation runs it)."""

    def __init__(self, policy: Any, normalizer: torch.nn.Module) -> None:
        self.policy = policy.eval()
        self.normalizer = normalizer.eval()

    @torch.no_grad()
    def __call__(self, obs: np.ndarray) -> np.ndarray:
        from imitation_lab.batch import Batch

        obs_t = self.normalizer(torch.as_tensor(np.asarray(obs), dtype=torch.float32))
        action = self.policy.map_action(self.policy(Batch(obs=obs_t, info={})).act)
        return action.cpu().numpy() if isinstance(action, torch.Tensor) else np.asarray(action)


def checkpoint_source(path: str, env_id: str | None = None) -> PolicySource:
    """An imitation_lab checkpoint (``<run dir>/checkpoints/{last,best}.pt``)."""
    from omegaconf import OmegaConf

    from imitation_lab.build import build_policy
    from imitation_lab.checkpoint import load_checkpoint
    from imitation_lab.data.buffer import ObsNormalizer

    try:
        state = load_checkpoint(Path(path))
    except ImitationLabError as err:
        raise DatasetError(f"source.path: {err}") from err
    metadata = state.get("metadata") or {}
    env_id = env_id or metadata.get("env_id")
    if not env_id or "config" not in metadata:
        raise DatasetError(
            f"Checkpoint {path} records no env id/config; set source.env_id=<gymnasium id>."
        )
    try:
        env = gym.make(env_id)
    except gym.error.Error as err:
        raise DatasetError(
            f"source.env_id: env {env_id!r} cannot be created ({type(err).__name__}: {err}). "
            "Install its package or set source.env_id=<an installed gymnasium id>."
        ) from err
    obs_space, act_space = env.observation_space, env.action_space
    env.close()
    cfg = OmegaConf.create(metadata["config"])
    cfg.trainer.device = "cpu"
    try:
        policy = build_policy(cfg, obs_space, act_space, total_steps=1)
        normalizer = ObsNormalizer.identity(int(np.prod(obs_space.shape)))
        policy.load_state_dict(state["policy"])
        normalizer.load_state_dict(state["normalizer"])
    except (RuntimeError, ImitationLabError) as err:
        raise DatasetError(
            f"Checkpoint {path} does not match env {env_id} (observation {obs_space.shape}, "
            f"action {act_space}): {str(err).strip().splitlines()[-1].strip()}"
        ) from err
    return PolicySource(CheckpointPolicy(policy, normalizer), env_id, Path(path).name, "bc")
