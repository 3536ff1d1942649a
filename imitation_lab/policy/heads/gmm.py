"""``head=gmm``: a mixture of ``modes`` diagonal Gaussians (robomimic's BC-GMM recipe).

The actor outputs mixture logits (``modes``), means and raw scales (``modes * act_dim`` each).
As in robomimic's ``GMMActorNetwork``: the means go through a tanh (actions live in
[-1, 1]), the standard deviations are ``softplus(raw) + min_std``, and the loss is the negative
log-likelihood of the target under the mixture. ``mode`` is the mean of the most likely
component. The targets must be in [-1, 1]: ``bounding=clip`` (the default; a no-op on these
actions); tanh bounds would squash the tanh means twice and are refused at start.
"""

from __future__ import annotations

import math
from enum import Enum

import torch
import torch.nn.functional as F

from imitation_lab.policy.heads.base import ActionHead, randn


class GMMHead(ActionHead):
    name = "gmm"
    bounds = ("clip",)
    bounds_reason = (
        "its means are tanh-squashed into [-1, 1] (robomimic's recipe), so it needs targets in "
        "[-1, 1] and no second squash: use bounding=clip"
    )

    def __init__(
        self, act_dim: int, act: str | Enum = "mode", modes: int = 5, min_std: float = 1e-4
    ) -> None:
        super().__init__(act_dim, act)
        if modes < 1 or min_std <= 0:
            raise ValueError("head.modes must be >= 1 and head.min_std > 0")
        self.modes, self.min_std = int(modes), float(min_std)

    @property
    def param_dim(self) -> int:
        return self.modes * (1 + 2 * self.act_dim)

    def split(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(log_weights [..., M], means [..., M, A], stds [..., M, A])``."""
        m, a = self.modes, self.act_dim
        logits, means, scales = params.split([m, m * a, m * a], dim=-1)
        shape = (*params.shape[:-1], m, a)
        means = torch.tanh(means.reshape(shape))
        stds = F.softplus(scales.reshape(shape)) + self.min_std
        return F.log_softmax(logits, dim=-1), means, stds

    def loss(
        self, params: torch.Tensor, target: torch.Tensor, through: str | None = None
    ) -> torch.Tensor:
        log_weights, means, stds = self.split(params)
        z = (target.unsqueeze(-2) - means) / stds
        log_prob = (-0.5 * z.pow(2) - stds.log() - 0.5 * math.log(2 * math.pi)).sum(dim=-1)
        return -torch.logsumexp(log_weights + log_prob, dim=-1)

    def mode(self, params: torch.Tensor) -> torch.Tensor:
        log_weights, means, _ = self.split(params)
        best = log_weights.argmax(dim=-1, keepdim=True)
        return means.gather(-2, best.unsqueeze(-1).expand(*best.shape, self.act_dim)).squeeze(-2)

    def sample(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        log_weights, means, stds = self.split(params)
        flat = log_weights.exp().reshape(-1, self.modes)
        picked = torch.multinomial(flat.cpu(), 1, generator=generator).to(params.device)
        picked = picked.reshape(*log_weights.shape[:-1], 1, 1).expand(
            *log_weights.shape[:-1], 1, self.act_dim
        )
        mean, std = means.gather(-2, picked).squeeze(-2), stds.gather(-2, picked).squeeze(-2)
        return mean + std * randn(mean.shape, mean, generator)

    def distribution_params(self, params: torch.Tensor) -> dict[str, torch.Tensor]:
        log_weights, means, stds = self.split(params)
        return {"log_weights": log_weights, "means": means, "stds": stds}
