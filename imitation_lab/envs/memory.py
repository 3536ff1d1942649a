"""A memory task with a plain answer: MiniGrid's ``MemoryEnv`` with the fork's objects in a
fixed order (``memory_env.FixedForkMemoryEnv``, registered here as ``ENV_ID``).

In MiniGrid's own memory env the two objects at the hallway's end swap at random, so the right
turn is the XOR of the cue and what the agent sees at the fork: no single feature predicts it,
and behaviour cloning sits on that XOR's plateau (measured: GRU, transformer and MLP all at
chance after thousands of steps, while the cue alone is learned in a few hundred). Here the key
is always above and the ball below, as in a T-maze (Bakker, 2002): the cue seen in the start room
alone says which way to turn, and it is out of sight when the turn comes.
"""

from __future__ import annotations

import gymnasium as gym

ENV_ID = "ImitationLab/MiniGrid-MemoryS13-FixedFork-v0"


def register() -> None:
    """Register ``ENV_ID`` with Gymnasium (once; the class is imported when an env is made)."""
    if ENV_ID not in gym.registry:
        gym.register(
            ENV_ID,
            entry_point="imitation_lab.envs.memory_env:FixedForkMemoryEnv",
            kwargs={"size": 13},
        )


register()

__all__ = ["ENV_ID", "register"]
