"""An exponential moving average of the weights (``trainer.ema_decay``), as robomimic, LeRobot
and Diffusion Policy keep one: evaluation and checkpoints act with the average, training steps
the live weights.

After ``n`` updates the average moves by ``1 - d_n`` towards the live weights, with the decay
warmed up as ``d_n = min(decay, (1 + n) / (10 + n))`` (diffusers' ``EMAModel`` without its
power schedule): early on the average follows the weights instead of staying near their random
initialization.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch


class WeightAverage:
    """The shadow copies of ``live`` tensors (one member's weights, or a stacked buffer)."""

    def __init__(self, live: Sequence[torch.Tensor], decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"trainer.ema_decay must be in (0, 1), got {decay}")
        self.live = list(live)
        self.decay = float(decay)
        self.updates = 0
        with torch.no_grad():
            self.shadow = [t.detach().clone() for t in self.live]

    def rate(self) -> float:
        """The decay of the next update (warmed up)."""
        n = self.updates
        return min(self.decay, (1.0 + n) / (10.0 + n))

    @torch.no_grad()
    def update(self) -> None:
        """One step: ``shadow += (1 - d_n) * (live - shadow)``."""
        weight = 1.0 - self.rate()
        torch._foreach_lerp_(self.shadow, [t.detach() for t in self.live], weight)
        self.updates += 1

    @contextmanager
    def swapped(self) -> Iterator[None]:
        """The live tensors hold the average inside the block (and their own values after)."""
        _swap(self.live, self.shadow)
        try:
            yield
        finally:
            _swap(self.live, self.shadow)

    @torch.no_grad()
    def load(self, shadow: Sequence[torch.Tensor], updates: int) -> None:
        """Restore the average in place (the tensors a learner holds stay the same objects)."""
        for mine, theirs in zip(self.shadow, shadow, strict=True):
            mine.copy_(theirs)
        self.updates = int(updates)


@torch.no_grad()
def _swap(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> None:
    for x, y in zip(a, b, strict=True):
        held = x.detach().clone()
        x.detach().copy_(y)
        y.copy_(held)


__all__ = ["WeightAverage"]
