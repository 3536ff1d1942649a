"""``head=gaussian``: a diagonal Gaussian with a state-dependent standard deviation.

The actor outputs ``[mean, log_std]`` (``2 * act_dim``); ``log_std`` is squashed into
``[min_log_std, max_log_std]`` with a tanh, as d3rlpy and TorchRL bound it. The loss is the
negative log-likelihood of the target. Bounds, as in the field: with ``bounding=clip`` or
``none`` the Gaussian is over the raw action (clipped/clamped at the env, as ``head=mse``); with
``bounding=tanh_squash`` (trained through the bound) it is a tanh-transformed Gaussian
(SAC's): the target ``y`` is scored as ``atanh(y)`` with the change of variables
``log p(y) = log N(atanh y) - log(1 - y^2)``, so the means are never pushed to infinity by
targets at the edges; plain ``bounding=tanh`` trains the raw Gaussian and squashes at the env,
as Tianshou does with the MSE output.

``nll_beta`` (beta-NLL, Seitzer et al., 2022) weighs each dimension's NLL by its variance to
the power ``beta``, held constant in the gradient: 0 is the plain NLL, whose gradient in the
mean is the error divided by the variance (dimensions the head is sure of dominate, the others
are fitted poorly); 1 gives the mean MSE's gradient whatever the std, which is still fitted.
"""

from __future__ import annotations

import math
from enum import Enum

import torch

from imitation_lab.policy.heads.base import ActionHead, randn

#: targets are kept this far inside (-1, 1) before atanh (tanh-transformed Gaussian)
ATANH_EPS = 1e-6


class GaussianHead(ActionHead):
    name = "gaussian"

    def __init__(
        self,
        act_dim: int,
        act: str | Enum = "mode",
        min_log_std: float = -5.0,
        max_log_std: float = 2.0,
        nll_beta: float = 0.0,
    ) -> None:
        super().__init__(act_dim, act)
        if not min_log_std < max_log_std:
            raise ValueError("head.min_log_std must be below head.max_log_std")
        if not 0.0 <= nll_beta <= 1.0:
            raise ValueError(f"head.nll_beta must be in [0, 1] (0: plain NLL), got {nll_beta}")
        self.min_log_std, self.max_log_std = float(min_log_std), float(max_log_std)
        self.nll_beta = float(nll_beta)

    @property
    def param_dim(self) -> int:
        return 2 * self.act_dim

    def split(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, log_std)``, ``log_std`` squashed into its range."""
        mean, raw = params.split(self.act_dim, dim=-1)
        half = (self.max_log_std - self.min_log_std) / 2
        return mean, self.min_log_std + half * (torch.tanh(raw) + 1)

    def loss(
        self, params: torch.Tensor, target: torch.Tensor, through: str | None = None
    ) -> torch.Tensor:
        mean, log_std = self.split(params)
        value = target
        if through == "tanh":
            value = torch.atanh(target.clamp(-1 + ATANH_EPS, 1 - ATANH_EPS))
        z = (value - mean) * torch.exp(-log_std)
        nll = 0.5 * z.pow(2) + log_std + 0.5 * math.log(2 * math.pi)
        if through == "tanh":
            nll = nll + torch.log1p(-value.tanh().pow(2) + ATANH_EPS)
        if self.nll_beta:  # beta-NLL: variance ** beta, a constant in the gradient
            nll = nll * torch.exp(2 * self.nll_beta * log_std).detach()
        return nll.sum(dim=-1)

    def mode(self, params: torch.Tensor) -> torch.Tensor:
        return self.split(params)[0]

    def sample(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        mean, log_std = self.split(params)
        return mean + log_std.exp() * randn(mean.shape, mean, generator)

    def distribution_params(self, params: torch.Tensor) -> dict[str, torch.Tensor]:
        mean, log_std = self.split(params)
        return {"mean": mean, "log_std": log_std}
