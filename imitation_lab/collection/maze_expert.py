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


#: A maze with one obstacle between the start (bottom pocket, "r") and the goal (top, "g"):
#: the way round is left or right, mirror images of each other.
FORK_MAZE = [
    [1, 1, 1, 1, 1, 1, 1],
    [1, 0, 0, "g", 0, 0, 1],
    [1, 0, 1, 1, 1, 0, 1],
    [1, 0, 0, 0, 0, 0, 1],
    [1, 1, 1, "r", 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 1],
]


class ForkMazeExpert:
    """Goes round ``FORK_MAZE``'s obstacle on the left or on the right, at random per episode.

    The side is the sign of the goal's offset inside its cell (PointMaze draws it uniformly
    at reset): a fair coin the learner cannot see when ``desired_goal`` is not fed
    (``dataset=maze_fork`` feeds ``observation`` only). Both routes go straight up out of the
    start pocket and come to a stop at the fork's centre (speed below ``stop_speed``); only
    then does the expert leave, to its side. At that standstill the state is the same for both
    ways (measured before this stop was added: an expert that turned at speed left a slight
    velocity that told an MSE policy which way to go, and MSE succeeded on every episode). An
    MSE policy averages the two departures into none.
    """

    fork: Cell = (3, 3)

    def __init__(
        self,
        k_p: float = 10.0,
        k_d: float = 1.0,
        stop_speed: float = 0.05,
        stop_radius: float = 0.1,
    ) -> None:
        self.stop_speed, self.stop_radius = stop_speed, stop_radius
        self.planner = MazePlanner(FORK_MAZE)
        blocked = {"left": (3, 4), "right": (3, 2)}  # the other side's first cell
        self.routes = {
            side: MazePlanner(_with_wall(FORK_MAZE, cell)) for side, cell in blocked.items()
        }
        self.k_p, self.k_d = k_p, k_d

    def side(self, goal: np.ndarray) -> str:
        center = self.planner.center_of(self.planner.cell_of(goal))
        return "left" if goal[0] < center[0] else "right"

    def __call__(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        state = np.atleast_2d(np.asarray(obs["observation"], dtype=np.float64))
        goal = np.atleast_2d(np.asarray(obs["desired_goal"], dtype=np.float64))
        pos, vel = state[:, :2], state[:, 2:4]
        targets = [self.waypoint(p, v, g) for p, v, g in zip(pos, vel, goal, strict=True)]
        action = np.clip(self.k_p * (np.stack(targets) - pos) - self.k_d * vel, -1.0, 1.0)
        return action.astype(np.float32)

    def waypoint(self, pos: np.ndarray, vel: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Where to steer: the next cell of this episode's side, but in the fork's cell its
        centre until the point stands still there (then the side's next cell)."""
        side = self.side(goal)
        planner = self.routes[side]
        here, target = planner.cell_of(pos), planner.cell_of(goal)
        if here == target:
            return goal
        waypoint = planner.center_of(planner.next_cell(here, target))
        if here == self.fork:
            center = planner.center_of(self.fork)
            leaving = vel[0] * (-1 if side == "left" else 1) > max(0.1, abs(vel[1]))
            stopped = np.hypot(*vel) < self.stop_speed
            if not leaving and not (stopped and np.hypot(*(pos - center)) < self.stop_radius):
                return center
        return waypoint


def _with_wall(maze_map: Sequence[Sequence[Any]], cell: Cell) -> list[list[Any]]:
    rows = [list(row) for row in maze_map]
    rows[cell[0]][cell[1]] = 1
    return rows


def fork_maze_expert() -> ForkMazeExpert:
    """The expert of the built-in ``imitation-lab/pointmaze/fork-v0`` (two ways round)."""
    register_robotics_envs()
    return ForkMazeExpert()
