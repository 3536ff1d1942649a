"""PointMaze's scripted expert: a waypoint planner on the maze grid plus a PD controller.

D4RL made its maze datasets this way (``d4rl/pointmaze/waypoint_controller.py``): plan the
shortest path of maze cells to the goal's cell, steer to the next cell's centre with
``a = k_p (waypoint - pos) - k_d vel`` (D4RL: ``k_p = 10``, ``k_d = 1``), and inside the goal's
cell steer to the goal itself. It reads only the observation (``observation`` = x, y, vx, vy and
``desired_goal``) and the maze map, so it runs batched over a vector env.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

Cell = tuple[int, int]


def register_robotics_envs() -> None:
    """Register gymnasium-robotics' envs (PointMaze_*, AntMaze_*) with Gymnasium."""
    import gymnasium as gym
    import gymnasium_robotics

    gym.register_envs(gymnasium_robotics)


class MazePlanner:
    """Next cell towards a goal cell on a maze map (1 = wall), by breadth-first search."""

    def __init__(self, maze_map: Sequence[Sequence[Any]], scaling: float = 1.0) -> None:
        self.free = [[cell != 1 for cell in row] for row in maze_map]
        self.rows, self.cols = len(self.free), len(self.free[0])
        self.scaling = scaling
        self.x_center = self.cols / 2 * scaling
        self.y_center = self.rows / 2 * scaling
        self._next: dict[Cell, dict[Cell, Cell]] = {}

    def cell_of(self, xy: np.ndarray) -> Cell:
        i = int(np.floor((self.y_center - xy[1]) / self.scaling))
        j = int(np.floor((xy[0] + self.x_center) / self.scaling))
        return min(max(i, 0), self.rows - 1), min(max(j, 0), self.cols - 1)

    def center_of(self, cell: Cell) -> np.ndarray:
        i, j = cell
        return np.array(
            [(j + 0.5) * self.scaling - self.x_center, self.y_center - (i + 0.5) * self.scaling]
        )

    def next_cell(self, start: Cell, goal: Cell) -> Cell:
        """The neighbour of ``start`` on a shortest path to ``goal`` (``start`` if none)."""
        if goal not in self._next:
            self._next[goal] = self._towards(goal)
        return self._next[goal].get(start, start)

    def _towards(self, goal: Cell) -> dict[Cell, Cell]:
        """BFS from ``goal``: for every reachable cell, its neighbour one step closer."""
        step: dict[Cell, Cell] = {goal: goal}
        queue = deque([goal])
        while queue:
            cell = queue.popleft()
            for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):  # fixed order: deterministic
                i, j = cell[0] + di, cell[1] + dj
                inside = 0 <= i < self.rows and 0 <= j < self.cols
                if inside and self.free[i][j] and (i, j) not in step:
                    step[(i, j)] = cell
                    queue.append((i, j))
        return step


class PointMazeExpert:
    """Waypoint + PD controller for ``PointMaze_*`` envs (batched over dict observations)."""

    def __init__(
        self, maze_map: Sequence[Sequence[Any]], k_p: float = 10.0, k_d: float = 1.0
    ) -> None:
        self.planner = MazePlanner(maze_map)
        self.k_p, self.k_d = k_p, k_d

    def waypoint(self, pos: np.ndarray, goal: np.ndarray) -> np.ndarray:
        here, target = self.planner.cell_of(pos), self.planner.cell_of(goal)
        if here == target:
            return goal
        return self.planner.center_of(self.planner.next_cell(here, target))

    def __call__(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        state = np.atleast_2d(np.asarray(obs["observation"], dtype=np.float64))
        goal = np.atleast_2d(np.asarray(obs["desired_goal"], dtype=np.float64))
        pos, vel = state[:, :2], state[:, 2:4]
        targets = np.stack([self.waypoint(p, g) for p, g in zip(pos, goal, strict=True)])
        action = np.clip(self.k_p * (targets - pos) - self.k_d * vel, -1.0, 1.0)
        return action.astype(np.float32)


def umaze_expert() -> PointMazeExpert:
    """The expert for ``PointMaze_UMaze-v3`` (gymnasium-robotics' ``U_MAZE``)."""
    register_robotics_envs()
    from gymnasium_robotics.envs.maze.maps import U_MAZE

    return PointMazeExpert(U_MAZE)
