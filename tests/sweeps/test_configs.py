"""The launcher and sweeper options of conf/hydra/ compose with their plugin schemas."""

from __future__ import annotations

from tests.helpers import compose_config


def test_slurm_launcher_and_seed_suite_compose():
    cfg = compose_config(["hydra/launcher=slurm", "hydra/sweeper=seeds10"])
    assert cfg.hydra.launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (cfg.hydra.launcher.cpus_per_task, cfg.hydra.launcher.mem_gb) == (2, 8)
    assert cfg.hydra.sweeper.params.seed == "range(0,10)"


def test_optuna_sweeper_options_compose():
    cfg = compose_config(
        ["experiment=optuna_bc", "hydra/sweeper/sampler=random", "hydra/sweeper/pruner=hyperband"]
    )
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.startswith("hydra_plugins.imitation_lab_optuna_sweeper.")
    assert sweeper.sampler._target_ == "optuna.samplers.RandomSampler"
    assert sweeper.pruner._target_ == "optuna.pruners.HyperbandPruner"
    assert (sweeper.direction.name, sweeper.n_trials, sweeper.study_name) == (
        "maximize",
        20,
        "optuna_bc",
    )
    median = compose_config(["experiment=optuna_bc", "hydra/sweeper/pruner=median"])
    assert median.hydra.sweeper.pruner.n_startup_trials == 5


def test_slurm_launcher_exposes_the_cluster_keys():
    launcher = compose_config(["hydra/launcher=slurm"]).hydra.launcher
    for key in ("partition", "timeout_min", "gpus_per_task", "cpus_per_task", "mem_gb",
                "array_parallelism", "additional_parameters", "max_num_timeout"):  # fmt: skip
        assert key in launcher, key
    assert launcher.max_num_timeout > 0  # a timed-out job is requeued and resumes
