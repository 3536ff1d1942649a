"""The MLP actor: any observation, flattened in a fixed order, through an MLP."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

import gymnasium as gym
import torch
from torch import nn

from imitation_lab.actors.encoders import ObsFlattener, as_tensors, mlp, option
from imitation_lab.data.obs import ObsSpec


class MLPActor(nn.Module):
    """An MLP from an observation to action logits (discrete) or a raw action (continuous).

    ``MLPActor(obs_dim=..., act_dim=...)`` takes flat float observations ``[B, obs_dim]``.
    With ``observation_space`` (what ``build_policy`` passes) any observation works: a
    ``Dict``/``Tuple``/image/Discrete space goes through an :class:`ObsFlattener` first (keys
    in the space's order, Discrete parts one-hot, uint8 images / 255), and ``obs_dim`` is
    derived. The output is unbounded: bounding (clip/tanh) and scaling happen in
    ``ImitationPolicy.map_action``, as in Tianshou.
    """

    def __init__(
        self,
        obs_dim: int | None = None,
        act_dim: int | None = None,
        hidden_sizes: Sequence[int] = (256, 256),
        activation: str | Enum = "relu",
        layer_norm: bool = False,
        output_activation: str | Enum | None = None,
        device: str | torch.device = "cpu",
        *,
        observation_space: gym.Space | None = None,
    ) -> None:
        super().__init__()
        if act_dim is None:
            raise ValueError("MLPActor needs act_dim (the number of outputs).")
        self.flatten: ObsFlattener | None = None
        if observation_space is not None:
            spec = ObsSpec.of(observation_space)
            if obs_dim is not None and int(obs_dim) != spec.flat_dim:
                raise ValueError(
                    f"obs_dim={obs_dim} but the observation space flattens to {spec.flat_dim}."
                )
            obs_dim = spec.flat_dim
            if not spec.is_flat_vector:
                self.flatten = ObsFlattener(spec)
        if obs_dim is None:
            raise ValueError("MLPActor needs obs_dim or observation_space.")
        head = option(output_activation)
        if head not in (None, "tanh"):
            raise ValueError(f"actor.output_activation must be null or 'tanh', got {head!r}")
        self.net = mlp(obs_dim, hidden_sizes, act_dim, activation, layer_norm)
        if head == "tanh":  # outputs in [-1, 1]; pair with bounding=clip or none, never tanh
            self.net.append(nn.Tanh())
        self.obs_dim, self.act_dim = int(obs_dim), int(act_dim)
        self.device = torch.device(device)
        self.to(self.device)

    def preprocess(self, obs: Any) -> torch.Tensor:
        """The flat float input of ``net`` (shared by K stacked members)."""
        if self.flatten is None:
            return torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        return self.flatten(as_tensors(obs, self.device))

    def forward(self, obs: Any, state: Any = None, info: Any = None) -> tuple[torch.Tensor, Any]:
        return self.net(self.preprocess(obs)), state
