"""Actors with Tianshou's protocol: ``actor(obs, state, info) -> (logits, state)``."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
}


class MLPActor(nn.Module):
    """An MLP from a flat observation to action logits (discrete) or a raw action (continuous).

    The output is unbounded: bounding (clip/tanh) and scaling happen in
    ``ImitationPolicy.map_action``, as in Tianshou.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden_sizes: Sequence[int] = (256, 256),
        activation: str | Enum = "relu",
        layer_norm: bool = False,
        output_activation: str | Enum | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        activation = str(getattr(activation, "value", activation))  # config Enums
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"actor.activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
            )
        layers: list[nn.Module] = []
        in_dim = obs_dim
        for width in hidden_sizes:
            layers.append(nn.Linear(in_dim, width))
            if layer_norm:
                layers.append(nn.LayerNorm(width))
            layers.append(ACTIVATIONS[activation]())
            in_dim = width
        layers.append(nn.Linear(in_dim, act_dim))
        head = (
            None
            if output_activation is None
            else str(getattr(output_activation, "value", output_activation))
        )
        if head not in (None, "tanh"):
            raise ValueError(f"actor.output_activation must be null or 'tanh', got {head!r}")
        if head == "tanh":  # outputs in [-1, 1]; pair with bounding=clip or none, never tanh
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.device = torch.device(device)
        self.to(self.device)

    def forward(self, obs: Any, state: Any = None, info: Any = None) -> tuple[torch.Tensor, Any]:
        obs = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        return self.net(obs), state
