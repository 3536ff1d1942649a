"""Filtered BC (``dataset.top_fraction``, ``dataset.min_return``): which episodes are kept,
ties and the count rule, and a real run that trains on them and records them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imitation_lab.data.filtering import kept_episodes
from imitation_lab.errors import DatasetError
from imitation_lab.train import train
from tests.helpers import compose_config


def test_top_fraction_keeps_the_ceiling_count_of_best_returns_ties_by_order() -> None:
    returns = np.array([5.0, 9.0, 1.0, 9.0, 7.0, 3.0, 9.0, 2.0, 0.0, 4.0])
    assert kept_episodes(returns, top_fraction=0.1).tolist() == [1]  # ceil(1.0): the first 9
    assert kept_episodes(returns, top_fraction=0.25).tolist() == [1, 3, 6]  # ceil(2.5) = 3
    assert kept_episodes(returns, top_fraction=0.01).tolist() == [1]  # at least one
    assert kept_episodes(returns, top_fraction=1.0).tolist() == list(range(10))
    assert kept_episodes(returns, min_return=7.0).tolist() == [1, 3, 4, 6]
    assert kept_episodes(returns).tolist() == list(range(10))
    with pytest.raises(DatasetError, match="keeps no episode"):
        kept_episodes(returns, min_return=100.0)
    with pytest.raises(DatasetError, match="set one of them"):
        kept_episodes(returns, top_fraction=0.1, min_return=1.0)


def test_a_run_trains_on_the_top_tenth_and_records_which(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train(compose_config(["dataset.top_fraction=0.1", "trainer.steps=50"], run_dir))
    info = json.loads((run_dir / "dataset_info.json").read_text())
    kept = info["episode_filter"]
    assert kept["rule"] == "top_fraction=0.1"
    assert (kept["kept_episodes"], kept["total_episodes"]) == (5, 50)  # pendulum: 50 episodes
    import minari

    returns = [float(ep.rewards.sum()) for ep in minari.load_dataset(info["dataset_id"])]
    best = sorted(range(50), key=lambda e: (-returns[e], e))[:5]
    assert kept["episode_ids"] == sorted(best)
    assert kept["kept_return_mean"] == pytest.approx(np.mean([returns[e] for e in best]))


def test_mixed_quality_draws_one_quality_per_episode_and_env() -> None:
    from imitation_lab.collection.experts import MixedQuality

    expert = lambda obs: np.ones((len(obs), 1), dtype=np.float32)  # noqa: E731
    policy = MixedQuality(expert, -2.0, 2.0, weights=(1, 1, 1), noise_std=0.5, seed=3)
    obs = np.zeros((64, 3))
    first = policy(obs)
    again = policy(obs)
    quality = policy.quality.copy()
    assert set(quality) == {0, 1, 2}
    assert np.all(first[quality == 0] == 1) and np.all(again[quality == 0] == 1)  # the expert
    assert np.all(np.abs(first) <= 2)  # noisy and random actions stay in the Box
    policy.reset(np.arange(64) < 32)  # new episodes in the first half only
    assert np.array_equal(policy.quality[32:], quality[32:])


def test_top_tenth_of_the_mixed_dataset_is_its_expert_episodes(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train(compose_config(["dataset=pendulum_mixed", "dataset.top_fraction=0.1",
                          "trainer.steps=20"], run_dir))  # fmt: skip
    info = json.loads((run_dir / "dataset_info.json").read_text())
    kept = info["episode_filter"]
    assert (kept["kept_episodes"], kept["total_episodes"]) == (15, 150)
    import minari

    returns = np.array([float(ep.rewards.sum()) for ep in minari.load_dataset(info["dataset_id"])])
    assert kept["kept_return_mean"] > returns.mean() + 400  # the random/noisy ones are gone
    assert info["ref_max_score"] > kept["kept_return_mean"] - 100  # near the noiseless expert
