"""Built-in scripted experts and the seeded vector-env evaluation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from imitation_lab.collection.experts import CartPoleExpert, PendulumSwingUpExpert
from imitation_lab.envs.evaluate import evaluate, make_vector_env


def test_pendulum_expert_swings_up_and_balances() -> None:
    env = make_vector_env(lambda: gym.make("Pendulum-v1"), 4)
    result = evaluate(PendulumSwingUpExpert(), env, episodes=8, seed=0)
    assert result.returns.mean() > -250  # random: about -1200
    assert np.all(result.lengths == 200)


def test_cartpole_expert_reaches_the_time_limit() -> None:
    env = make_vector_env(lambda: gym.make("CartPole-v1"), 2)
    result = evaluate(CartPoleExpert(), env, episodes=3, seed=0)
    assert result.returns.tolist() == [500.0, 500.0, 500.0]


def test_experts_accept_single_and_batched_obs() -> None:
    expert = PendulumSwingUpExpert()
    obs = np.array([[1.0, 0.0, 0.5], [-1.0, 0.0, 1.0]], dtype=np.float32)
    assert expert(obs).shape == (2, 1)
    np.testing.assert_array_equal(expert(obs[0]), expert(obs)[0])
    assert np.all(np.abs(expert(obs)) <= 2.0)


@pytest.mark.parametrize("num_envs", [1, 3])
def test_evaluation_is_seeded_and_counts_episodes(num_envs: int) -> None:
    def noisy(obs: np.ndarray) -> np.ndarray:
        return np.clip(PendulumSwingUpExpert()(obs) + 0.3, -2, 2)

    env = make_vector_env(lambda: gym.make("Pendulum-v1"), num_envs)
    first = evaluate(noisy, env, episodes=5, seed=3)
    second = evaluate(noisy, env, episodes=5, seed=3)
    other = evaluate(noisy, env, episodes=5, seed=4)
    assert len(first.returns) == 5
    np.testing.assert_array_equal(first.returns, second.returns)
    assert not np.array_equal(first.returns, other.returns)
