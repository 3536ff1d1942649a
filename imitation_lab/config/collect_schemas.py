"""Typed schemas of the ``collect`` app's config (``conf/collect/``), registered explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from imitation_lab.config import help as app_help
from imitation_lab.errors import ConfigError


@dataclass
class SourceSchema:
    """A policy source factory: ``instantiate(cfg.source)`` returns a ``PolicySource``."""

    _target_: str = MISSING


@dataclass
class ScriptedSourceSchema(SourceSchema):
    _target_: str = "imitation_lab.collection.sources.scripted_source"
    name: str = "pendulum"


@dataclass
class ZooSourceSchema(SourceSchema):
    _target_: str = "imitation_lab.collection.sources.zoo_source"
    name: str = MISSING
    experts_dir: str | None = None
    env_id: str | None = None
    deterministic: bool = True


@dataclass
class CheckpointSourceSchema(SourceSchema):
    _target_: str = "imitation_lab.inference.checkpoint_source"
    path: str = MISSING
    env_id: str | None = None


@dataclass
class NoiseSchema:
    """Action noise; ``instantiate(cfg.noise)`` returns an ``ActionNoise`` or None."""

    _target_: str | None = None


@dataclass
class GaussianNoiseSchema(NoiseSchema):
    _target_: str | None = "imitation_lab.collection.writer.GaussianNoise"
    std: float = 0.1


@dataclass
class EpsilonNoiseSchema(NoiseSchema):
    _target_: str | None = "imitation_lab.collection.writer.EpsilonNoise"
    epsilon: float = 0.1


@dataclass
class CollectSchema:
    """Root config of the collect app."""

    source: SourceSchema = MISSING
    noise: NoiseSchema = MISSING
    dataset_id: str = MISSING
    episodes: int | None = None
    steps: int | None = None
    seed: int = 0
    num_envs: int = 8
    ref_episodes: int = 20
    ref_expert: str | None = None
    description: str | None = None
    overwrite: bool = False


COLLECT_SCHEMAS: dict[tuple[str | None, str], type] = {
    (None, "collect_schema"): CollectSchema,
    ("source", "scripted_schema"): ScriptedSourceSchema,
    ("source", "zoo_schema"): ZooSourceSchema,
    ("source", "checkpoint_schema"): CheckpointSourceSchema,
    ("noise", "none_noise_schema"): NoiseSchema,
    ("noise", "gaussian_noise_schema"): GaussianNoiseSchema,
    ("noise", "epsilon_noise_schema"): EpsilonNoiseSchema,
}


def register_collect_configs() -> None:
    """Register the collect schemas in Hydra's ConfigStore (idempotent)."""
    app_help.register_resolver()
    store = ConfigStore.instance()
    for (group, name), schema in COLLECT_SCHEMAS.items():
        store.store(group=group, name=name, node=schema)


def validate_collect(cfg: DictConfig) -> None:
    """Check the ranges types cannot express; raise ``ConfigError`` naming the key."""
    if (cfg.episodes is None) == (cfg.steps is None):
        raise ConfigError(
            f"Set exactly one of episodes / steps (got episodes={cfg.episodes}, "
            f"steps={cfg.steps}); e.g. `episodes=null steps=100000`."
        )
    rules = {
        "episodes": lambda v: v > 0,
        "steps": lambda v: v > 0,
        "num_envs": lambda v: v > 0,
        "ref_episodes": lambda v: v > 0,
        "noise.std": lambda v: v >= 0,
        "noise.epsilon": lambda v: 0 <= v <= 1,
        "seed": lambda v: v >= 0,  # Gymnasium rejects negative seeds
    }
    for key, ok in rules.items():
        value = OmegaConf.select(cfg, key, default=None)
        if value is not None and not ok(value):
            raise ConfigError(f"Config value {key}={value} is out of range; fix `{key}=...`.")
