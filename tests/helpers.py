"""Compose the real config (as the CLI does) and shrink it for fast in-process runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from imitation_lab.config.schemas import register_configs
from imitation_lab.train import train
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


def eval_config(checkpoint: Path) -> DictConfig:
    """The eval app's config for ``checkpoint``, every other key at its default."""
    return OmegaConf.create({"checkpoint": str(checkpoint), "episodes": None, "num_envs": None,
                             "seed": None, "env_id": None, "device": "cpu",
                             "video_episodes": 0})  # fmt: skip


def straight_and_resumed(
    overrides: list[str], tmp_path: Path, steps: int, fast: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``last.pt`` of a run of ``steps`` steps, and of one stopped at ``steps // 2`` and resumed
    to ``steps`` with the same overrides: what an exact resume makes equal."""
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    train(compose_config([*overrides, f"trainer.steps={steps}"], straight, fast=fast))
    train(compose_config([*overrides, f"trainer.steps={steps // 2}"], resumed, fast=fast))
    again = [*overrides, f"trainer.steps={steps}", "trainer.resume=true"]
    train(compose_config(again, resumed, fast=fast))
    return tuple(  # type: ignore[return-value]
        torch.load(r / "checkpoints" / "last.pt", weights_only=True) for r in (straight, resumed)
    )


def _wandb_records(run_file: Path) -> Iterator[Any]:
    """The records of an offline ``run-*.wandb`` file (W&B's LevelDB-style record log)."""
    from wandb.proto import wandb_internal_pb2

    data = Path(run_file).read_bytes()
    assert data[:4] == b":W&B", f"{run_file} is not a W&B run file"
    block, pos, pending = 32768, 7, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # block trailer padding
            pos += block - pos % block
            continue
        length = int.from_bytes(data[pos + 4 : pos + 6], "little")
        kind = data[pos + 6]
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind not in (1, 4):  # FIRST/MIDDLE: wait for the LAST chunk
            continue
        record = wandb_internal_pb2.Record()
        record.ParseFromString(pending)
        yield record


def read_wandb_history(run_file: Path) -> list[dict[str, float]]:
    """History rows of an offline ``run-*.wandb`` file."""
    import json

    return [
        {
            item.key or "/".join(item.nested_key): json.loads(item.value_json)
            for item in record.history.item
        }
        for record in _wandb_records(run_file)
        if record.WhichOneof("record_type") == "history"
    ]


def read_wandb_run(run_file: Path) -> dict[str, Any]:
    """The run record of an offline ``run-*.wandb`` file: name, group, job type, tags and
    config (top-level keys, as logged)."""
    import json

    for record in _wandb_records(run_file):
        if record.WhichOneof("record_type") == "run":
            run = record.run
            return {
                "name": run.display_name,
                "group": run.run_group,
                "job_type": run.job_type,
                "tags": list(run.tags),
                "config": {item.key: json.loads(item.value_json) for item in run.config.update},
            }
    raise AssertionError(f"{run_file} has no run record")
