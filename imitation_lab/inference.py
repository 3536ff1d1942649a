"""A trained policy from its checkpoint alone: ``load_policy(path)(obs) -> actions``.

The checkpoint records the run's resolved config, its dataset's provenance (env id, reference
scores, observation keys) and the weights of the policy and the observation normalizer, so
the policy is rebuilt exactly as the run evaluated it: deterministic actions (argmax for
discrete ones), mapped to the env's action space.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from omegaconf import OmegaConf

from imitation_lab.actors import SequenceActor
from imitation_lab.collection.sources import PolicySource
from imitation_lab.config.build import build_policy
from imitation_lab.config.instantiate import check_targets
from imitation_lab.config.schemas import shipped_targets
from imitation_lab.data.batch import Batch
from imitation_lab.data.frames import stack_frames
from imitation_lab.data.normalize import Normalizer, normalizer_to_load
from imitation_lab.data.obs import ObsSpec, env_obs_to_torch
from imitation_lab.data.reference import ScoreFn, score_fn_from
from imitation_lab.data.store import is_local
from imitation_lab.envs.names import package_hint
from imitation_lab.errors import CheckpointError, ConfigError, DatasetError, ImitationLabError
from imitation_lab.policy.bounding import BOUNDS
from imitation_lab.policy.chunking import ChunkExecutor
from imitation_lab.policy.heads import ChunkHead
from imitation_lab.policy.imitation import ImitationPolicy
from imitation_lab.policy.stateful import CarriedState
from imitation_lab.training.checkpoint import load_checkpoint

log = logging.getLogger(__name__)
CHECKPOINT_NAMES = ("best.pt", "last.pt")


def find_checkpoint(path: str | Path) -> Path:
    """``path`` itself, or in a run dir its ``checkpoints/best.pt`` (else ``last.pt``)."""
    path = Path(path).expanduser()
    if path.is_dir():
        folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
        for name in CHECKPOINT_NAMES:
            if (folder / name).is_file():
                return folder / name
        seeds = sorted(p.parent.name for p in path.glob("seed_*/checkpoints"))
        hint = f" It holds one run per seed: pass one, e.g. {path / seeds[0]}." if seeds else ""
        raise CheckpointError(f"{path} holds no checkpoints/best.pt or last.pt.{hint}")
    if not path.exists():
        raise CheckpointError(
            f"Checkpoint {path} does not exist. Pass a .pt file or a run dir "
            "(<run dir>/checkpoints/best.pt is used, else last.pt)."
        )
    return path


@dataclass
class LoadedPolicy:
    """Callable: a batch of env observations ``[N, ...]`` -> env actions ``[N, ...]``."""

    policy: ImitationPolicy
    normalizer: Normalizer
    obs_spec: ObsSpec | None  # None: a flat Box fed as float32 [N, obs_dim]
    env_id: str
    path: Path
    step: int
    metadata: dict[str, Any] = field(repr=False)
    device: str = "cpu"
    #: the dataset whose eval env ``make_env`` recovers (None: ``env_id`` was chosen instead)
    env_dataset_id: str | None = None
    #: ``dataset.frame_stack`` of the run; ``frame_spec`` is its single-frame spec
    frame_stack: int = 1
    frame_spec: ObsSpec | None = None

    _executor: ChunkExecutor | CarriedState | None = field(default=None, init=False, repr=False)

    def __call__(self, obs: Any) -> np.ndarray:
        """Env actions; a chunk policy (``head.chunk > 1``) plays its chunks as it was
        evaluated (``policy.execute``), one plan per env until ``reset``."""
        actor = self.policy.actor
        if isinstance(actor, SequenceActor):  # its state carried through each env's episode
            if self._executor is None:
                self._executor = CarriedState.of_policy(self.policy, self._obs_to_torch)
            return self._executor(obs)
        head = self.policy.head
        if not isinstance(head, ChunkHead):
            return self.actions(obs)
        if self._executor is None:
            self._executor = ChunkExecutor(
                self.actions, head.chunk, head.execute, head.ensemble_decay
            )
        return self._executor(obs)

    @torch.no_grad()
    def actions(self, obs: Any) -> np.ndarray:
        """What the policy outputs for ``obs``, in env units (a chunk policy: ``[N, H, A]``)."""
        obs_t = self._obs_to_torch(obs)
        action = self.policy.map_action(self.policy(Batch(obs=obs_t, info={})).act)
        return action.cpu().numpy() if isinstance(action, torch.Tensor) else np.asarray(action)

    def _obs_to_torch(self, obs: Any) -> Any:
        return self.normalizer(env_obs_to_torch(obs, self.obs_spec, self.device))

    def reset(self, mask: np.ndarray | None = None) -> None:
        """New episodes in the envs of ``mask`` (all with None): a chunk policy forgets its
        plans there, a sequence trunk its state (``rollout`` calls this at every episode
        start)."""
        if self._executor is not None:
            self._executor.reset(mask)

    @property
    def dataset_id(self) -> str | None:
        return self.metadata.get("dataset_id")

    @property
    def config(self) -> dict[str, Any]:
        """The training run's resolved config."""
        return self.metadata["config"]

    @property
    def own_env(self) -> bool:
        """Whether it acts in the env its dataset was recorded in (not another ``env_id``)."""
        return self.env_id == self.metadata.get("env_id")

    @property
    def score_fn(self) -> ScoreFn | None:
        """``returns -> (return - ref_min) / (ref_max - ref_min)`` with the run's references;
        None in another env (``env_id=``): the references were measured in the dataset's."""
        info = self.metadata.get("dataset_info") or {}
        if not self.own_env:
            return None
        return score_fn_from(info.get("ref_min_score"), info.get("ref_max_score"))

    def normalized_score(self, returns: np.ndarray) -> np.ndarray | None:
        """``100 * (return - ref_min) / (ref_max - ref_min)`` with the dataset's references."""
        score_fn = self.score_fn
        return None if score_fn is None else 100.0 * score_fn(returns)

    def make_env(self, **kwargs: Any) -> gym.Env:
        """The env the run was evaluated in: its dataset's eval env when the dataset is in the
        local Minari store (exact kwargs), else ``gym.make(env_id)``; observations stacked
        as in training (``dataset.frame_stack``)."""
        env = make_env(self.env_id, self.env_dataset_id, **kwargs)
        if self.frame_spec is None:
            return env
        return stack_frames(env, self.frame_spec, self.frame_stack)


def make_env(env_id: str, dataset_id: str | None = None, **kwargs: Any) -> gym.Env:
    """The dataset's own eval env if the dataset is local, else ``gym.make(env_id)``."""
    if dataset_id is not None:
        try:
            if is_local(dataset_id):
                import minari

                return minari.load_dataset(dataset_id).recover_environment(eval_env=True, **kwargs)
        except Exception as err:  # a damaged local copy: the plain env id still works
            log.warning("Could not recover the eval env of %s (%s).", dataset_id, err)
    try:
        return gym.make(env_id, **kwargs)
    except gym.error.Error as err:
        hint = package_hint(env_id)
        fix = (
            f"Its package is installed but not imported: pass env_id={hint}."
            if hint
            else "Install its package, or pass env_id=<an installed gymnasium id>."
        )
        raise CheckpointError(
            f"Env {env_id!r} cannot be created ({type(err).__name__}: {err}). {fix}"
        ) from err


def load_policy(
    path: str | Path, *, env_id: str | None = None, device: str = "cpu"
) -> LoadedPolicy:
    """Rebuild the policy and observation normalizer of an imitation_lab checkpoint.

    ``path`` is a ``.pt`` file or a run dir (its best checkpoint, else the last). ``env_id``
    overrides the env the checkpoint records (its spaces must match the policy's).
    """
    checkpoint = find_checkpoint(path)
    state = load_checkpoint(checkpoint)
    metadata = state.get("metadata") or {}
    recorded = metadata.get("env_id")
    env_dataset_id = metadata.get("dataset_id") if env_id in (None, recorded) else None
    env_id = env_id or recorded
    if "config" not in metadata or not env_id:
        raise CheckpointError(
            f"Checkpoint {checkpoint} records no config/env id (written by an older "
            "imitation_lab?); pass env_id=<gymnasium id> if only the env is missing."
        )
    env = make_env(env_id, env_dataset_id)
    try:
        obs_space, act_space = env.observation_space, env.action_space
    finally:
        env.close()
    try:  # data, never code: only the project's own options are rebuilt
        check_targets(metadata["config"], f"Checkpoint {checkpoint}", shipped_targets())
    except ConfigError as err:
        raise CheckpointError(str(err)) from None
    cfg = OmegaConf.create(metadata["config"])
    bound = OmegaConf.select(cfg, "bounding.action_bound_method", default=None)
    if bound is not None and bound not in BOUNDS:
        raise CheckpointError(
            f"Checkpoint {checkpoint} records bounding.action_bound_method={bound!r}, which "
            f"this imitation_lab does not know (it has {', '.join(sorted(BOUNDS))}): written by "
            "another version? Evaluate it with the version that trained it."
        )
    cfg.trainer.device = device
    keys = (metadata.get("dataset_info") or {}).get("obs_keys") or cfg.dataset.get("obs_keys")
    frames = int(cfg.dataset.get("frame_stack", 1))
    try:
        frame_spec = ObsSpec.of(obs_space, None if keys is None else list(keys), dataset_id=env_id)
        spec = frame_spec.stacked(frames)
        policy = build_policy(cfg, spec.space, act_space, total_steps=1)
        normalized = bool(cfg.dataset.get("normalize_obs", True))
        normalizer = normalizer_to_load(spec, normalized).to(device)
        policy.load_state_dict(state["policy"])
        normalizer.load_state_dict(state["normalizer"])
    except (RuntimeError, KeyError, ImitationLabError) as err:
        detail = str(err).strip().splitlines()[-1].strip() if str(err).strip() else repr(err)
        raise CheckpointError(
            f"Checkpoint {checkpoint} does not match env {env_id} (observation {obs_space}, "
            f"action {act_space}): {detail}"
        ) from err
    return LoadedPolicy(
        policy=policy.eval(),
        normalizer=normalizer.eval(),
        obs_spec=None if spec.is_flat_vector else spec,
        env_id=env_id,
        path=checkpoint,
        step=int(state.get("step", -1)),
        metadata=metadata,
        device=device,
        env_dataset_id=env_dataset_id,
        frame_stack=frames,
        frame_spec=frame_spec if frames > 1 else None,
    )


def checkpoint_source(path: str, env_id: str | None = None) -> PolicySource:
    """``collect source=checkpoint``: an imitation_lab checkpoint (``<run dir>/checkpoints/
    {last,best}.pt``) as a policy source, acting as its evaluation does."""
    try:
        policy = load_policy(path, env_id=env_id)
    except ImitationLabError as err:
        raise DatasetError(f"source.path: {err}") from err
    if policy.frame_stack > 1:
        raise DatasetError(
            f"source.path: {path} was trained with dataset.frame_stack={policy.frame_stack}; "
            "collect records single observations and cannot feed it stacked frames yet. "
            "Collect from a policy trained with frame_stack=1."
        )
    return PolicySource(policy, policy.env_id, Path(path).name, "bc")


__all__ = ["LoadedPolicy", "checkpoint_source", "find_checkpoint", "load_policy", "make_env"]
