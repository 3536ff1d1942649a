"""MiniGrid's scripted expert: the shortest path (turns and steps) to the goal square.

It plans on the env's true state (the grid, the agent's position and direction), which the
observation (a 7x7 egocentric view) does not show; the rollout hands it the vector env through
``bind_env``. Breadth-first search over (x, y, direction) with the actions ``left`` (0),
``right`` (1) and ``forward`` (2); walls, lava and closed doors block. Ties are broken in
the order forward, left, right, so the data is deterministic.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

LEFT, RIGHT, FORWARD = 0, 1, 2
_MOVES = ((1, 0), (0, 1), (-1, 0), (0, -1))  # minigrid's DIR_TO_VEC: right, down, left, up


def register_minigrid_envs() -> None:
    """Importing minigrid registers its ``MiniGrid-*`` envs with Gymnasium."""
    import minigrid  # noqa: F401


def _passable(grid: Any, x: int, y: int) -> bool:
    cell = grid.get(x, y)
    return cell is None or (cell.can_overlap() and cell.type != "lava")


def shortest_path_action(env: Any) -> int:
    """The first action of a shortest path from the agent's state to the goal square."""
    grid = env.grid
    goal = next(
        (x, y)
        for x in range(grid.width)
        for y in range(grid.height)
        if (cell := grid.get(x, y)) is not None and cell.type == "goal"
    )
    start = (int(env.agent_pos[0]), int(env.agent_pos[1]), int(env.agent_dir))
    first: dict[tuple[int, int, int], int] = {start: -1}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        x, y, d = state
        if (x, y) == goal:
            return first[state] if first[state] >= 0 else FORWARD
        dx, dy = _MOVES[d]
        successors = [
            (FORWARD, (x + dx, y + dy, d)),
            (LEFT, (x, y, (d - 1) % 4)),
            (RIGHT, (x, y, (d + 1) % 4)),
        ]
        for action, nxt in successors:
            if nxt in first:
                continue
            if action == FORWARD and not _passable(grid, nxt[0], nxt[1]):
                continue
            first[nxt] = action if first[state] < 0 else first[state]
            queue.append(nxt)
    return FORWARD  # goal unreachable (never in the built-in envs)


class MiniGridExpert:
    """Batched shortest-path actions for the sub-envs of a bound vector env."""

    def __init__(self) -> None:
        register_minigrid_envs()
        self.env: gym.vector.VectorEnv | None = None

    def bind_env(self, env: gym.vector.VectorEnv) -> None:
        self.env = env

    def __call__(self, obs: Any) -> np.ndarray:
        if self.env is None or not hasattr(self.env, "envs"):
            raise RuntimeError("MiniGridExpert plans on the env state: bind a SyncVectorEnv.")
        return np.array(
            [shortest_path_action(sub.unwrapped) for sub in self.env.envs], dtype=np.int64
        )


class GoalSuccessInfo(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """``info["success"]``: the episode ended on the goal square (terminated with a reward).

    MiniGrid reports no success; its reward is positive only on reaching the goal. The
    built-in MiniGrid dataset records this wrapper in its env specs, so the recovered eval env
    reports ``eval/success_rate``.
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["success"] = bool(terminated and reward > 0)
        return obs, reward, terminated, truncated, info


#: what the built-in MiniGrid dataset's env specs record (``EnvSpec.additional_wrappers``)
SUCCESS_WRAPPER = gym.envs.registration.WrapperSpec(
    name="GoalSuccessInfo",
    entry_point="imitation_lab.collection.minigrid_expert:GoalSuccessInfo",
    kwargs={},
)
