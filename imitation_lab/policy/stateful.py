"""Acting with a trunk state carried through each env's episode (``actor=rnn``,
``actor=transformer``): Tianshou's ``forward(batch, state)`` protocol driven by ``rollout``,
which calls ``reset(mask)`` at every episode start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from imitation_lab.data.batch import Batch
from imitation_lab.policy.imitation import ImitationPolicy

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

    @classmethod
    def of_policy(cls, policy: ImitationPolicy, to_torch: Callable[[Any], Any]) -> CarriedState:
        """``policy`` (a sequence trunk) acting in eval mode, its state kept per env;
        ``to_torch`` turns env observations into the normalized tensors it takes."""
        return cls(policy_step(policy, to_torch), policy.actor.reset_state)


def policy_step(policy: ImitationPolicy, to_torch: Callable[[Any], Any]) -> StepFn:
    """One env step of ``policy``: (observations, state) -> (env actions, new state), in eval
    mode without gradients (the policy's training mode is restored afterwards)."""

    @torch.no_grad()
    def step(obs: Any, state: Any) -> tuple[np.ndarray, Any]:
        was_training = policy.training
        policy.eval()
        try:
            out = policy(Batch(obs=to_torch(obs), info={}), state=state)
        finally:
            policy.train(was_training)
        return np.asarray(policy.map_action(out.act)), out.state

    return step


__all__ = ["CarriedState", "policy_step"]
