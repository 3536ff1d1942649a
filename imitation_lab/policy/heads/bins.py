"""``head=bins``: each action dimension discretized into ``bins`` bins (RT-1's actions).

The actor outputs ``act_dim * bins`` logits; the loss is the cross-entropy of each dimension's
target bin (the nearest of ``bins`` evenly spaced centers over the target range), summed over
dimensions. ``mode`` is the center of each dimension's most likely bin. The range is [-1, 1]
(``bounding=clip``: actions scaled into the Box; the default) or the Box itself
(``bounding=none``); tanh bounds would distort the bin centers and are refused at start.

``sigma`` > 0 trains on HL-Gauss targets (Imani & White, 2018; Farebrother et al., 2024)
instead of the one-hot nearest bin: the mass that a Gaussian of std ``sigma`` bin widths,
centered on the target, puts on each bin (truncated to the range, renormalized). Neighbouring
bins then share the target, so the classifier learns that bins are ordered; 0.75 is the ratio
Farebrother et al. recommend. ``sigma=0`` (the default) is the one-hot cross-entropy.
"""

from __future__ import annotations

from enum import Enum

import torch
import torch.nn.functional as F

from imitation_lab.policy.heads.base import ActionHead


class BinsHead(ActionHead):
    name = "bins"
    needs_range = True  # its bins span the targets' range (given at build)
    bounds = ("clip", None)
    bounds_reason = (
        "its actions are bin centers over the target range already; a tanh would move them: "
        "use bounding=clip (or none)"
    )

    def __init__(
        self,
        act_dim: int,
        act: str | Enum = "mode",
        bins: int = 256,
        sigma: float = 0.0,
        low: torch.Tensor | float = -1.0,
        high: torch.Tensor | float = 1.0,
    ) -> None:
        super().__init__(act_dim, act)
        if bins < 2:
            raise ValueError("head.bins must be >= 2")
        if sigma < 0:
            raise ValueError(f"head.sigma must be >= 0 (0: one-hot targets), got {sigma}")
        self.bins = int(bins)
        self.sigma = float(sigma)
        low_t = torch.as_tensor(low, dtype=torch.float32).expand(self.act_dim).clone()
        high_t = torch.as_tensor(high, dtype=torch.float32).expand(self.act_dim).clone()
        if not bool(torch.all(high_t > low_t)):
            raise ValueError("head=bins needs a bounded action range (high > low)")
        self.register_buffer("low", low_t)
        self.register_buffer("high", high_t)

    @property
    def param_dim(self) -> int:
        return self.act_dim * self.bins

    def centers(self) -> torch.Tensor:
        """``[act_dim, bins]`` bin centers."""
        steps = torch.linspace(0, 1, self.bins, device=self.low.device)
        return self.low.unsqueeze(-1) + (self.high - self.low).unsqueeze(-1) * steps

    def index_of(self, target: torch.Tensor) -> torch.Tensor:
        """The nearest bin of each target entry ``[..., act_dim]`` (clamped into the range)."""
        unit = (target - self.low) / (self.high - self.low)
        return (unit.clamp(0, 1) * (self.bins - 1)).round().long()

    def logits(self, params: torch.Tensor) -> torch.Tensor:
        return params.reshape(*params.shape[:-1], self.act_dim, self.bins)

    def loss(
        self, params: torch.Tensor, target: torch.Tensor, through: str | None = None
    ) -> torch.Tensor:
        logits = self.logits(params)
        if self.sigma > 0:
            return -(self.soft_targets(target) * logits.log_softmax(dim=-1)).sum(dim=(-2, -1))
        index = self.index_of(target)
        nll = F.cross_entropy(logits.reshape(-1, self.bins), index.reshape(-1), reduction="none")
        return nll.reshape(index.shape).sum(dim=-1)

    def soft_targets(self, target: torch.Tensor) -> torch.Tensor:
        """HL-Gauss targets ``[..., act_dim, bins]``: each bin's share of a Gaussian of std
        ``sigma`` bin widths around the (range-clamped) target; rows sum to 1."""
        width = (self.high - self.low) / (self.bins - 1)  # [act_dim]
        edges = self.centers() - width.unsqueeze(-1) / 2  # lower edge of each bin
        edges = torch.cat([edges, (self.high + width / 2).unsqueeze(-1)], dim=-1)
        value = torch.maximum(torch.minimum(target, self.high), self.low).unsqueeze(-1)
        cdf = torch.special.ndtr((edges - value) / (self.sigma * width).unsqueeze(-1))
        mass = cdf[..., 1:] - cdf[..., :-1]
        return mass / mass.sum(dim=-1, keepdim=True)

    def _value(self, index: torch.Tensor) -> torch.Tensor:
        centers = self.centers().expand(*index.shape, self.bins)
        return centers.gather(-1, index.unsqueeze(-1)).squeeze(-1)

    def mode(self, params: torch.Tensor) -> torch.Tensor:
        return self._value(self.logits(params).argmax(dim=-1))

    def sample(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        probs = self.logits(params).softmax(dim=-1)
        flat = torch.multinomial(probs.reshape(-1, self.bins).cpu(), 1, generator=generator)
        return self._value(flat.to(params.device).reshape(probs.shape[:-1]))

    def distribution_params(self, params: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.logits(params)}
