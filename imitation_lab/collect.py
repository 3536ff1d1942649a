"""``python -m imitation_lab.collect [overrides]``: roll out a policy, write a Minari dataset."""

from __future__ import annotations

import logging
from typing import Any

import hydra
import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from imitation_lab.cli import one_line_errors, run_module
from imitation_lab.collection.sources import PolicySource, zoo_source
from imitation_lab.collection.writer import collect_dataset
from imitation_lab.config.collect_schemas import register_collect_configs, validate_collect
from imitation_lab.config.instantiate import instantiate
from imitation_lab.config.paths import config_dir
from imitation_lab.data.ids import check_dataset_id
from imitation_lab.data.store import is_local
from imitation_lab.errors import DatasetError
from imitation_lab.utils.seeding import seed_everything

log = logging.getLogger(__name__)
CONFIG_DIR = str(config_dir() / "collect")


def _describe(cfg: DictConfig, source: PolicySource, ref: PolicySource | None) -> str:
    size = f"{cfg.episodes} episodes" if cfg.episodes is not None else f">= {cfg.steps} steps"
    noise = "no action noise"
    if cfg.noise.get("std") is not None:
        noise = f"Gaussian action noise std={cfg.noise.std} x half range"
    elif cfg.noise.get("epsilon") is not None:
        noise = f"epsilon={cfg.noise.epsilon} uniform random actions"
    ref_name = ref.name if ref is not None else f"{source.name} (no noise)"
    return (
        f"{source.env_id} {source.env_kwargs or ''} rollouts of {source.name} "
        f"({source.algorithm_name}), {noise}, {size}, seed {cfg.seed}. ref_min_score: uniform "
        f"random policy; ref_max_score: {ref_name}; both over {cfg.ref_episodes} episodes. "
        "Built with imitation_lab collect."
    ).replace("  ", " ")


def collect(cfg: DictConfig) -> dict[str, Any]:
    """Build the dataset ``cfg.dataset_id``; returns a summary (id, sizes, returns, refs)."""
    validate_collect(cfg)
    dataset_id = check_dataset_id(cfg.dataset_id, key="dataset_id")  # before any file is touched
    if is_local(dataset_id) and not cfg.overwrite:
        raise DatasetError(
            f"Dataset '{dataset_id}' already exists in the local Minari store; it was kept. "
            "Pass overwrite=true to replace it (the old one stays until the new one is "
            "complete), or pick another dataset_id."
        )
    seed_everything(cfg.seed, False)  # stochastic sources (source.deterministic=false) sample
    # everything that can fail is built before any dataset is written or replaced
    source: PolicySource = instantiate(cfg.source, _partial_=True)()  # its errors unwrapped
    ref = None
    if cfg.ref_expert:
        ref = zoo_source(cfg.ref_expert, cfg.source.get("experts_dir"))
        if ref.env_id != source.env_id:
            raise DatasetError(
                f"ref_expert {cfg.ref_expert} acts in {ref.env_id}, the source in "
                f"{source.env_id}; pick an expert of the same env."
            )
    noise = instantiate(cfg.noise) if cfg.noise.get("_target_") else None
    dataset = collect_dataset(
        dataset_id,
        source.env_id,
        source.policy,
        seed=cfg.seed,
        episodes=cfg.episodes,
        steps=cfg.steps,
        num_envs=cfg.num_envs,
        noise=noise,
        ref_episodes=cfg.ref_episodes,
        ref_policy=ref.policy if ref is not None else None,
        env_kwargs=source.env_kwargs,
        algorithm_name=source.algorithm_name,
        description=cfg.description or _describe(cfg, source, ref),
        overwrite=cfg.overwrite,
    )
    returns = np.array([float(np.sum(ep.rewards)) for ep in dataset.iterate_episodes()])
    meta = dataset.storage.metadata
    summary = {
        "dataset_id": dataset.spec.dataset_id,
        "episodes": dataset.total_episodes,
        "steps": dataset.total_steps,
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "ref_min_score": meta["ref_min_score"],
        "ref_max_score": meta["ref_max_score"],
        "path": str(dataset.spec.data_path),
    }
    log.info("Collected %s", ", ".join(f"{k}={v}" for k, v in summary.items()))
    return summary


register_collect_configs()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="collect")
def main(cfg: DictConfig) -> None:
    """Hydra entry point (user errors print one line and exit 1)."""
    with one_line_errors(in_sweep=HydraConfig.get().mode == RunMode.MULTIRUN):
        collect(cfg)


if __name__ == "__main__":
    run_module("collect", main)
