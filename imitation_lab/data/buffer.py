"""Flatten a Minari dataset once into contiguous training arrays (any observation space)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from minari import MinariDataset

from imitation_lab.data.obs import ObsSpec, storage_dtype
from imitation_lab.errors import DatasetError


@dataclass
class OfflineData:
    """All transitions of a dataset as contiguous tensors (one copy in memory, or memory-mapped).

    ``obs`` is what the actor is trained on: a float32 ``[N, obs_dim]`` tensor for a flat Box,
    otherwise the tree of ``spec`` (``Batch`` for Dict, tuple for Tuple) of ``[N, ...]`` leaves
    (floats as float32, Discrete as int64, uint8 images kept uint8; read from the cache, they
    are memory-mapped). ``act`` is float32 ``[N, act_dim]`` for Box actions and int64 ``[N]``
    for Discrete ones. Rewards, terminations and truncations are kept for methods beyond
    behaviour cloning; ``episode_lengths`` places episode boundaries (frame stacking).
    With ``frame_stack = n > 1``, ``obs`` still holds single frames while ``spec`` is what the
    actor sees (every leaf ``[n, ...]``; stacks are gathered per minibatch).
    """

    obs: Any
    act: torch.Tensor
    rewards: torch.Tensor
    terminations: torch.Tensor
    truncations: torch.Tensor
    episode_returns: np.ndarray
    episode_lengths: np.ndarray | None = None
    spec: ObsSpec | None = None  # None: a flat Box (``obs`` is one tensor)
    frame_stack: int = 1
    #: hash of the data training reads (``cache.data_digest``): the dataset's content identity
    digest: str | None = None

    def __len__(self) -> int:
        return int(self.act.shape[0])

    def select(self, spec: ObsSpec) -> OfflineData:
        """The same data with only ``spec``'s observation leaves (``dataset.obs_keys``)."""
        if self.spec is None:
            return self
        flat = self.spec.flat(self.obs)
        return replace(self, obs=spec.build({key: flat[key] for key in spec.keys}), spec=spec)


#: ``(name, shape, dtype) -> array`` (or a writer that takes ``[rows] = values``)
Allocator = Callable[[str, tuple[int, ...], np.dtype], Any]


def _in_memory(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    return np.empty(shape, dtype=dtype)


def check_spaces(dataset: MinariDataset) -> ObsSpec:
    """The dataset's full observation spec (every feedable leaf); unfeedable spaces raise."""
    dataset_id = dataset.spec.dataset_id
    act_space = dataset.action_space
    if not isinstance(act_space, gym.spaces.Box | gym.spaces.Discrete):
        raise DatasetError(
            f"Dataset '{dataset_id}' has action space {act_space}; Box and Discrete are supported."
        )
    return ObsSpec.of(dataset.observation_space, dataset_id=dataset_id)


def flatten_dataset(dataset: MinariDataset, allocate: Allocator | None = None) -> OfflineData:
    """Concatenate every episode's transitions (the final observation of each is dropped).

    Each observation leaf is written into one array from ``allocate(name, shape, dtype)``
    (default: in memory; the cache passes file writers, and then ``obs`` holds those), one
    episode at a time, so an image dataset is never held twice nor converted to float.
    """
    dataset_id = dataset.spec.dataset_id
    spec = check_spaces(dataset)
    if dataset.total_episodes == 0 or dataset.total_steps == 0:
        raise DatasetError(f"Dataset '{dataset_id}' is empty (0 episodes). Rebuild it.")
    allocate = allocate or _in_memory
    total = int(dataset.total_steps)
    leaves: dict[str, Any] = {}
    act, rew, term, trunc, returns, lengths = [], [], [], [], [], []
    offset = 0
    for episode in dataset.iterate_episodes():
        n = len(episode.rewards)
        if offset + n > total:
            raise DatasetError(
                f"Dataset '{dataset_id}' holds more steps than its metadata says ({total}). "
                "Rebuild or redownload it."
            )
        for leaf, values in zip(
            spec.leaves, spec.select(episode.observations).values(), strict=True
        ):
            values = np.asarray(values)
            name = f"observations/{leaf.key}" if leaf.key else "observations"
            _check_dtype(dataset_id, name, values)
            part = values[:n]
            _check_finite(dataset_id, name, part)
            if leaf.key not in leaves:
                shape = (total, *part.shape[1:])
                leaves[leaf.key] = allocate(f"obs.{leaf.key}", shape, storage_dtype(leaf, part))
            leaves[leaf.key][offset : offset + n] = part
        act.append(np.asarray(episode.actions))
        rew.append(np.asarray(episode.rewards, dtype=np.float32))
        term.append(np.asarray(episode.terminations, dtype=bool))
        trunc.append(np.asarray(episode.truncations, dtype=bool))
        returns.append(float(np.sum(episode.rewards)))
        lengths.append(n)
        offset += n
    if offset != total:
        raise DatasetError(
            f"Dataset '{dataset_id}' holds {offset} steps but its metadata says {total}. "
            "Rebuild or redownload it."
        )
    raw_act = np.concatenate(act)
    _check_dtype(dataset_id, "actions", raw_act)
    _check_finite(dataset_id, "actions", raw_act)
    if isinstance(dataset.action_space, gym.spaces.Discrete):
        if not np.array_equal(raw_act, np.round(raw_act)):
            raise DatasetError(
                f"Dataset '{dataset_id}' has a Discrete action space but non-integer actions "
                f"(dtype {raw_act.dtype}). Rebuild it with integer actions."
            )
        act_arr = raw_act.astype(np.int64).reshape(-1)
    else:
        act_arr = raw_act.astype(np.float32).reshape(total, -1)
    obs = spec.build(
        {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in leaves.items()}
    )
    return OfflineData(
        obs=obs,
        act=torch.from_numpy(act_arr),
        rewards=torch.from_numpy(np.concatenate(rew)),
        terminations=torch.from_numpy(np.concatenate(term)),
        truncations=torch.from_numpy(np.concatenate(trunc)),
        episode_returns=np.asarray(returns),
        episode_lengths=np.asarray(lengths, dtype=np.int64),
        spec=None if spec.is_flat_vector else spec,
    )


def _check_dtype(dataset_id: str, name: str, values: np.ndarray) -> None:
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_):
        raise DatasetError(
            f"Dataset '{dataset_id}' stores its {name} as {values.dtype}, not numbers; "
            "imitation_lab trains on numeric Box/Discrete data. Rebuild or convert the dataset."
        )


def _check_finite(dataset_id: str, name: str, values: np.ndarray) -> None:
    if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).any(axis=tuple(range(1, values.ndim))).sum())
        raise DatasetError(
            f"Dataset '{dataset_id}' has NaN/inf in its {name} ({bad} of {len(values)} steps). "
            "Rebuild or clean the dataset."
        )


class ObsNormalizer(torch.nn.Module):
    """``(obs - mean) / (std + eps)`` with statistics taken from the dataset."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, eps: float = 1e-3) -> None:
        super().__init__()
        self.register_buffer("mean", mean.clone().float())
        self.register_buffer("std", std.clone().float())
        self.eps = eps

    @classmethod
    def from_data(cls, obs: torch.Tensor) -> ObsNormalizer:
        return cls(obs.mean(dim=0), obs.std(dim=0))

    @classmethod
    def identity(cls, obs_dim: int) -> ObsNormalizer:
        return cls(torch.zeros(obs_dim), torch.ones(obs_dim), eps=0.0)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.mean) / (self.std + self.eps)
