from __future__ import annotations

import pytest
import torch

from imitation_lab.training.schedulers import WarmupCosine, no_scheduler, step, warmup_cosine


def _optim(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_warmup_then_cosine_values() -> None:
    fn = WarmupCosine(total_steps=12, warmup_steps=2, min_lr_ratio=0.1)
    assert fn(0) == pytest.approx(0.5)
    assert fn(1) == pytest.approx(1.0)
    assert fn(2) == pytest.approx(1.0)  # cosine starts at the top
    assert fn(7) == pytest.approx(0.1 + 0.9 * 0.5)  # halfway through the 10 decay steps
    assert fn(12) == pytest.approx(0.1)
    assert fn(100) == pytest.approx(0.1)


def test_cosine_scheduler_drives_the_lr() -> None:
    optim = _optim(2.0)
    scheduler = warmup_cosine(optim, total_steps=4, warmup_steps=0, min_lr_ratio=0.0)
    lrs = []
    for _ in range(4):
        optim.step()
        scheduler.step()
        lrs.append(optim.param_groups[0]["lr"])
    assert lrs == pytest.approx([2.0 * 0.5 * (1 + c) for c in (2**-0.5, 0.0, -(2**-0.5), -1.0)])


def test_step_and_none() -> None:
    optim = _optim(1.0)
    scheduler = step(optim, total_steps=10, step_size=2, gamma=0.5)
    for _ in range(4):
        optim.step()
        scheduler.step()
    assert optim.param_groups[0]["lr"] == pytest.approx(0.25)
    assert no_scheduler(optim, total_steps=10) is None
