"""A scripted expert for MiniGrid's memory task (``MiniGrid-MemoryS13-v0``): look at the cue,
then walk the hallway with the cue out of sight, then go to the matching object.

The cue (a key or a ball) lies in the start room at ``(1, mid - 1)``; the hallway runs east
along row ``mid`` to ``x = hallway_end + 1``, where a key and a ball lie above and below. The
expert first walks west to ``x = 2`` facing west (the cue in view), turns round, walks east to
the hallway's end (the cue behind it for ``hallway_end - 1`` steps) and steps onto the square
next to the matching object (``env.success_pos``, which it reads from the true state, as the
other scripted experts do). At the fork the observation shows both objects but not the cue: a
policy that does not remember it is right half of the time.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from imitation_lab.collection.minigrid_expert import FORWARD, LEFT, RIGHT, register_minigrid_envs

EAST, SOUTH, WEST, NORTH = 0, 1, 2, 3
LOOK_AT = 2  # the x where the expert looks at the cue (facing west)


def _turn_towards(direction: int, wanted: int) -> int:
    """The turn that brings ``direction`` to ``wanted`` soonest (right on a tie)."""
    return LEFT if (direction - wanted) % 4 == 1 else RIGHT


def memory_action(env: Any, looked: bool) -> tuple[int, bool]:
    """``(action, looked)`` for the unwrapped MemoryEnv ``env``."""
    x, y = int(env.agent_pos[0]), int(env.agent_pos[1])
    direction = int(env.agent_dir)
    if not looked:
        if x <= LOOK_AT and direction == WEST:
            looked = True  # the cue is in view
        elif direction != WEST:
            return _turn_towards(direction, WEST), looked
        else:
            return FORWARD, looked
    goal_x, goal_y = (int(v) for v in env.success_pos)
    if x < goal_x:
        return (FORWARD if direction == EAST else _turn_towards(direction, EAST)), looked
    wanted = NORTH if goal_y < y else SOUTH
    return (FORWARD if direction == wanted else _turn_towards(direction, wanted)), looked


class MemoryExpert:
    """Batched expert actions for the sub-envs of a bound ``SyncVectorEnv``."""

    def __init__(self) -> None:
        register_minigrid_envs()
        self.env: gym.vector.VectorEnv | None = None
        self.looked: np.ndarray = np.zeros(0, dtype=bool)

    def bind_env(self, env: gym.vector.VectorEnv) -> None:
        self.env = env
        self.looked = np.zeros(env.num_envs, dtype=bool)

    def reset(self, mask: np.ndarray | None) -> None:
        """New episodes in the envs of ``mask`` (all with None): look at their cue first."""
        if mask is None:
            self.looked[:] = False
        else:
            self.looked[np.asarray(mask, dtype=bool)] = False

    def __call__(self, obs: Any) -> np.ndarray:
        if self.env is None or not hasattr(self.env, "envs"):
            raise RuntimeError("MemoryExpert plans on the env state: bind a SyncVectorEnv.")
        actions = []
        for i, sub in enumerate(self.env.envs):
            action, self.looked[i] = memory_action(sub.unwrapped, bool(self.looked[i]))
            actions.append(action)
        return np.array(actions, dtype=np.int64)


__all__ = ["MemoryExpert", "memory_action"]
