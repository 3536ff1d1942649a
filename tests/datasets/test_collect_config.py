"""Every collect option composes; presets and baseline experiments agree on dataset ids."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from imitation_lab.config.collect_schemas import COLLECT_SCHEMAS, validate_collect
from imitation_lab.config.schemas import shipped_targets
from tests.datasets.helpers import COLLECT_CONFIG_DIR, compose_collect
from tests.helpers import compose_config

OPTIONS = [
    (group, path.stem)
    for group in ("source", "noise", "preset")
    for path in sorted((COLLECT_CONFIG_DIR / group).glob("*.yaml"))
]
PRESETS = [option for group, option in OPTIONS if group == "preset"]
REQUIRED = {"zoo": ["source.name=tqc_HalfCheetah"], "checkpoint": ["source.path=x.pt"]}


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_collect_option_composes(group: str, option: str) -> None:
    cfg = compose_collect([f"{group}={option}", *REQUIRED.get(option, [])])
    validate_collect(cfg)
    assert OmegaConf.select(cfg, "source._target_") in shipped_targets()  # a policy source


def test_every_collect_schema_is_used() -> None:
    yaml_text = "\n".join(p.read_text() for p in COLLECT_CONFIG_DIR.rglob("*.yaml"))
    for _, name in COLLECT_SCHEMAS:
        assert name in yaml_text, name


def test_typo_in_collect_key_fails_at_compose() -> None:
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    with pytest.raises((ConfigAttributeError, ConfigKeyError, Exception), match="epsiodes"):
        compose_collect(["epsiodes=3"])


@pytest.mark.parametrize("preset", [p for p in PRESETS if p != "pendulum_noisy"])
def test_baseline_experiment_trains_on_its_preset_dataset(preset: str) -> None:
    collect_cfg = compose_collect([f"preset={preset}"])
    train_cfg = compose_config(["experiment=baseline", f"dataset={preset}"], fast=False)
    assert train_cfg.dataset.id == collect_cfg.dataset_id
    assert collect_cfg.source.name and collect_cfg.steps and collect_cfg.episodes is None
    assert train_cfg.dataset.download is False  # local-only: built by collect


def test_the_baseline_sweep_covers_exactly_the_collect_presets() -> None:
    cfg = compose_config(["experiment=baseline"], fast=False)
    swept = set(str(cfg.hydra.sweeper.params.dataset).split(","))
    assert swept == {p for p in PRESETS if p != "pendulum_noisy"}
