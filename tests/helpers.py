"""Compose the real config (as the CLI does) and shrink it for fast in-process runs."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from imitation_lab.config import register_configs
from tests.conftest import CONFIG_DIR

FAST = [
    "logger=none",
    "trainer.steps=200",
    "trainer.log_every=50",
    "trainer.eval_every=0",
    "trainer.eval_episodes=2",
    "trainer.eval_envs=2",
    "trainer.checkpoint_every=100",
    "trainer.progress=false",
    "actor.hidden_sizes=[32,32]",
]


def compose_config(
    overrides: list[str], run_dir: Path | None = None, fast: bool = True
) -> DictConfig:
    """``compose`` the root config with the Hydra node set, like ``@hydra.main`` does.

    The composed config's ``hydra.runtime.output_dir`` points at ``run_dir`` and
    ``HydraConfig`` is set, so ``train(cfg)`` behaves as in a CLI run.
    """
    register_configs()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=[*(FAST if fast else []), *overrides],
            return_hydra_config=True,
        )
    if run_dir is not None:
        with open_dict(cfg):
            cfg.hydra.runtime.output_dir = str(run_dir)
            cfg.hydra.job.name = "train"
    HydraConfig.instance().set_config(cfg)
    return cfg
