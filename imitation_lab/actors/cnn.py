"""The CNN actor for image-only observations (Atari-like)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

import gymnasium as gym
import torch
from torch import nn

from imitation_lab.actors.encoders import ImageEncoder, as_tensors, mlp, option
from imitation_lab.data.obs import ObsSpec
from imitation_lab.errors import ConfigError


class CNNActor(nn.Module):
    """One uint8 image (a Box, or a Dict with a single image key) -> CNN -> MLP head.

    The image is divided by 255 inside; ``cnn`` picks Nature DQN's convs (``nature``, images
    >= 36 px) or two 3x3 convs (``small``); ``auto`` chooses by size.
    """

    def __init__(
        self,
        *,
        observation_space: gym.Space,
        act_dim: int,
        features: int = 512,
        hidden_sizes: Sequence[int] = (),
        activation: str | Enum = "relu",
        cnn: str | Enum = "auto",
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        self.spec = ObsSpec.of(observation_space)
        kinds = [leaf.kind for leaf in self.spec.leaves]
        if kinds != ["image"]:
            parts = ", ".join(f"{leaf.key or 'obs'} ({leaf.kind})" for leaf in self.spec.leaves)
            raise ConfigError(
                f"actor=cnn takes one uint8 image, but the observation has {parts}. "
                "Use actor=multi_input (a CNN per image key, an MLP per vector key)."
            )
        self.leaf = self.spec.leaves[0]
        self.encoder = ImageEncoder(self.leaf, features, option(cnn) or "auto")
        self.head = mlp(features, hidden_sizes, act_dim, activation)
        self.act_dim = int(act_dim)
        self.device = torch.device(device)
        self.to(self.device)

    def forward(self, obs: Any, state: Any = None, info: Any = None) -> tuple[torch.Tensor, Any]:
        image = self.spec.flat(as_tensors(obs, self.device))[self.leaf.key]
        return self.head(self.encoder(image)), state
