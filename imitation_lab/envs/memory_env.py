"""``FixedForkMemoryEnv``: MiniGrid's ``MemoryEnv`` with the key always above and the ball always
below at the hallway's end (``imitation_lab.envs.memory`` registers it)."""

from __future__ import annotations

from minigrid.core.world_object import Ball, Key
from minigrid.envs.memory import MemoryEnv


class FixedForkMemoryEnv(MemoryEnv):
    """``MemoryEnv`` whose hallway ends with the key above and the ball below."""

    def _gen_grid(self, width: int, height: int) -> None:
        super()._gen_grid(width, height)
        x = self.success_pos[0]
        mid = height // 2
        self.grid.set(x, mid - 2, Key("green"))
        self.grid.set(x, mid + 2, Ball("green"))
        up, down = (x, mid - 1), (x, mid + 1)
        cue = self.grid.get(1, mid - 1)
        self.success_pos, self.failure_pos = (up, down) if isinstance(cue, Key) else (down, up)


__all__ = ["FixedForkMemoryEnv"]
