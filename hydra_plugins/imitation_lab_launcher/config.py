"""``hydra/launcher=batched``: its config, registered in Hydra's ConfigStore on import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class BatchedLauncherConf:
    """Sweep jobs that differ only in batchable keys train together, as one stacked model."""

    _target_: str = "hydra_plugins.imitation_lab_launcher.batched_launcher.BatchedLauncher"
    max_members: int | None = None  # at most this many jobs per group (null: no cap)
    n_jobs: Any = "auto"  # processes at once: auto = 1 per usable core (CPU) / per GPU (CUDA)
    threads: Any = "auto"  # torch threads per process: auto = the usable cores / n_jobs


ConfigStore.instance().store(
    group="hydra/launcher", name="batched", node=BatchedLauncherConf, provider="imitation_lab"
)
