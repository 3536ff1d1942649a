"""What every action head does: size the actor's output, score a target, give an action."""

from __future__ import annotations

from enum import Enum

import torch
from torch import nn

#: bound methods a head's actions already respect or that it trains through itself
ANY_BOUND = ("clip", "tanh", None)


class ActionHead(nn.Module):
    """Base of the heads. Shapes have leading dims ``[..., ]``: ``[B]`` for one policy,
    ``[K, B]`` for K stacked members.

    * ``param_dim``: how many outputs the actor must have (its ``act_dim`` with a head);
    * ``loss(params, target, through)``: the loss of each sample ``[...]`` (the caller takes
      the mean over the batch); ``through`` is the bound the loss is taken through
      (``bounding=tanh_squash``) or None;
    * ``mode(params)`` / ``sample(params, generator)``: raw actions ``[..., act_dim]`` (before
      ``map_action`` bounds and scales them, as for ``head=mse``).
    """

    #: the option's name (``head=<name>``)
    name = "head"
    #: can K members of this head train as one stacked model (its parameters in the actor)?
    stackable = True
    #: bound methods that make sense with this head (others are refused at start)
    bounds: tuple[str | None, ...] = ANY_BOUND
    #: why the others do not (the refusal's one line)
    bounds_reason = ""

    def __init__(self, act_dim: int, act: str | Enum = "mode") -> None:
        super().__init__()
        self.act_dim = int(act_dim)
        self.act_mode = str(getattr(act, "value", act))
        if self.act_mode not in ("mode", "sample"):
            raise ValueError(f"head.act must be mode or sample, got {self.act_mode!r}")

    @property
    def param_dim(self) -> int:
        raise NotImplementedError

    def loss(
        self, params: torch.Tensor, target: torch.Tensor, through: str | None = None
    ) -> torch.Tensor:
        raise NotImplementedError

    def mode(self, params: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def target_shape(self, params: torch.Tensor) -> tuple[int, ...]:
        """The shape of the targets ``loss`` scores ``params`` against."""
        return (*params.shape[:-1], self.act_dim)

    def act(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """``head.act``: the mode, or a draw from ``generator`` (seeded per evaluation)."""
        return self.mode(params) if self.act_mode == "mode" else self.sample(params, generator)

    def distribution_params(self, params: torch.Tensor) -> dict[str, torch.Tensor]:
        """The distribution's parameters by name (what ``forward`` puts in ``logits``)."""
        return {"params": params}


def randn(shape: torch.Size | tuple[int, ...], like: torch.Tensor, generator) -> torch.Tensor:
    """Standard normal noise of ``shape`` on ``like``'s device and dtype, from ``generator``."""
    noise = torch.randn(shape, generator=generator, device=generator.device if generator else None)
    return noise.to(device=like.device, dtype=like.dtype)
