"""Roll out a policy in Gymnasium and write a Minari dataset with reference scores."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import gymnasium as gym
import minari
import numpy as np
from minari import DataCollector, MinariDataset

PolicyFn = Callable[[np.ndarray], np.ndarray]


def average_return(
    env_id: str, policy: PolicyFn | None, episodes: int, seed: int, **env_kwargs: object
) -> float:
    """Mean undiscounted return over seeded episodes; ``policy=None`` samples uniformly."""
    env = gym.make(env_id, **env_kwargs)
    env.action_space.seed(seed)
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            action = env.action_space.sample() if policy is None else policy(obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


def collect_dataset(
    dataset_id: str,
    env_id: str,
    policy: PolicyFn,
    *,
    episodes: int,
    seed: int,
    algorithm_name: str,
    description: str,
    ref_episodes: int = 50,
    env_kwargs: dict | None = None,
) -> MinariDataset:
    """Collect ``episodes`` seeded episodes of ``policy`` into a new local Minari dataset.

    ``ref_min_score`` is a uniform random policy's mean return and ``ref_max_score`` the
    policy's own, each over ``ref_episodes`` episodes seeded apart from the data episodes,
    so ``minari.get_normalized_score`` works on the result.
    """
    env_kwargs = env_kwargs or {}
    env = DataCollector(gym.make(env_id, **env_kwargs), record_infos=False)
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(policy(obs))
            done = terminated or truncated
    ref_seed = seed + 1_000_000
    ref_min = average_return(env_id, None, ref_episodes, ref_seed, **env_kwargs)
    ref_max = average_return(env_id, policy, ref_episodes, ref_seed, **env_kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # author/email/permalink not set
        dataset = env.create_dataset(
            dataset_id=dataset_id,
            eval_env=env_id if not env_kwargs else env.env.spec,
            algorithm_name=algorithm_name,
            author="imitation_lab",
            ref_min_score=ref_min,
            ref_max_score=ref_max,
            description=description,
        )
    env.close()
    return minari.load_dataset(dataset.spec.dataset_id)
