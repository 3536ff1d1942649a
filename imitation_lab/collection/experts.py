"""Built-in scripted experts: plain Python controllers, no weights, vectorized over a batch.

They let the embedded default datasets be built offline on any machine:

* ``PendulumSwingUpExpert`` for ``Pendulum-v1`` — energy-shaping swing-up, then a PD
  controller that balances the pendulum upright (torque in [-2, 2]).
* ``CartPoleExpert`` for ``CartPole-v1`` — a linear state-feedback rule that keeps the pole up
  for the full 500 steps.
* ``PointMazeExpert`` for ``PointMaze_UMaze-v3`` (Dict, goal-conditioned) — waypoint planner +
  PD controller, as D4RL made its maze data (``collection.maze_expert``).
* ``ForkMazeExpert`` for a PointMaze with one obstacle between start and goal — goes round it
  on the left or the right at random per episode (two ways through the same states).
* ``MixedQuality`` around the pendulum expert — each episode expert, noisy (medium) or random,
  for a mixed-quality dataset (filtered BC: ``dataset.top_fraction``).
* ``MemoryExpert`` for MiniGrid's memory task with a fixed fork (``envs.memory``) — looks at
  the cue, walks the hallway with the cue out of sight, then goes to the matching object
  (``collection.memory_expert``).
* ``MiniGridExpert`` for ``MiniGrid-Empty-Random-6x6-v0`` (Dict with an image, a direction
  and a text mission; discrete) — shortest path on the true grid (``collection.minigrid_expert``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from gymnasium.envs.registration import WrapperSpec

from imitation_lab.collection.maze_expert import FORK_MAZE, fork_maze_expert, umaze_expert
from imitation_lab.collection.memory_expert import MemoryExpert
from imitation_lab.collection.minigrid_expert import SUCCESS_WRAPPER, MiniGridExpert
from imitation_lab.envs.memory import ENV_ID as MEMORY_ENV_ID

ExpertFn = Callable[[np.ndarray], np.ndarray]


class PendulumSwingUpExpert:
    """Swing-up by energy pumping, balance by PD control near the top.

    Pendulum-v1 dynamics (g=10, m=l=1): ``theta_dd = 15 sin(theta) + 3 u``. The energy
    ``E = 0.5 theta_d^2 + 15 cos(theta)`` is 15 upright at rest; pumping ``u ~ theta_d``
    raises it, PD ``u = -(k_p theta + k_d theta_d)`` holds the top.
    """

    max_torque = 2.0

    def __init__(self, k_p: float = 10.0, k_d: float = 2.0, k_e: float = 0.5) -> None:
        self.k_p, self.k_d, self.k_e = k_p, k_d, k_e

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64)
        single = obs.ndim == 1
        obs = np.atleast_2d(obs)
        cos_t, sin_t, theta_d = obs[:, 0], obs[:, 1], obs[:, 2]
        theta = np.arctan2(sin_t, cos_t)
        energy = 0.5 * theta_d**2 + 15.0 * cos_t
        pump = self.k_e * (15.0 - energy) * np.sign(theta_d + 1e-8)
        balance = -(self.k_p * theta + self.k_d * theta_d)
        near_top = (cos_t > 0.85) & (np.abs(theta_d) < 4.0)
        torque = np.clip(np.where(near_top, balance, pump), -self.max_torque, self.max_torque)
        act = torque.astype(np.float32)[:, None]
        return act[0] if single else act


class CartPoleExpert:
    """Push right when a weighted sum of angle, angular velocity and cart state is positive."""

    def __init__(self, weights: tuple[float, float, float, float] = (0.1, 0.5, 10.0, 2.0)) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64)
        act = (obs @ self.weights > 0).astype(np.int64)
        return act


class MixedQuality:
    """Each episode of each env acts as one of three qualities, drawn at the episode's start
    (``rollout`` calls ``reset``) from a seeded generator: ``expert`` (the expert), ``medium``
    (the expert's action plus Gaussian noise of ``noise_std`` x the torque range, clipped) or
    ``random`` (uniform actions), with probabilities ``weights``."""

    QUALITIES = ("expert", "medium", "random")

    def __init__(
        self,
        expert: ExpertFn,
        low: float,
        high: float,
        weights: tuple[float, float, float] = (1 / 3, 1 / 3, 1 / 3),
        noise_std: float = 0.5,
        seed: int = 0,
    ) -> None:
        self.expert, self.low, self.high = expert, float(low), float(high)
        self.weights = np.asarray(weights, dtype=np.float64) / np.sum(weights)
        self.noise_std = float(noise_std) * (self.high - self.low)
        self.rng = np.random.default_rng(seed)
        self.quality: np.ndarray = np.zeros(0, dtype=np.int64)

    def reset(self, mask: np.ndarray | None) -> None:
        """New episodes in the envs of ``mask`` (all, with None): draw their qualities."""
        if mask is None:
            return  # sized at the first call
        for i in np.flatnonzero(mask):
            self.quality[i] = self.rng.choice(3, p=self.weights)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        act = np.asarray(self.expert(obs), dtype=np.float32)
        n = len(act)
        if len(self.quality) != n:
            self.quality = self.rng.choice(3, size=n, p=self.weights)
        noise = self.rng.normal(0.0, self.noise_std, size=act.shape).astype(np.float32)
        uniform = self.rng.uniform(self.low, self.high, size=act.shape).astype(np.float32)
        medium = np.clip(act + noise, self.low, self.high)
        pick = self.quality.reshape(-1, *([1] * (act.ndim - 1)))
        return np.where(pick == 0, act, np.where(pick == 1, medium, uniform)).astype(np.float32)


def pendulum_mixed() -> MixedQuality:
    """The pendulum expert's episodes mixed with noisy and random ones (1/3 each)."""
    return MixedQuality(PendulumSwingUpExpert(), -2.0, 2.0, seed=0)


@dataclass(frozen=True)
class ScriptedExpert:
    """A scripted expert: the env it acts in, how to make it, and its algorithm name."""

    env_id: str
    make: Callable[[], ExpertFn]
    algorithm_name: str
    #: wrappers recorded in the dataset's env specs (e.g. a success signal for evaluation)
    env_wrappers: tuple[WrapperSpec, ...] = ()
    #: ``gymnasium.make`` keywords (recorded in the dataset's env spec: its eval env too)
    env_kwargs: dict = field(default_factory=dict)
    #: the policy whose return is ``ref_max_score`` (None: ``make()`` itself)
    reference: Callable[[], ExpertFn] | None = None


#: The one registry of scripted experts (``collect source.name=<key>``, built-in datasets).
SCRIPTED_EXPERTS: dict[str, ScriptedExpert] = {
    "pendulum": ScriptedExpert("Pendulum-v1", PendulumSwingUpExpert, "scripted-energy-swingup-pd"),
    "pendulum_mixed": ScriptedExpert(
        "Pendulum-v1",
        pendulum_mixed,
        "scripted-energy-swingup-pd-mixed-quality",
        reference=PendulumSwingUpExpert,
    ),
    "cartpole": ScriptedExpert("CartPole-v1", CartPoleExpert, "scripted-linear-feedback"),
    "pointmaze_umaze": ScriptedExpert(
        "PointMaze_UMaze-v3", umaze_expert, "scripted-waypoint-planner-pd"
    ),
    "pointmaze_fork": ScriptedExpert(
        "PointMaze_Open-v3",
        fork_maze_expert,
        "scripted-fork-waypoint-pd",
        env_kwargs={"maze_map": FORK_MAZE, "continuing_task": False},
    ),
    "minigrid_memory": ScriptedExpert(
        MEMORY_ENV_ID,
        MemoryExpert,
        "scripted-look-at-cue-then-match",
        env_wrappers=(SUCCESS_WRAPPER,),
    ),
    "minigrid_empty_random": ScriptedExpert(
        "MiniGrid-Empty-Random-6x6-v0",
        MiniGridExpert,
        "scripted-shortest-path",
        env_wrappers=(SUCCESS_WRAPPER,),
    ),
}
