"""Learning-rate scheduler factories, stepped once per gradient step by ``policy.update``."""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, StepLR


def no_scheduler(optimizer: torch.optim.Optimizer, total_steps: int) -> None:
    """A constant learning rate."""
    return None


def step(
    optimizer: torch.optim.Optimizer, total_steps: int, step_size: int, gamma: float
) -> LRScheduler:
    """Multiply the learning rate by ``gamma`` every ``step_size`` gradient steps."""
    return StepLR(optimizer, step_size=step_size, gamma=gamma)


class WarmupCosine:
    """Linear warm-up from 0, then cosine decay to ``min_lr_ratio`` at ``total_steps``."""

    def __init__(self, total_steps: int, warmup_steps: int, min_lr_ratio: float) -> None:
        self.total_steps, self.warmup_steps, self.min_lr_ratio = (
            total_steps,
            warmup_steps,
            min_lr_ratio,
        )

    def __call__(self, step_idx: int) -> float:
        if step_idx < self.warmup_steps:
            return (step_idx + 1) / self.warmup_steps
        decay_steps = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step_idx - self.warmup_steps) / decay_steps)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.min_lr_ratio + (1.0 - self.min_lr_ratio) * cosine


def warmup_cosine(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int, min_lr_ratio: float
) -> LRScheduler:
    """Cosine decay over ``total_steps`` with an optional linear warm-up."""
    return LambdaLR(optimizer, WarmupCosine(total_steps, warmup_steps, min_lr_ratio))
