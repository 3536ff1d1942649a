"""Config -> objects: every step from a composed config to the pieces a training group needs.

The only module (with the entry points) that builds from a training config; ``member``,
``learners`` and ``fit`` take plain typed arguments. Which keys may differ between members
trained together is ``identity.BATCHABLE``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from hydra.utils import get_class
from minari import MinariDataset
from omegaconf import DictConfig, OmegaConf

from imitation_lab.actors import STACKABLE_ACTORS
from imitation_lab.collection.builtin import BUILTIN_RECIPES, build_builtin
from imitation_lab.config.checks import (
    check_actor_output,
    check_actor_sizes,
    check_mlp_inputs,
    effective_bounding,
    expected_sizes,
)
from imitation_lab.config.instantiate import instantiate
from imitation_lab.data.augment import RandomShift
from imitation_lab.data.loader import LoadedDataset, load_training_data
from imitation_lab.data.normalize import Normalizer
from imitation_lab.data.normalize import make_normalizer as _make_normalizer
from imitation_lab.data.reference import ScoreFn
from imitation_lab.data.store import Builders, load_or_build
from imitation_lab.envs.evaluate import eval_envs_per_member, make_vector_env
from imitation_lab.errors import ConfigError
from imitation_lab.policy.heads import ActionHead, ChunkHead, RegressionHead
from imitation_lab.policy.imitation import ImitationPolicy
from imitation_lab.training.checkpoint import load_checkpoint
from imitation_lab.training.loggers import JsonlLogger, Logger, MultiLogger
from imitation_lab.training.settings import TrainerSchema

log = logging.getLogger(__name__)


def trainer_settings(cfg: DictConfig) -> TrainerSchema:
    """``cfg.trainer`` as its typed schema (the settings the loop reads)."""
    settings = OmegaConf.to_object(cfg.trainer)
    assert isinstance(settings, TrainerSchema)
    return settings


def builtin_builders() -> Builders:
    """The built-in datasets, each buildable offline on first use."""
    return {name: (lambda name=name: build_builtin(name)) for name in BUILTIN_RECIPES}


def open_dataset(dataset_id: str, *, download: bool = True) -> MinariDataset:
    """The Minari dataset ``dataset_id``: local, built-in (built now) or downloaded."""
    return load_or_build(dataset_id, download_missing=download, builders=builtin_builders())


def load_dataset(
    dataset_id: str,
    *,
    download: bool = True,
    obs_keys: list[str] | None = None,
    frame_stack: int = 1,
    top_fraction: float | None = None,
    min_return: float | None = None,
    val_fraction: float | None = None,
) -> LoadedDataset:
    """``load_training_data`` with the built-in datasets buildable on first use."""
    return load_training_data(
        dataset_id,
        download=download,
        builders=builtin_builders(),
        obs_keys=obs_keys,
        frame_stack=frame_stack,
        top_fraction=top_fraction,
        min_return=min_return,
        val_fraction=val_fraction,
    )


def make_actor(
    cfg: DictConfig,
    observation_space: gym.Space,
    action_space: gym.Space,
    out_dim: int | None = None,
) -> torch.nn.Module:
    """The one actor constructor contract: ``instantiate(cfg.actor, observation_space=...,
    act_dim=..., device=...)`` for every actor option (config fields left MISSING, such as the
    MLP's data-derived ``obs_dim``, are dropped first). ``out_dim``: the outputs an action head
    reads (its ``param_dim``); None: one per action dimension (or discrete action)."""
    obs_dim, act_dim = expected_sizes(observation_space, action_space)
    configured = {
        k: cfg.actor[k]
        for k in ("obs_dim", "act_dim")
        if k in cfg.actor and not OmegaConf.is_missing(cfg.actor, k)
    }
    check_actor_sizes(configured, obs_dim, act_dim if out_dim is None else out_dim)
    act_dim = act_dim if out_dim is None else out_dim
    if cfg.actor.get("_target_") in STACKABLE_ACTORS:
        check_mlp_inputs(observation_space, cfg.dataset.id)
    node = OmegaConf.masked_copy(
        cfg.actor, [k for k in cfg.actor if not OmegaConf.is_missing(cfg.actor, k)]
    )
    return instantiate(
        node, observation_space=observation_space, act_dim=act_dim, device=cfg.trainer.device
    )


def build_policy(
    cfg: DictConfig, observation_space: gym.Space, action_space: gym.Space, total_steps: int
) -> ImitationPolicy:
    """Actor, optimizer, scheduler and bounding from the config, sized by the spaces.

    ``observation_space`` is what the actor is fed (``LoadedDataset.observation_space``). The
    actor is initialized from the global torch RNG as it stands: seed it first.
    """
    bound = cfg.bounding.action_bound_method
    bound = None if bound is None else getattr(bound, "value", bound)
    bound, scaling = effective_bounding(action_space, bound, bool(cfg.bounding.action_scaling))
    with torch.random.fork_rng():  # its size only: the actor is initialized as without a head
        probe = make_head(cfg, action_space, bound, scaling)
    out_dim = None if probe is None else probe.param_dim
    actor = make_actor(cfg, observation_space, action_space, out_dim)
    check_actor_output(actor, observation_space, action_space, out_dim)
    head = None if probe is None else make_head(cfg, action_space, bound, scaling)
    params = [*actor.parameters(), *(head.parameters() if head is not None else ())]
    optim = instantiate(cfg.optim)(params)
    scheduler = instantiate(cfg.scheduler)(optim, total_steps=total_steps)
    return ImitationPolicy(
        actor=actor,
        optim=optim,
        action_space=action_space,
        observation_space=observation_space,
        action_scaling=scaling,
        action_bound_method=bound,
        lr_scheduler=scheduler,
        train_through_bound=bool(cfg.bounding.get("train_through_bound", False))
        and bound is not None,
        head=head.to(cfg.trainer.device) if head is not None else None,
    )


def make_head(
    cfg: DictConfig, action_space: gym.Space, bound: str | None, scaling: bool
) -> ActionHead | None:
    """The configured action head (None: ``head=mse``, Tianshou's MSE on the raw output).

    A head reads the actor's output as a distribution over a Box action; each says which
    bound methods make sense with it, and anything else is one ``ConfigError``. With
    ``head.chunk=H > 1`` the head (``mse`` included) is applied to each of the next H steps.
    """
    node = cfg.get("head")  # a checkpoint of an earlier version records no head: MSE
    target = None if node is None else node.get("_target_")
    chunk = 1 if node is None else int(node.get("chunk", 1))
    if target is None and chunk == 1:
        return None
    cls = RegressionHead if target is None else get_class(target)
    name = getattr(cls, "name", target)
    what = f"head={name}" + (f" with head.chunk={chunk}" if chunk > 1 else "")
    if not isinstance(action_space, gym.spaces.Box):
        raise ConfigError(
            f"{what} predicts continuous (Box) actions, but the dataset's actions are "
            f"{action_space}: discrete actions keep their categorical. Use head=mse (the "
            "default) and head.chunk=1 on this dataset."
        )
    if bound not in cls.bounds:
        raise ConfigError(
            f"head={name} with bounding.action_bound_method={bound}: {cls.bounds_reason}."
        )
    if chunk > 1 and not cls.stackable:
        raise ConfigError(
            f"{what}: a chunk is predicted step by step, which head={name} cannot (it would "
            "denoise the chunk jointly): use head.chunk=1, or head=mse/gaussian/gmm/bins."
        )
    kwargs: dict[str, Any] = {"act_dim": int(np.prod(action_space.shape))}
    if getattr(cls, "needs_range", False):  # the range its actions live in: the targets'
        low = torch.full(action_space.shape, -1.0) if scaling else torch.as_tensor(action_space.low)
        high = torch.ones(action_space.shape) if scaling else torch.as_tensor(action_space.high)
        if not (torch.isfinite(low).all() and torch.isfinite(high).all()):
            raise ConfigError(
                f"head={name} needs a bounded action range, but the Box is [{action_space.low},"
                f" {action_space.high}] and bounding.action_scaling=false: use bounding=clip."
            )
        kwargs |= {"low": low.flatten(), "high": high.flatten()}
    if target is None:
        inner: ActionHead = RegressionHead(kwargs["act_dim"], node.get("act", "mode"))
    else:
        settings = OmegaConf.to_container(node, resolve=True)
        assert isinstance(settings, dict)
        settings.pop("chunk", None)  # the wrapper's, not the head's
        inner = instantiate(OmegaConf.create(settings), **kwargs)
    if chunk == 1:
        return inner
    acting = cfg.get("policy") or {}
    return ChunkHead(
        inner,
        chunk,
        execute=acting.get("execute", "chunk"),
        ensemble_decay=float(acting.get("ensemble_decay", 0.01)),
    )


def make_augmentation(cfg: DictConfig, loaded: LoadedDataset) -> RandomShift | None:
    """``dataset.augment`` for the training minibatches; refused without image observations."""
    augment = cfg.dataset.get("augment")
    if augment is None:
        return None
    spec = loaded.obs_spec
    if spec is None or not any(leaf.kind == "image" for leaf in spec.leaves):
        raise ConfigError(
            f"dataset.augment={getattr(augment, 'value', augment)} shifts images, but "
            f"{cfg.dataset.id} has no image observation (uint8 Box of rank >= 2): drop "
            "dataset.augment, or keep an image key (dataset.obs_keys) with actor=cnn or "
            "actor=multi_input."
        )
    return RandomShift(int(cfg.dataset.shift_pad))


def warn_about_budget(cfg: DictConfig, transitions: int) -> None:
    """Settings that run but are probably not what was meant: one warning each."""
    if cfg.trainer.batch_size > transitions:
        log.warning(
            "trainer.batch_size=%d is larger than the dataset (%d transitions): every "
            "minibatch repeats samples.",
            cfg.trainer.batch_size,
            transitions,
        )


def make_normalizer(cfg: DictConfig, loaded: LoadedDataset) -> Normalizer:
    """Dataset statistics (``dataset.normalize_obs``; per key for Dict observations, images
    untouched) or the identity, on the trainer device."""
    data = loaded.data
    return _make_normalizer(data.spec, data.obs, bool(cfg.dataset.normalize_obs)).to(
        cfg.trainer.device
    )


def make_eval_env(
    cfg: DictConfig, loaded: LoadedDataset, num_members: int = 1
) -> gym.vector.VectorEnv:
    """One vector env for the whole group: ``eval_envs`` sub-envs per member."""
    per_member = eval_envs_per_member(cfg.trainer.eval_envs, cfg.trainer.eval_episodes)
    return make_vector_env(loaded.eval_env, per_member * num_members)


@dataclass
class RunNames:
    """How a member's run is named in the logger (W&B group, name, tags, job type)."""

    group: str
    name: str
    tags: list[str] = field(default_factory=list)
    job_type: str = "train"
    #: the job's config-group choices (``{"bounding": "tanh", ...}``) and its overrides
    choices: dict[str, str] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)


def make_logger(
    cfg: DictConfig,
    run_dir: Path,
    resolved: dict[str, Any],
    loaded: LoadedDataset,
    names: RunNames,
) -> Logger:
    """``metrics.jsonl`` (always) plus the configured logger (``logger=wandb|none``).

    Every logger factory takes the same keywords (``run_dir``, ``config``, ``group``,
    ``name``, ``tags``, ``job_type``); ``logger.group``/``logger.name`` set in the config win.
    """
    resume_step = _checkpoint_step(run_dir) if cfg.trainer.resume else None
    factory = instantiate(cfg.logger)
    return MultiLogger(
        JsonlLogger(run_dir / "metrics.jsonl", resume_step=resume_step),
        factory(
            run_dir=run_dir,
            config=logged_config(resolved, loaded, names),
            group=cfg.logger.get("group") or names.group,
            name=cfg.logger.get("name") or names.name,
            tags=list(dict.fromkeys([*cfg.logger.get("tags", []), *cfg.tags, *names.tags])),
            job_type=names.job_type,
        ),
    )


def logged_config(
    resolved: dict[str, Any], loaded: LoadedDataset, names: RunNames
) -> dict[str, Any]:
    """What the logger records as the run's config: the resolved config with the data-derived
    actor sizes filled in (not ``"???"``), the dataset's facts, the group choices and the
    overrides."""
    obs_dim, act_dim = expected_sizes(loaded.observation_space, loaded.dataset.action_space)
    actor = dict(resolved.get("actor", {}))
    for key, size in (("obs_dim", obs_dim), ("act_dim", act_dim)):
        if actor.get(key, "???") == "???":
            actor[key] = size
    return {
        **resolved,
        "actor": actor,
        "dataset_info": loaded.info,
        "choices": names.choices,
        "overrides": names.overrides,
    }


def score_fn_of(loaded: LoadedDataset) -> ScoreFn | None:
    if loaded.score_fn is None:
        log.warning("%s has no reference scores: no normalized score.", loaded.info["dataset_id"])
    return loaded.score_fn


def member_metadata(
    cfg: DictConfig, loaded: LoadedDataset, resolved: dict[str, Any]
) -> dict[str, Any]:
    """What a checkpoint records of its run (checked on resume, read by ``collect``)."""
    return {
        "dataset_id": cfg.dataset.id,
        "dataset_info": loaded.info,
        "env_id": loaded.info.get("eval_env_id") or loaded.info.get("env_id"),
        "config": resolved,
    }


def _checkpoint_step(run_dir: Path) -> int | None:
    path = run_dir / "checkpoints" / "last.pt"
    if not path.exists():
        return 0
    return int(load_checkpoint(path)["step"])
