"""Frame stacking (``dataset.frame_stack``): the last ``n`` observations as one input.

Training gathers, for each sampled transition ``t``, the rows ``t-n+1 .. t`` of its episode,
clamped at the episode's first row; evaluation wraps each env in Gymnasium's
``FrameStackObservation(padding_type="reset")``, which repeats the reset observation at an
episode's start: the same stacks. Every fed leaf gets a leading ``n`` axis (a Box
``[n, *shape]``, a Discrete part a MultiDiscrete; see :meth:`ObsSpec.stacked`); parts not fed to
the actor (text) are removed from the env's observation first (Gymnasium cannot stack them).
The dataset stays one copy of single frames (uint8 images memory-mapped); stacks exist only
per minibatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from imitation_lab.data.episodes import episode_bounds
from imitation_lab.data.obs import ObsSpec


@dataclass
class FrameIndex:
    """Row indices of the stacked frames of each transition (``[..., n]``, oldest first)."""

    episode_starts: torch.Tensor  # [N] int64: the first row of each row's episode
    size: int

    @classmethod
    def of(cls, episode_lengths: np.ndarray, size: int) -> FrameIndex:
        first, _ = episode_bounds(episode_lengths)
        return cls(torch.from_numpy(first), int(size))

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        starts = self.episode_starts.to(idx.device)
        offsets = torch.arange(self.size - 1, -1, -1, device=idx.device)
        return torch.maximum(idx.unsqueeze(-1) - offsets, starts[idx].unsqueeze(-1))

    def valid(self, idx: torch.Tensor) -> torch.Tensor:
        """``[..., n]`` bool: which stacked rows lie inside the episode (not clamped)."""
        starts = self.episode_starts.to(idx.device)
        offsets = torch.arange(self.size - 1, -1, -1, device=idx.device)
        return idx.unsqueeze(-1) - offsets >= starts[idx].unsqueeze(-1)


class FedObservation(gym.ObservationWrapper):
    """An env's observation reduced to the parts ``spec`` feeds (text and unselected keys
    removed), as plain numpy trees: what ``FrameStackObservation`` can stack."""

    def __init__(self, env: gym.Env, spec: ObsSpec) -> None:
        super().__init__(env)
        self.fed = spec
        self.observation_space = spec.space

    def observation(self, observation: Any) -> Any:
        return _numpy_tree(self.fed.space, (), self.fed.select(observation))


def _numpy_tree(space: gym.Space, path: tuple, flat: dict[str, Any]) -> Any:
    if isinstance(space, gym.spaces.Dict):
        return {k: _numpy_tree(s, (*path, k), flat) for k, s in space.spaces.items()}
    if isinstance(space, gym.spaces.Tuple):
        return tuple(_numpy_tree(s, (*path, i), flat) for i, s in enumerate(space.spaces))
    return flat["/".join(str(p) for p in path)]


def stack_frames(env: gym.Env, spec: ObsSpec, frames: int) -> gym.Env:
    """``env`` whose observations are the last ``frames`` fed observations (``frames=1``:
    ``env`` unchanged). ``spec`` is the unstacked fed spec."""
    if frames <= 1:
        return env
    if spec.space != env.observation_space:
        env = FedObservation(env, spec)
    return gym.wrappers.FrameStackObservation(env, frames, padding_type="reset")


__all__ = ["FedObservation", "FrameIndex", "stack_frames"]
