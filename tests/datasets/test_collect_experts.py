"""``collect`` from the real rl-zoo checkpoints in ../shared/experts (skipped where absent)."""

from __future__ import annotations

import importlib.util

import minari
import numpy as np
import pytest

from imitation_lab.collect import collect
from imitation_lab.collection.zoo import evaluate_expert, find_expert
from imitation_lab.collection.zoo.registry import REPO_EXPERTS_DIR, resolve_experts_dir
from imitation_lab.data.loader import load_training_data
from imitation_lab.errors import DatasetError
from tests.datasets.helpers import compose_collect

pytestmark = [
    pytest.mark.experts,
    pytest.mark.skipif(
        not REPO_EXPERTS_DIR.is_dir()
        and not __import__("os").environ.get("IMITATION_LAB_EXPERTS_DIR"),
        reason="no ../shared/experts folder (or $IMITATION_LAB_EXPERTS_DIR)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("sb3_contrib") is None, reason="needs the [zoo] extra"
    ),
]
REF_SEED = 1_000_000  # collect's reference episodes start at seed + 1_000_000


@pytest.mark.slow
def test_zoo_expert_dataset_matches_the_expert() -> None:
    """tqc_HalfCheetah: Minari reads the dataset; data and ref_max_score are the expert's."""
    summary = collect(
        compose_collect(
            [
                "source=zoo",
                "source.name=tqc_HalfCheetah",
                "dataset_id=tests/halfcheetah/tqc-v0",
                "episodes=1",
                "ref_episodes=1",
                "num_envs=1",
            ]
        )
    )
    dataset = minari.load_dataset(summary["dataset_id"])
    assert dataset.total_steps == 1000
    assert dataset.recover_environment(eval_env=True).spec.id == "HalfCheetah-v5"
    expert = find_expert("tqc_HalfCheetah", resolve_experts_dir())
    data_returns, _ = evaluate_expert(expert, seeds=[0])
    ref_returns, _ = evaluate_expert(expert, seeds=[REF_SEED])
    episode = next(iter(dataset.iterate_episodes()))
    assert float(np.sum(episode.rewards)) == pytest.approx(data_returns[0], rel=1e-5)
    meta = dataset.storage.metadata
    assert meta["ref_max_score"] == pytest.approx(ref_returns[0], rel=1e-5)
    assert meta["ref_max_score"] > 9000  # SOURCES.md: ~12k
    assert -1000 < meta["ref_min_score"] < 0  # random HalfCheetah
    loaded = load_training_data(summary["dataset_id"])
    assert loaded.data.obs.shape == (1000, 17)


@pytest.mark.slow
def test_stateful_time_feature_expert_matches_plain_rollouts() -> None:
    """ppo_Walker2d counts env steps (TimeFeatureWrapper): two episodes in one env (the
    counter is reset in between) equal evaluate_expert's. One env, because a batched torch
    forward differs from a single one in the last bits, which MuJoCo amplifies."""
    summary = collect(
        compose_collect(
            [
                "source=zoo",
                "source.name=ppo_Walker2d",
                "ref_expert=tqc_Walker2d",
                "dataset_id=tests/walker2d/ppo-v0",
                "episodes=2",
                "ref_episodes=1",
                "num_envs=1",
            ]
        )
    )
    dataset = minari.load_dataset(summary["dataset_id"])
    expert = find_expert("ppo_Walker2d", resolve_experts_dir())
    expected, lengths = evaluate_expert(expert, seeds=[0, 1])
    got = [float(np.sum(ep.rewards)) for ep in dataset.iterate_episodes()]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert dataset.total_steps == int(lengths.sum())
    tqc = find_expert("tqc_Walker2d", resolve_experts_dir())
    ref, _ = evaluate_expert(tqc, seeds=[REF_SEED])
    assert dataset.storage.metadata["ref_max_score"] == pytest.approx(ref[0], rel=1e-6)


def test_ref_expert_of_another_env_is_refused() -> None:
    with pytest.raises(DatasetError, match="ref_expert tqc_Walker2d acts in Walker2d-v5"):
        collect(
            compose_collect(
                [
                    "source=zoo",
                    "source.name=ppo_Hopper",
                    "ref_expert=tqc_Walker2d",
                    "dataset_id=tests/hopper/badref-v0",
                    "episodes=1",
                ]
            )
        )


def test_checkpoint_of_another_env_is_refused() -> None:
    with pytest.raises(DatasetError, match="does not match"):
        collect(
            compose_collect(
                [
                    "source=zoo",
                    "source.name=tqc_HalfCheetah",
                    "source.env_id=Hopper-v5",
                    "dataset_id=tests/hopper/mismatch-v0",
                    "episodes=1",
                ]
            )
        )


def test_stochastic_source_is_seeded() -> None:
    """source.deterministic=false samples actions; the same seed gives the same dataset."""
    overrides = [
        "source=zoo",
        "source.name=sac_Pendulum",
        "source.deterministic=false",
        "dataset_id=tests/pendulum/sac-stochastic-v0",
        "episodes=1",
        "ref_episodes=1",
        "num_envs=1",
        "overwrite=true",
    ]
    actions = []
    for _ in range(2):
        collect(compose_collect(overrides))
        episode = next(iter(minari.load_dataset(overrides[3].split("=")[1]).iterate_episodes()))
        actions.append(np.asarray(episode.actions))
    np.testing.assert_array_equal(actions[0], actions[1])
    deterministic = find_expert("sac_Pendulum", resolve_experts_dir())
    assert not np.allclose(actions[0][0], deterministic(episode.observations[0]))
