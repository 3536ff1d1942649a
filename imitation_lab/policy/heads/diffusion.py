"""``head=diffusion``: a denoising diffusion head over the action (Diffusion Policy's).

The actor outputs ``feature_dim`` features of the observation; a small MLP denoiser
``eps(x_t, t, features)`` is trained as in DDPM (Ho et al., 2020): a random step ``t`` of
``train_steps`` (squared-cosine noise schedule), the target action noised to ``x_t``, and the
mean squared error of the predicted noise. Acting runs DDIM (Song et al., 2021; ``eta = 0``)
over ``inference_steps`` of those steps from Gaussian noise, clipping the predicted action to
[-1, 1] at every step (Diffusion Policy's ``clip_sample``). ``head.act=mode`` starts every call
from the same noise (``noise_seed``): the action is a deterministic function of the
observation; ``sample`` draws the starting noise from the policy's seeded generator.

The targets must be in [-1, 1] (``bounding=clip``, the default). The denoiser is not part of the
actor, so K members cannot train as one stacked model: refused at start for
``trainer.num_seeds > 1`` and the batched launcher.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import Enum

import torch
from torch import nn

from imitation_lab.policy.heads.base import ActionHead, randn


def cosine_alpha_bars(steps: int, s: float = 0.008) -> torch.Tensor:
    """``alpha_bar_t`` of the squared-cosine schedule (Nichol & Dhariwal, 2021), ``[steps]``,
    betas capped at 0.999 as in diffusers' ``squaredcos_cap_v2``."""

    def f(t: float) -> float:
        return math.cos((t / steps + s) / (1 + s) * math.pi / 2) ** 2

    betas = [min(1 - f(i + 1) / f(i), 0.999) for i in range(steps)]
    return torch.cumprod(1 - torch.tensor(betas, dtype=torch.float64), dim=0).float()


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer steps ``t [...]`` -> ``[..., dim]``."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device) / max(half - 1, 1))
    angles = t.float().unsqueeze(-1) * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class DiffusionHead(ActionHead):
    name = "diffusion"
    stackable = False
    bounds = ("clip",)
    bounds_reason = "it denoises actions in [-1, 1] (clipped each step): use bounding=clip"

    def __init__(
        self,
        act_dim: int,
        act: str | Enum = "mode",
        feature_dim: int = 64,
        hidden_sizes: Sequence[int] = (256, 256),
        time_dim: int = 32,
        train_steps: int = 100,
        inference_steps: int = 10,
        noise_seed: int = 0,
    ) -> None:
        super().__init__(act_dim, act)
        if not 1 <= inference_steps <= train_steps:
            raise ValueError("head.inference_steps must be in [1, head.train_steps]")
        self.feature_dim, self.time_dim = int(feature_dim), int(time_dim)
        self.train_steps, self.inference_steps = int(train_steps), int(inference_steps)
        self.noise_seed = int(noise_seed)
        layers: list[nn.Module] = []
        width = self.act_dim + self.time_dim + self.feature_dim
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.Mish()]
            width = size
        layers.append(nn.Linear(width, self.act_dim))
        self.denoiser = nn.Sequential(*layers)
        self.register_buffer("alpha_bars", cosine_alpha_bars(self.train_steps))

    @property
    def param_dim(self) -> int:
        return self.feature_dim

    def predict_noise(self, x: torch.Tensor, t: torch.Tensor, features: torch.Tensor):
        """``eps(x_t, t, features)`` for ``x [..., A]``, ``t [...]``, ``features [..., F]``."""
        inputs = torch.cat([x, time_embedding(t, self.time_dim), features], dim=-1)
        return self.denoiser(inputs)

    def loss(
        self, params: torch.Tensor, target: torch.Tensor, through: str | None = None
    ) -> torch.Tensor:
        """DDPM's noise-prediction loss per sample (the torch RNG draws ``t`` and the noise:
        its state is in every checkpoint, so a resumed run draws the same)."""
        t = torch.randint(self.train_steps, params.shape[:-1], device=params.device)
        noise = torch.randn_like(target)
        alpha_bar = self.alpha_bars[t].unsqueeze(-1)
        noisy = alpha_bar.sqrt() * target + (1 - alpha_bar).sqrt() * noise
        return (self.predict_noise(noisy, t, params) - noise).pow(2).mean(dim=-1)

    @torch.no_grad()
    def denoise(self, features: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """DDIM (``eta = 0``) from the noise ``x`` over ``inference_steps`` steps."""
        steps = torch.linspace(self.train_steps - 1, 0, self.inference_steps).round().long()
        action = x
        for i, t in enumerate(steps.tolist()):
            alpha_bar = self.alpha_bars[t]
            eps = self.predict_noise(x, torch.full(x.shape[:-1], t, device=x.device), features)
            action = ((x - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()).clamp(-1, 1)
            if i + 1 < len(steps):
                prev = self.alpha_bars[steps[i + 1]]
                eps = (x - alpha_bar.sqrt() * action) / (1 - alpha_bar).sqrt()
                x = prev.sqrt() * action + (1 - prev).sqrt() * eps
        return action

    def mode(self, params: torch.Tensor) -> torch.Tensor:
        generator = torch.Generator(device="cpu").manual_seed(self.noise_seed)
        shape = (*params.shape[:-1], self.act_dim)
        return self.denoise(params, randn(shape, params, generator))

    def sample(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        shape = (*params.shape[:-1], self.act_dim)
        return self.denoise(params, randn(shape, params, generator))

    def distribution_params(self, params: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"features": params}
