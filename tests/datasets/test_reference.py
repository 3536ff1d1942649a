"""Normalized scores: a dataset's own reference scores, else D4RL's for Minari's mujoco/* ids."""

from __future__ import annotations

import numpy as np
import pytest

from imitation_lab.data.loader import load_training_data
from imitation_lab.data.reference import D4RL_REFERENCE_SCORES
from tests.datasets.helpers import make_dataset


def _halfcheetah_episode(steps: int = 4):
    import gymnasium as gym
    from minari.data_collector.episode_buffer import EpisodeBuffer

    env = gym.make("HalfCheetah-v5")
    obs, _ = env.reset(seed=0)
    observations, actions, rewards = [obs], [], []
    for _ in range(steps):
        action = env.action_space.sample()
        obs, reward, *_ = env.step(action)
        observations.append(obs)
        actions.append(action)
        rewards.append(float(reward))
    env.close()
    return EpisodeBuffer(
        observations=np.stack(observations),
        actions=np.stack(actions),
        rewards=rewards,
        terminations=[False] * steps,
        truncations=[False] * (steps - 1) + [True],
        infos={},
    )


def test_mujoco_ids_without_refs_use_d4rl_values() -> None:
    """Like Minari's remote mujoco/halfcheetah/*-v0 (no ref scores, Minari#323)."""
    make_dataset("mujoco/halfcheetah/tiny-v0", [_halfcheetah_episode()], env="HalfCheetah-v5")
    loaded = load_training_data("mujoco/halfcheetah/tiny-v0")
    low, high = D4RL_REFERENCE_SCORES["halfcheetah"]
    assert loaded.info["ref_scores_from"] == "d4rl"
    assert loaded.score_fn is not None
    assert loaded.score_fn(np.array([low, high, 12135.0])) == pytest.approx([0.0, 1.0, 1.0])
    assert loaded.info["env_id"] == "HalfCheetah-v5" and loaded.info["env_version"] == 5


def test_dataset_refs_win_over_the_table() -> None:
    make_dataset(
        "mujoco/hopper/ownrefs-v0",
        [_halfcheetah_episode()],
        env="HalfCheetah-v5",
        ref_min_score=0.0,
        ref_max_score=10.0,
    )
    loaded = load_training_data("mujoco/hopper/ownrefs-v0")
    assert loaded.info["ref_scores_from"] == "dataset"
    assert loaded.score_fn is not None and loaded.score_fn(np.array([5.0])) == pytest.approx(0.5)
