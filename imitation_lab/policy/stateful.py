"""Acting with a trunk state carried through each env's episode (``actor=rnn``,
``actor=transformer``): Tianshou's ``forward(batch, state)`` protocol driven by ``rollout``,
which calls ``reset(mask)`` at every episode start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: (observations of N envs, their state or None) -> (their actions, the new state)
StepFn = Callable[[Any, Any], tuple[np.ndarray, Any]]
#: (state, bool mask [N]) -> the state with the envs of mask started afresh
ResetFn = Callable[[Any, np.ndarray], Any]


class CarriedState:
    """``__call__(obs) -> actions`` with the state of every env kept between calls."""

    def __init__(self, step: StepFn, reset_state: ResetFn) -> None:
        self.step = step
        self.reset_state = reset_state
        self.state: Any = None

    def reset(self, mask: np.ndarray | None = None) -> None:
        """New episodes in the envs of ``mask`` (every env with None)."""
        self.state = None if mask is None else self.reset_state(self.state, np.asarray(mask))

    def __call__(self, obs: Any) -> np.ndarray:
        actions, self.state = self.step(obs, self.state)
        return actions


__all__ = ["CarriedState"]
