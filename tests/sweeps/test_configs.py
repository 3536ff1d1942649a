"""The launcher and sweeper options of conf/hydra/ compose with their plugin schemas."""

from __future__ import annotations

from tests.helpers import compose_config


def test_slurm_launcher_and_seed_suite_compose():
    cfg = compose_config(["hydra/launcher=slurm", "hydra/sweeper=seeds10"])
    assert cfg.hydra.launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (cfg.hydra.launcher.cpus_per_task, cfg.hydra.launcher.mem_gb) == (2, 8)
    assert cfg.hydra.sweeper.params.seed == "range(0,10)"
