"""The multi-input actor: an encoder per observation key, concatenated, then an MLP head."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

import gymnasium as gym
import torch
from torch import nn

from imitation_lab.actors.encoders import ImageEncoder, as_tensors, flatten_leaf, mlp, option
from imitation_lab.data.obs import Leaf, ObsSpec


class _VectorEncoder(nn.Module):
    """A vector / Discrete leaf: flattened (one-hot) -> its own MLP."""

    def __init__(self, leaf: Leaf, hidden_sizes: Sequence[int], activation: str) -> None:
        super().__init__()
        self.leaf = leaf
        self.net = mlp(leaf.flat_dim, hidden_sizes, None, activation)
        self.out_dim = hidden_sizes[-1] if hidden_sizes else leaf.flat_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(flatten_leaf(self.leaf, x))


class MultiInputActor(nn.Module):
    """Per-key encoders (SB3's CombinedExtractor layout): each uint8 image key through its own
    CNN (``image_features`` outputs; Nature DQN for >= 36 px, two 3x3 convs below), each
    vector / Discrete key through its own MLP (``vector_hidden_sizes``; ``[]``: just flattened),
    all concatenated in the space's key order, then an MLP head (``hidden_sizes``)."""

    def __init__(
        self,
        *,
        observation_space: gym.Space,
        act_dim: int,
        hidden_sizes: Sequence[int] = (256, 256),
        image_features: int = 256,
        vector_hidden_sizes: Sequence[int] = (64,),
        activation: str | Enum = "relu",
        cnn: str | Enum = "auto",
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        self.spec = ObsSpec.of(observation_space)
        act_name = option(activation) or "relu"
        encoders: dict[str, nn.Module] = {}
        for i, leaf in enumerate(self.spec.leaves):
            encoders[f"k{i}"] = (
                ImageEncoder(leaf, image_features, option(cnn) or "auto")
                if leaf.kind == "image"
                else _VectorEncoder(leaf, list(vector_hidden_sizes), act_name)
            )
        self.encoders = nn.ModuleDict(encoders)
        width = sum(int(e.out_dim) for e in encoders.values())  # type: ignore[arg-type]
        self.head = mlp(width, hidden_sizes, act_dim, act_name)
        self.act_dim = int(act_dim)
        self.device = torch.device(device)
        self.to(self.device)

    def forward(self, obs: Any, state: Any = None, info: Any = None) -> tuple[torch.Tensor, Any]:
        flat = self.spec.flat(as_tensors(obs, self.device))
        parts = [
            encoder(flat[leaf.key])
            for leaf, encoder in zip(self.spec.leaves, self.encoders.values(), strict=True)
        ]
        return self.head(torch.cat(parts, dim=-1)), state
