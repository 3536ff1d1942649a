"""Build tiny Minari datasets in the temp store, and compose the collect app's real config."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import minari
import numpy as np
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from minari.data_collector.episode_buffer import EpisodeBuffer
from omegaconf import DictConfig

from imitation_lab.config.collect_schemas import register_collect_configs
from tests.conftest import CONFIG_DIR

COLLECT_CONFIG_DIR = Path(CONFIG_DIR) / "collect"


def compose_collect(overrides: list[str]) -> DictConfig:
    """The collect app's composed config, as ``imitation-lab collect <overrides>`` builds it."""
    register_collect_configs()
    with initialize_config_dir(config_dir=str(COLLECT_CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="collect", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    return cfg


def pendulum_episode(length: int = 5, seed: int = 0) -> EpisodeBuffer:
    """A short Pendulum-v1-shaped episode with random numbers (float32, finite)."""
    rng = np.random.default_rng(seed)
    obs = rng.uniform(-1, 1, size=(length + 1, 3)).astype(np.float32)
    return EpisodeBuffer(
        observations=obs,
        actions=rng.uniform(-2, 2, size=(length, 1)).astype(np.float32),
        rewards=list(rng.normal(size=length)),
        terminations=[False] * length,
        truncations=[False] * (length - 1) + [True],
        infos={},
    )


def make_dataset(dataset_id: str, buffers: list[EpisodeBuffer], env: str = "Pendulum-v1", **kw):
    """``minari.create_dataset_from_buffers`` without the author/email warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return minari.create_dataset_from_buffers(dataset_id, buffers, env=env, **kw)


def collect_random(
    dataset_id: str,
    env: gym.Env,
    episodes: int,
    collector_kwargs: dict[str, Any] | None = None,
    **create_kwargs: Any,
) -> None:
    """Random-action episodes (reset seeds 0..episodes-1) recorded with plain
    ``minari.DataCollector`` and written under ``dataset_id``."""
    collector = minari.DataCollector(env, **(collector_kwargs or {}))
    for seed in range(episodes):
        collector.reset(seed=seed)
        done = False
        while not done:
            _, _, terminated, truncated, _ = collector.step(env.action_space.sample())
            done = terminated or truncated
    collector.create_dataset(
        dataset_id=dataset_id, algorithm_name="random", author="tests", **create_kwargs
    )
    collector.close()
