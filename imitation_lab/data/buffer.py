"""Flatten a Minari dataset once into contiguous training tensors; observation statistics."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from minari import MinariDataset

from imitation_lab.errors import DatasetError


@dataclass
class OfflineData:
    """All transitions of a dataset as contiguous tensors (one copy in memory).

    ``obs`` is float32 ``[N, obs_dim]``; ``act`` is float32 ``[N, act_dim]`` for Box actions
    and int64 ``[N]`` for Discrete ones. Rewards, terminations and truncations are kept for
    methods beyond behaviour cloning.
    """

    obs: torch.Tensor
    act: torch.Tensor
    rewards: torch.Tensor
    terminations: torch.Tensor
    truncations: torch.Tensor
    episode_returns: np.ndarray

    def __len__(self) -> int:
        return int(self.obs.shape[0])


def flatten_dataset(dataset: MinariDataset) -> OfflineData:
    """Concatenate every episode's transitions (the final observation of each is dropped)."""
    dataset_id = dataset.spec.dataset_id
    obs_space, act_space = dataset.observation_space, dataset.action_space
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise DatasetError(
            f"Dataset '{dataset_id}' has observation space {obs_space}; imitation_lab's MLP "
            "actors take flat Box observations."
        )
    if not isinstance(act_space, gym.spaces.Box | gym.spaces.Discrete):
        raise DatasetError(
            f"Dataset '{dataset_id}' has action space {act_space}; Box and Discrete are supported."
        )
    if dataset.total_episodes == 0 or dataset.total_steps == 0:
        raise DatasetError(f"Dataset '{dataset_id}' is empty (0 episodes). Rebuild it.")
    obs, act, rew, term, trunc, returns = [], [], [], [], [], []
    for episode in dataset.iterate_episodes():
        _check_dtype(dataset_id, "observations", np.asarray(episode.observations))
        obs.append(np.asarray(episode.observations[:-1], dtype=np.float32))
        act.append(np.asarray(episode.actions))
        rew.append(np.asarray(episode.rewards, dtype=np.float32))
        term.append(np.asarray(episode.terminations, dtype=bool))
        trunc.append(np.asarray(episode.truncations, dtype=bool))
        returns.append(float(np.sum(episode.rewards)))
    obs_arr = np.concatenate(obs)
    raw_act = np.concatenate(act)
    _check_dtype(dataset_id, "actions", raw_act)
    _check_finite(dataset_id, "observations", obs_arr)
    _check_finite(dataset_id, "actions", raw_act)
    if isinstance(act_space, gym.spaces.Discrete):
        if not np.array_equal(raw_act, np.round(raw_act)):
            raise DatasetError(
                f"Dataset '{dataset_id}' has a Discrete action space but non-integer actions "
                f"(dtype {raw_act.dtype}). Rebuild it with integer actions."
            )
        act_arr = raw_act.astype(np.int64).reshape(-1)
    else:
        act_arr = raw_act.astype(np.float32).reshape(len(obs_arr), -1)
    return OfflineData(
        obs=torch.from_numpy(obs_arr),
        act=torch.from_numpy(act_arr),
        rewards=torch.from_numpy(np.concatenate(rew)),
        terminations=torch.from_numpy(np.concatenate(term)),
        truncations=torch.from_numpy(np.concatenate(trunc)),
        episode_returns=np.asarray(returns),
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
