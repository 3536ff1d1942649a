"""Where each transition's episode starts and ends, from the episodes' lengths (rows of one
episode are contiguous, episodes in order: the layout of ``OfflineData``)."""

from __future__ import annotations

import numpy as np


def episode_bounds(episode_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first, last)``: int64 ``[N]`` arrays, the first and last row of each row's episode."""
    lengths = np.asarray(episode_lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.repeat(ends - lengths, lengths), np.repeat(ends - 1, lengths)


__all__ = ["episode_bounds"]
