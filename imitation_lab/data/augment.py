"""Image augmentation of training minibatches (``dataset.augment``), off at evaluation.

``random_shift`` is DrQ's (Kostrikov et al., 2020; robomimic's crop randomizer is the same
idea): pad each image by ``dataset.shift_pad`` pixels, replicating its edges, and crop it back
at a random offset, one offset per sample (the frames of a stacked sample move together). It is
done here as one gather of the uint8 pixels, so the minibatch is never copied to floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

import torch

from imitation_lab.data.obs import tree_map


class Augment(Enum):
    """``dataset.augment``: how training images are perturbed (``null``: not at all)."""

    random_shift = "random_shift"


def image_axes(shape: Sequence[int]) -> tuple[int, int]:
    """The (height, width) axes of an image leaf of ``shape`` (as ``ImageEncoder`` reads it:
    HW, HWC with C <= 4, CHW, frames x HWC, frames x CHW)."""
    if len(shape) == 2:
        return 0, 1
    if len(shape) == 3:
        return (0, 1) if shape[2] <= 4 else (1, 2)
    if len(shape) == 4:
        return (1, 2) if shape[3] <= 4 else (2, 3)
    raise ValueError(f"an image must have 2-4 dims, got {tuple(shape)}")


def random_shift(
    images: torch.Tensor, leaf_dims: int, pad: int, generator: torch.Generator
) -> torch.Tensor:
    """``images`` ``[N, *shape]`` (``leaf_dims = len(shape)``), each sample shifted by
    ``-pad..pad`` pixels in each direction with edge replication; same dtype, no float copy."""
    n, shape = images.shape[0], images.shape[1:]
    assert len(shape) == leaf_dims
    h_axis, w_axis = (axis + 1 for axis in image_axes(shape))
    height, width = images.shape[h_axis], images.shape[w_axis]
    dy = torch.randint(-pad, pad + 1, (n,), generator=generator).to(images.device)
    dx = torch.randint(-pad, pad + 1, (n,), generator=generator).to(images.device)
    rows = (torch.arange(height, device=images.device) + dy[:, None]).clamp_(0, height - 1)
    cols = (torch.arange(width, device=images.device) + dx[:, None]).clamp_(0, width - 1)
    moved = images.movedim((h_axis, w_axis), (1, 2))  # [N, H, W, rest...]
    sample = torch.arange(n, device=images.device)[:, None, None]
    shifted = moved[sample, rows[:, :, None], cols[:, None, :]]
    return shifted.movedim((1, 2), (h_axis, w_axis))


class RandomShift:
    """``random_shift`` on every image leaf of a ``[K, B, ...]`` minibatch, member ``k``'s
    offsets drawn from its own generator (its minibatch sampler: saved, so resumes are exact,
    and a stacked member draws what its single run draws)."""

    def __init__(self, pad: int) -> None:
        if pad < 1:
            raise ValueError(f"dataset.shift_pad must be >= 1, got {pad}")
        self.pad = int(pad)

    def __call__(self, obs: Any, generators: Sequence[torch.Generator | None]) -> Any:
        """``obs`` with its image leaves shifted; a ``None`` generator leaves member ``k``'s
        rows as they are (a member that stopped draws nothing)."""

        def shift(leaf: torch.Tensor) -> torch.Tensor:
            if leaf.dtype != torch.uint8:  # images are the only uint8 leaves
                return leaf
            return torch.stack(
                [
                    leaf[k] if g is None else random_shift(leaf[k], leaf.dim() - 2, self.pad, g)
                    for k, g in enumerate(generators)
                ]
            )

        return tree_map(shift, obs)


__all__ = ["Augment", "RandomShift", "image_axes", "random_shift"]
