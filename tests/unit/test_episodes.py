"""Each row's episode bounds, which frame stacks (``FrameIndex``), action chunks
(``ChunkIndex``) and episode filtering build on."""

from __future__ import annotations

import numpy as np
import torch

from imitation_lab.data.chunks import ChunkIndex
from imitation_lab.data.episodes import episode_bounds
from imitation_lab.data.frames import FrameIndex


def test_episode_bounds_of_each_row() -> None:
    first, last = episode_bounds(np.array([3, 1, 2]))
    assert first.tolist() == [0, 0, 0, 3, 4, 4]
    assert last.tolist() == [2, 2, 2, 3, 5, 5]
    assert first.dtype == last.dtype == np.int64


def test_frames_look_back_and_chunks_look_ahead_within_the_episode() -> None:
    lengths = np.array([3, 1, 2])
    idx = torch.tensor([0, 2, 3, 5])
    frames = FrameIndex.of(lengths, 2)
    assert frames(idx).tolist() == [[0, 0], [1, 2], [3, 3], [4, 5]]
    assert frames.valid(idx).tolist() == [[False, True], [True, True], [False, True], [True, True]]
    rows, valid = ChunkIndex.of(lengths, 2)(idx)
    assert rows.tolist() == [[0, 1], [2, 2], [3, 3], [5, 5]]
    assert valid.tolist() == [[True, True], [True, False], [True, False], [True, False]]
