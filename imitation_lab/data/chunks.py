"""Action-chunk targets (``head.chunk=H``): the actions of steps ``t .. t+H-1`` of ``t``'s
episode, the steps past the episode's end marked invalid (their target rows become NaN, which
the chunk head's loss masks out)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from imitation_lab.data.episodes import episode_bounds


@dataclass
class ChunkIndex:
    """Row indices ``[..., H]`` of each transition's next ``H`` actions, and which are valid."""

    episode_ends: torch.Tensor  # [N] int64: the last row of each row's episode
    size: int

    @classmethod
    def of(cls, episode_lengths: np.ndarray, size: int) -> ChunkIndex:
        _, last = episode_bounds(episode_lengths)
        return cls(torch.from_numpy(last), int(size))

    def __call__(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(rows, valid)``: rows clamped at the episode's last row, valid where not clamped."""
        ends = self.episode_ends.to(idx.device)[idx].unsqueeze(-1)
        wanted = idx.unsqueeze(-1) + torch.arange(self.size, device=idx.device)
        return torch.minimum(wanted, ends), wanted <= ends

    def targets(self, actions: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """``actions[rows]`` ``[..., H, A]`` with NaN rows past the episode's end."""
        rows, valid = self(idx)
        chunk = actions[rows]
        return torch.where(valid.unsqueeze(-1), chunk, torch.full_like(chunk, float("nan")))


__all__ = ["ChunkIndex"]
