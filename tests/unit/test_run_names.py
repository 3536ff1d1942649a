"""W&B run names say what the run is: the overrides, else the experiment or the dataset."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig

from imitation_lab.runs.jobs import run_names
from imitation_lab.train import CONFIG_DIR


def test_a_default_run_is_named_by_its_dataset_or_experiment() -> None:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        for overrides, expected in [
            ([], "pendulum"),  # nothing overridden: the dataset (was "default")
            (["dataset=cartpole", "seed=3"], "dataset=cartpole,seed=3"),
        ]:
            cfg = compose("train", overrides=overrides, return_hydra_config=True)
            HydraConfig.instance().set_config(cfg)
            names = run_names(cfg)
            assert names.name == expected != "default"
