"""Building blocks of the actors: leaf preprocessing, the flattener, MLPs and image CNNs."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from imitation_lab.data.obs import Leaf, ObsSpec, tree_map

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
}
#: uint8 images are divided by this inside every actor (Nature DQN's scaling)
IMAGE_SCALE = 255.0


def option(value: str | Enum | None) -> str | None:
    """A config Enum's value (or the plain string)."""
    return None if value is None else str(getattr(value, "value", value))


def activation_class(name: str | Enum) -> type[nn.Module]:
    key = option(name)
    if key not in ACTIVATIONS:
        raise ValueError(f"actor.activation must be one of {sorted(ACTIVATIONS)}, got {key!r}")
    return ACTIVATIONS[key]


def mlp(
    in_dim: int,
    hidden_sizes: Sequence[int],
    out_dim: int | None,
    activation: str | Enum = "relu",
    layer_norm: bool = False,
) -> nn.Sequential:
    """Linear (+LayerNorm) + activation per hidden width, then a Linear to ``out_dim``."""
    act = activation_class(activation)
    layers: list[nn.Module] = []
    for width in hidden_sizes:
        layers.append(nn.Linear(in_dim, width))
        if layer_norm:
            layers.append(nn.LayerNorm(width))
        layers.append(act())
        in_dim = width
    if out_dim is not None:
        layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


def as_tensors(obs: Any, device: torch.device) -> Any:
    """Numpy / nested observations as tensors on ``device`` (dtypes kept)."""
    return tree_map(lambda v: torch.as_tensor(v, device=device), obs)


def flatten_leaf(leaf: Leaf, x: torch.Tensor, image_scale: float = IMAGE_SCALE) -> torch.Tensor:
    """One leaf as floats ``[*lead, leaf.flat_dim]``: one-hot for Discrete/MultiDiscrete parts,
    uint8 images divided by ``image_scale`` (255), everything else cast to float."""
    space = leaf.space
    if isinstance(space, gym.spaces.Discrete):
        return F.one_hot(
            (x.long() - int(space.start)).clamp(0, int(space.n) - 1), int(space.n)
        ).float()
    if isinstance(space, gym.spaces.MultiDiscrete):
        nvec = np.asarray(space.nvec).reshape(-1)
        start = torch.as_tensor(np.asarray(space.start).reshape(-1), device=x.device)
        parts = x.long().reshape(*x.shape[: x.dim() - space.nvec.ndim], -1) - start
        return torch.cat(
            [F.one_hot(parts[..., i].clamp(0, int(n) - 1), int(n)) for i, n in enumerate(nvec)],
            dim=-1,
        ).float()
    rank = len(space.shape)
    lead = x.shape[: x.dim() - rank]
    x = x.reshape(*lead, -1)
    if leaf.kind == "image":
        return x.float() / image_scale
    return x.float()


class ObsFlattener(nn.Module):
    """Any observation tree -> one float vector: the leaves in the space's order (a ``Dict``'s
    keys as Gymnasium orders them, i.e. sorted; nested depth first), Discrete parts one-hot,
    uint8 images / ``image_scale`` (255). No parameters or buffers: K stacked members share
    one."""

    def __init__(self, spec: ObsSpec, image_scale: float = IMAGE_SCALE) -> None:
        super().__init__()
        self.spec = spec
        self.out_dim = spec.flat_dim
        self.image_scale = float(image_scale)

    def forward(self, obs: Any) -> torch.Tensor:
        flat = self.spec.flat(obs)
        return torch.cat(
            [flatten_leaf(leaf, flat[leaf.key], self.image_scale) for leaf in self.spec.leaves],
            -1,
        )


class ImageEncoder(nn.Module):
    """A uint8 image leaf (HW, HWC, CHW or frames x HWC) -> ``features`` floats.

    ``cnn="nature"``: Nature DQN's 3 convs (8x8/4, 4x4/2, 3x3/1) for images >= 36 px;
    ``"small"``: two 3x3 convs (MiniGrid-size grids); ``"auto"`` picks by size.
    """

    def __init__(self, leaf: Leaf, features: int, cnn: str = "auto") -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in leaf.space.shape)
        channels, height, width = _chw(self.shape)
        kind = cnn if cnn != "auto" else ("nature" if min(height, width) >= 36 else "small")
        if kind == "nature":
            convs = [
                nn.Conv2d(channels, 32, 8, stride=4),
                nn.ReLU(),
                nn.Conv2d(32, 64, 4, stride=2),
                nn.ReLU(),
                nn.Conv2d(64, 64, 3, stride=1),
                nn.ReLU(),
            ]
        elif kind == "small":
            stride = 2 if min(height, width) >= 16 else 1
            convs = [
                nn.Conv2d(channels, 32, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(32, 64, 3, stride=stride, padding=1),
                nn.ReLU(),
            ]
        else:
            raise ValueError(f"actor.cnn must be auto, nature or small, got {cnn!r}")
        self.convs = nn.Sequential(*convs, nn.Flatten())
        with torch.no_grad():
            n_flat = int(self.convs(torch.zeros(1, channels, height, width)).shape[1])
        self.fc = nn.Sequential(nn.Linear(n_flat, features), nn.ReLU())
        self.out_dim = features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[: x.dim() - len(self.shape)]
        images = _to_nchw(x.reshape(-1, *self.shape).float() / IMAGE_SCALE, self.shape)
        return self.fc(self.convs(images)).reshape(*lead, self.out_dim)


def _chw(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(channels, height, width) of an image leaf's shape (see ``_to_nchw``)."""
    if len(shape) == 2:
        return 1, shape[0], shape[1]
    if len(shape) == 3:
        return (shape[2], shape[0], shape[1]) if shape[2] <= 4 else shape  # type: ignore[return-value]
    if len(shape) == 4:  # stacked frames of HWC (last dim <= 4) or CHW images
        if shape[3] <= 4:
            return shape[0] * shape[3], shape[1], shape[2]
        return shape[0] * shape[1], shape[2], shape[3]
    raise ValueError(f"an image must have 2-4 dims, got {shape}")


def _to_nchw(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """``[N, *shape]`` -> ``[N, C, H, W]``: HW gets C=1; HWC (last dim <= 4) is permuted; CHW
    (e.g. stacked grayscale frames) is kept; frames x HWC / frames x CHW merge frames into
    channels (frame-major)."""
    if len(shape) == 2:
        return x.unsqueeze(1)
    if len(shape) == 3:
        return x.permute(0, 3, 1, 2) if shape[2] <= 4 else x
    channels, height, width = _chw(shape)
    if shape[3] <= 4:
        x = x.permute(0, 1, 4, 2, 3)
    return x.reshape(-1, channels, height, width)
