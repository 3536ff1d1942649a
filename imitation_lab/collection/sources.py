"""Policy sources for ``collect``: scripted experts and rl-zoo / CS285 checkpoints (an
imitation_lab run is ``imitation_lab.inference.checkpoint_source``).

Each factory returns a :class:`PolicySource`: a batch-aware policy plus the env it acts in.
Every failure a user can cause (unknown name, missing file, checkpoint/env mismatch, missing
``[zoo]`` extra) is one :class:`~imitation_lab.errors.DatasetError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from imitation_lab.collection.experts import SCRIPTED_EXPERTS
from imitation_lab.collection.zoo.registry import find_expert, resolve_experts_dir
from imitation_lab.envs.rollout import PolicyFn
from imitation_lab.errors import DatasetError


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
    return PolicySource(
        expert.make(), expert.env_id, name, expert.algorithm_name, dict(expert.env_kwargs)
    )


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
