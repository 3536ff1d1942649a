"""One call from a dataset id to validated training tensors, reference scores and provenance."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from minari import MinariDataset

from imitation_lab.data.buffer import OfflineData
from imitation_lab.data.cache import load_flat
from imitation_lab.data.filtering import filter_episodes, split_validation
from imitation_lab.data.frames import stack_frames
from imitation_lab.data.obs import ObsSpec, is_text
from imitation_lab.data.reference import ScoreFn, normalized_score_fn, reference_scores
from imitation_lab.data.store import Builders, load_or_build, unreadable
from imitation_lab.errors import DatasetError

log = logging.getLogger(__name__)
_VERSION = re.compile(r"-v(\d+)$")


@dataclass
class LoadedDataset:
    """A validated dataset: Minari handle, flat tensors, normalizer of returns, provenance.

    ``obs_spec`` is the fed part of the observation space (``dataset.obs_keys``; text dropped),
    stacked when ``frame_stack > 1`` (then ``frame_spec`` is the single-frame one).
    """

    dataset: MinariDataset
    data: OfflineData
    score_fn: ScoreFn | None
    info: dict[str, Any]
    obs_spec: ObsSpec | None = None
    frame_stack: int = 1
    frame_spec: ObsSpec | None = None
    #: the held-out episodes of ``dataset.val_fraction`` (None: no split)
    val: OfflineData | None = None

    def eval_env(self) -> gym.Env:
        """The dataset's eval env, its observations stacked as the actor is trained on."""
        env = self.dataset.recover_environment(eval_env=True)
        if self.frame_spec is None:
            return env
        return stack_frames(env, self.frame_spec, self.frame_stack)

    @property
    def observation_space(self) -> gym.Space:
        """The space the actor is built for (the fed part of the dataset's)."""
        if self.obs_spec is None:
            return self.dataset.observation_space
        return self.obs_spec.space


def _same_space(a: gym.Space, b: gym.Space) -> bool:
    if is_text(a) and is_text(b):  # Minari stores MiniGrid's MissionSpace as Text
        return True
    if isinstance(a, gym.spaces.Dict) and isinstance(b, gym.spaces.Dict):
        return a.spaces.keys() == b.spaces.keys() and all(_same_space(a[k], b[k]) for k in a.spaces)
    if isinstance(a, gym.spaces.Tuple) and isinstance(b, gym.spaces.Tuple):
        return len(a) == len(b) and all(_same_space(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, gym.spaces.Discrete) and isinstance(b, gym.spaces.Discrete):
        return int(a.n) == int(b.n) and int(a.start) == int(b.start)
    if isinstance(a, gym.spaces.Box) and isinstance(b, gym.spaces.Box):
        return (
            a.shape == b.shape
            and np.allclose(a.low, b.low, equal_nan=True)
            and np.allclose(a.high, b.high, equal_nan=True)
        )
    return a == b


def validate_against_env(dataset: MinariDataset, env: gym.Env) -> None:
    """The dataset's observation/action spaces must be the (eval) env's; else ``DatasetError``."""
    dataset_id = dataset.spec.dataset_id
    env_id = env.spec.id if env.spec else type(env).__name__
    for name, ours, theirs in (
        ("observation", dataset.observation_space, env.observation_space),
        ("action", dataset.action_space, env.action_space),
    ):
        if not _same_space(ours, theirs):
            raise DatasetError(
                f"Dataset '{dataset_id}' has {name} space {ours} but its env {env_id} has "
                f"{theirs}: the data was recorded on another env version or with other env "
                "kwargs. Rebuild the dataset for this env (imitation-lab collect)."
            )


def recover_eval_env(dataset: MinariDataset) -> gym.Env:
    """``dataset.recover_environment(eval_env=True)`` with a clear error when it fails."""
    try:
        return dataset.recover_environment(eval_env=True)
    except Exception as err:
        raise DatasetError(
            f"Dataset '{dataset.spec.dataset_id}' names an env that cannot be created "
            f"({type(err).__name__}: {err}). Install the env's package or rebuild the dataset."
        ) from err


def check_contents(dataset: MinariDataset, data: OfflineData) -> None:
    """What flattening cannot catch: too few transitions, observations of the wrong shape."""
    dataset_id = dataset.spec.dataset_id
    if len(data) < 2:
        raise DatasetError(
            f"Dataset '{dataset_id}' has {len(data)} transition(s): behaviour cloning needs "
            "at least 2 (observation statistics, minibatches), and far more to learn. Collect "
            "more episodes."
        )
    space = dataset.observation_space
    flat = isinstance(space, gym.spaces.Box) and isinstance(data.obs, torch.Tensor)
    if flat and tuple(data.obs.shape[1:]) != tuple(space.shape):
        raise DatasetError(
            f"Dataset '{dataset_id}' stores observations of shape {tuple(data.obs.shape[1:])} "
            f"but its observation space is {space}: the data files do not match their "
            "metadata. Rebuild the dataset."
        )


def dataset_info(
    dataset: MinariDataset, content_key: str, eval_env_id: str | None = None
) -> dict[str, Any]:
    """Provenance recorded with every run: ids, versions, sizes, reference scores."""
    dataset_id = dataset.spec.dataset_id
    version = dataset.spec.version
    if version is None and (match := _VERSION.search(dataset_id)):
        version = int(match.group(1))
    env_spec = dataset.spec.env_spec
    refs = reference_scores(dataset)
    return {
        "dataset_id": dataset_id,
        "dataset_version": version,
        "env_id": env_spec.id if env_spec else None,
        "env_version": env_spec.version if env_spec else None,
        "eval_env_id": eval_env_id,
        "total_episodes": int(dataset.total_episodes),
        "total_steps": int(dataset.total_steps),
        "minari_version": str(dataset.spec.minari_version),
        "content_key": content_key,
        "ref_min_score": refs[0] if refs else None,
        "ref_max_score": refs[1] if refs else None,
        "ref_scores_from": refs[2] if refs else None,
    }


def load_training_data(
    dataset_id: str,
    *,
    download: bool = True,
    use_cache: bool = True,
    builders: Builders | None = None,
    obs_keys: Sequence[str] | None = None,
    frame_stack: int = 1,
    top_fraction: float | None = None,
    min_return: float | None = None,
    val_fraction: float | None = None,
) -> LoadedDataset:
    """Find/build/download ``dataset_id``, validate it and flatten it (cached).

    ``obs_keys`` selects observation leaves/subtrees by name; text parts are always dropped.
    ``frame_stack`` feeds the actor the last ``n`` observations (``imitation_lab.data.frames``).
    """
    dataset = load_or_build(dataset_id, download_missing=download, builders=builders)
    if dataset.total_episodes == 0 or dataset.total_steps == 0:
        raise DatasetError(
            f"Dataset '{dataset_id}' is empty (0 episodes) at {dataset.spec.data_path}. "
            "Delete the folder and rebuild or redownload it."
        )
    spec = ObsSpec.of(dataset.observation_space, obs_keys, dataset_id=dataset_id)
    if spec.dropped:
        log.info(
            "%s: observation parts not fed to the actor: %s (dataset.obs_keys selects).",
            dataset_id,
            ", ".join(spec.dropped),
        )
    env = recover_eval_env(dataset)
    try:
        validate_against_env(dataset, env)
        eval_env_id = env.spec.id if env.spec else None
    finally:
        env.close()
    try:
        data, key = load_flat(dataset, use_cache=use_cache)
    except (OSError, KeyError, ValueError, RuntimeError) as err:  # h5py on a damaged file
        raise unreadable(dataset_id, err) from err
    if data.spec is not None:
        data = data.select(spec)
    check_contents(dataset, data)
    info = dataset_info(dataset, key, eval_env_id)
    info["data_digest"] = data.digest
    data, episode_filter = filter_episodes(
        data, dataset_id, top_fraction=top_fraction, min_return=min_return
    )
    if episode_filter is not None:
        info["episode_filter"] = episode_filter
    data, val, validation = split_validation(data, dataset_id, val_fraction)
    if validation is not None:
        info["validation"] = validation
    info["obs_keys"] = spec.keys if not spec.is_box else None
    info["frame_stack"] = int(frame_stack)
    score_fn = normalized_score_fn(dataset)
    if frame_stack > 1:
        if data.episode_lengths is None:
            raise DatasetError(
                f"Dataset '{dataset_id}': its cached arrays have no episode lengths, which "
                "dataset.frame_stack needs. Delete the cache folder next to the data and rerun."
            )
        stacked = spec.stacked(frame_stack)
        data = replace(data, spec=stacked, frame_stack=int(frame_stack))
        if val is not None:
            val = replace(val, spec=stacked, frame_stack=int(frame_stack))
        return LoadedDataset(
            dataset, data, score_fn, info, stacked, int(frame_stack), spec, val=val
        )
    return LoadedDataset(
        dataset, data, score_fn, info, None if spec.is_flat_vector else spec, val=val
    )


__all__ = ["LoadedDataset", "dataset_info", "load_training_data", "validate_against_env"]
