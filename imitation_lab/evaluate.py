"""Seeded evaluation of a policy in a Gymnasium vector env."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

ActFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class EvalResult:
    """Per-episode returns and lengths, in episode order."""

    returns: np.ndarray
    lengths: np.ndarray


def make_vector_env(make_env: Callable[[], gym.Env], num_envs: int) -> gym.vector.VectorEnv:
    """``num_envs`` copies of the env in a synchronous vector env that resets in the same step."""
    return gym.vector.SyncVectorEnv(
        [make_env for _ in range(num_envs)],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )


def evaluate(
    act_fn: ActFn, vector_env: gym.vector.VectorEnv, episodes: int, seed: int
) -> EvalResult:
    """Run exactly ``episodes`` episodes; env ``i`` is seeded ``seed + i`` and runs a fixed quota.

    The episodes depend only on (seed, number of envs, episodes), never on timing, so two
    evaluations of the same policy give the same numbers.
    """
    num_envs = vector_env.num_envs
    quota = np.array([episodes // num_envs + (i < episodes % num_envs) for i in range(num_envs)])
    done_counts = np.zeros(num_envs, dtype=int)
    returns: list[list[float]] = [[] for _ in range(num_envs)]
    lengths: list[list[int]] = [[] for _ in range(num_envs)]
    running_return = np.zeros(num_envs)
    running_length = np.zeros(num_envs, dtype=int)
    obs, _ = vector_env.reset(seed=[seed + i for i in range(num_envs)])
    while (done_counts < quota).any():
        obs, reward, terminated, truncated, _ = vector_env.step(act_fn(obs))
        running_return += reward
        running_length += 1
        for i in np.flatnonzero(terminated | truncated):
            if done_counts[i] < quota[i]:
                returns[i].append(float(running_return[i]))
                lengths[i].append(int(running_length[i]))
                done_counts[i] += 1
            running_return[i] = 0.0
            running_length[i] = 0
    return EvalResult(
        returns=np.array([r for env_returns in returns for r in env_returns]),
        lengths=np.array([n for env_lengths in lengths for n in env_lengths]),
    )
