"""``head.chunk=H``: predict the next ``H`` actions from one observation (ACT's action chunks).

The actor outputs ``H`` times the parameters of the head it wraps (``head=mse``: the actions
themselves, regressed with MSE), one set per future step; each step is scored by the wrapped
head and the loss is the mean over the chunk's steps that lie inside the episode (the targets of
steps past the episode's end are NaN rows, masked out). Acting returns the whole chunk
``[..., H, act_dim]``; ``imitation_lab.policy.chunking`` turns chunks into one action per env
step (``policy.execute``).

The steps are scored independently (a GMM is a mixture per step); ``head=diffusion`` would
have to denoise the chunk jointly and is refused with a chunk.
"""

from __future__ import annotations

from enum import Enum

import torch

from imitation_lab.policy.bounding import bound_for_loss
from imitation_lab.policy.heads.base import ANY_BOUND, ActionHead


class RegressionHead(ActionHead):
    """``head=mse`` as a head object (inside a chunk): the output is the action, MSE per sample
    (of the bound output with ``bounding=tanh_squash``, as Tianshou-style BC takes it)."""

    name = "mse"
    bounds = ANY_BOUND

    @property
    def param_dim(self) -> int:
        return self.act_dim

    def loss(
        self, params: torch.Tensor, target: torch.Tensor, through: str | None = None
    ) -> torch.Tensor:
        output = params if through is None else bound_for_loss(params, through)
        return (output - target).pow(2).mean(dim=-1)

    def mode(self, params: torch.Tensor) -> torch.Tensor:
        return params

    def sample(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return params


class ChunkHead(ActionHead):
    """``inner`` applied to each of the next ``chunk`` steps."""

    stackable = False  # refused for stacked members at start (its own loss masking)

    def __init__(
        self,
        inner: ActionHead,
        chunk: int,
        execute: str | Enum = "chunk",
        ensemble_decay: float = 0.01,
    ) -> None:
        super().__init__(inner.act_dim, inner.act_mode)
        if chunk < 2:
            raise ValueError(f"head.chunk must be >= 2 for a ChunkHead, got {chunk}")
        if not inner.stackable:
            raise ValueError(f"head={inner.name} cannot predict a chunk step by step")
        self.inner = inner
        self.chunk = int(chunk)
        self.execute = str(getattr(execute, "value", execute))
        if self.execute not in ("chunk", "temporal_ensemble"):
            raise ValueError(f"policy.execute must be chunk or temporal_ensemble, got {execute}")
        self.ensemble_decay = float(ensemble_decay)
        self.name = inner.name
        self.bounds = inner.bounds
        self.bounds_reason = inner.bounds_reason

    @property
    def param_dim(self) -> int:
        return self.chunk * self.inner.param_dim

    def steps(self, params: torch.Tensor) -> torch.Tensor:
        """``[..., H * P]`` -> ``[..., H, P]``: the wrapped head's parameters of each step."""
        return params.unflatten(-1, (self.chunk, self.inner.param_dim))

    def target_shape(self, params: torch.Tensor) -> tuple[int, ...]:
        return (*params.shape[:-1], self.chunk, self.act_dim)

    def loss(
        self, params: torch.Tensor, target: torch.Tensor, through: str | None = None
    ) -> torch.Tensor:
        """Per sample, scaled so that the batch mean is the mean over every valid step."""
        valid = ~torch.isnan(target).any(dim=-1)  # [..., H]: steps inside the episode
        safe = torch.where(valid.unsqueeze(-1), target, torch.zeros_like(target))
        per_step = self.inner.loss(self.steps(params), safe, through) * valid
        samples = valid[..., 0].numel()
        return per_step.sum(dim=-1) * (samples / valid.sum().clamp(min=1))

    def mode(self, params: torch.Tensor) -> torch.Tensor:
        return self.inner.mode(self.steps(params))

    def sample(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return self.inner.sample(self.steps(params), generator)

    def distribution_params(self, params: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.inner.distribution_params(self.steps(params))


__all__ = ["ChunkHead", "RegressionHead"]
