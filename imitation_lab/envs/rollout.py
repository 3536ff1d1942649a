"""The one rollout loop: evaluation, dataset collection and expert scoring all run episodes here.

A synchronous vector env without autoreset is stepped with a batch-aware policy
(``actions = policy(obs[N, ...])``); when a sub-env finishes, an :class:`EpisodePlan` says which
episode it runs next and with which reset seed (or that it is done). Sub-envs with no episode
left are reset unseeded and keep stepping, but nothing of theirs is recorded, so results never
depend on timing. Two plans cover every caller:

* :class:`SeededEpisodes` -- episode ``k`` is reset with ``seed + k`` and goes to whichever
  sub-env is free: the data does not depend on the number of envs (collection, reference scores);
* :class:`PerEnvQuota` -- sub-env ``i`` runs a fixed number of episodes, the first reset with its
  own seed, the next ones continuing the env's RNG (evaluation: the same episodes as Gymnasium's
  same-step autoreset gives).

A policy with a ``reset(mask)`` method (stateful rl-zoo experts with a time feature) is told
which sub-envs start an episode (``None`` at the first reset); one with a ``bind_env(env)``
method (experts that plan on the true env state, e.g. MiniGrid's) is given the vector env.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

PolicyFn = Callable[[Any], np.ndarray]


class ActionNoise(Protocol):
    """Perturbs a batch of policy actions (the perturbed action is executed and recorded)."""

    def __call__(
        self, actions: np.ndarray, space: gym.Space, rngs: list[np.random.Generator]
    ) -> np.ndarray: ...


@dataclass
class Episode:
    """One episode: rewards and flags always; observations/actions when recorded."""

    index: int
    env_index: int
    rng: np.random.Generator | None = None
    observations: list[Any] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    terminations: list[bool] = field(default_factory=list)
    truncations: list[bool] = field(default_factory=list)
    success: bool | None = None  # any info["success"] of the episode; None if the env has none

    @property
    def length(self) -> int:
        return len(self.rewards)

    @property
    def total_reward(self) -> float:
        return float(sum(self.rewards))


@dataclass(frozen=True)
class EpisodeStart:
    index: int
    seed: int | None


class EpisodePlan(Protocol):
    """Which episode a free sub-env runs next (``None``: it is done)."""

    def next(self, env_index: int) -> EpisodeStart | None: ...

    def finished(self, episode: Episode) -> None: ...


class SeededEpisodes:
    """Episodes ``0..episodes-1`` (or until ``steps`` transitions); episode ``k`` seeded ``seed+k``.

    Each goes to whichever sub-env is free."""

    def __init__(self, seed: int, episodes: int | None = None, steps: int | None = None) -> None:
        if (episodes is None) == (steps is None):
            raise ValueError("Give exactly one of episodes or steps.")
        self.seed, self.episodes, self.steps = seed, episodes, steps
        self._next, self._finished_steps = 0, 0

    def next(self, env_index: int) -> EpisodeStart | None:
        more = (
            self._next < self.episodes
            if self.episodes is not None
            else self._finished_steps < (self.steps or 0)
        )
        if not more:
            return None
        start = EpisodeStart(self._next, self.seed + self._next)
        self._next += 1
        return start

    def finished(self, episode: Episode) -> None:
        self._finished_steps += episode.length


class PerEnvQuota:
    """Sub-env ``i`` runs ``quota[i]`` episodes; its first reset uses ``seeds[i]``.

    Episode indices are env-major (all of env 0's episodes, then env 1's, ...).
    """

    def __init__(self, quota: Sequence[int], seeds: Sequence[int]) -> None:
        self.quota = [int(q) for q in quota]
        self.seeds = list(seeds)
        self._started = [0] * len(self.quota)
        self._offset = np.concatenate([[0], np.cumsum(self.quota)[:-1]]).astype(int).tolist()

    def next(self, env_index: int) -> EpisodeStart | None:
        started = self._started[env_index]
        if started >= self.quota[env_index]:
            return None
        self._started[env_index] += 1
        seed = self.seeds[env_index] if started == 0 else None
        return EpisodeStart(self._offset[env_index] + started, seed)

    def finished(self, episode: Episode) -> None:
        pass


def split_quota(episodes: int, num_envs: int) -> list[int]:
    """``episodes`` spread over ``num_envs`` envs, the first ones getting one more."""
    return [episodes // num_envs + (i < episodes % num_envs) for i in range(num_envs)]


def make_vector_env(make_env: Callable[[], gym.Env], num_envs: int) -> gym.vector.VectorEnv:
    """``num_envs`` copies of an env in a sync vector env without autoreset (rollout resets)."""
    return gym.vector.SyncVectorEnv(
        [make_env for _ in range(num_envs)],
        autoreset_mode=gym.vector.AutoresetMode.DISABLED,
    )


def _is_text_batch(tree: Any) -> bool:
    """A batched Text part: a vector env gives a tuple of one string per sub-env."""
    return isinstance(tree, tuple) and bool(tree) and all(isinstance(v, str) for v in tree)


def row(tree: Any, i: int) -> Any:
    """Row ``i`` of a batched observation (arrays, or dicts/tuples of them, text), copied."""
    if isinstance(tree, dict):
        return {key: row(value, i) for key, value in tree.items()}
    if _is_text_batch(tree):
        return tree[i]
    if isinstance(tree, tuple):
        return tuple(row(value, i) for value in tree)
    return np.array(tree[i])


def _with_row(tree: Any, i: int, value: Any) -> Any:
    """``tree`` with row ``i`` replaced by ``value`` (arrays in place; text tuples rebuilt)."""
    if isinstance(tree, dict):
        for key in tree:
            tree[key] = _with_row(tree[key], i, value[key])
        return tree
    if _is_text_batch(tree):
        return (*tree[:i], value, *tree[i + 1 :])
    if isinstance(tree, tuple):
        return tuple(_with_row(part, i, v) for part, v in zip(tree, value, strict=True))
    tree[i] = value
    return tree


def _successes(info: dict[str, Any], num_envs: int) -> np.ndarray | None:
    """``info["success"]`` per sub-env (False where a sub-env did not report it), or None."""
    if "success" not in info:
        return None
    values = np.asarray(info["success"]).reshape(num_envs).astype(bool)
    mask = np.asarray(info.get("_success", np.ones(num_envs, dtype=bool))).reshape(num_envs)
    return values & mask


def rollout(
    env: gym.vector.VectorEnv,
    policy: PolicyFn,
    plan: EpisodePlan,
    *,
    record: bool = False,
    noise: ActionNoise | None = None,
    noise_seed: int = 0,
) -> list[Episode]:
    """Run ``plan``'s episodes in ``env`` (no autoreset); returns them ordered by index.

    With ``noise``, episode ``k`` draws its perturbations from ``default_rng([noise_seed, k])``.
    """
    num_envs = env.num_envs
    space = env.single_action_space
    finished: dict[int, Episode] = {}
    if hasattr(policy, "bind_env"):
        policy.bind_env(env)  # type: ignore[attr-defined]

    def start(mask: np.ndarray, first: bool = False) -> tuple[Any, list[Episode | None]]:
        slots: list[Episode | None] = [None] * num_envs
        seeds: list[int | None] = [None] * num_envs
        for i in np.flatnonzero(mask):
            begin = plan.next(int(i))
            if begin is not None:
                rng = np.random.default_rng([noise_seed, begin.index]) if noise else None
                slots[i] = Episode(begin.index, int(i), rng)
                seeds[i] = begin.seed
        # Idle sub-envs are reset too (unseeded, never recorded): a finished sub-env of a
        # vector env without autoreset must not be stepped again.
        obs, _ = env.reset(seed=seeds, options={"reset_mask": mask})
        if hasattr(policy, "reset"):
            policy.reset(None if first else mask)  # type: ignore[attr-defined]
        return obs, slots

    obs, running = start(np.ones(num_envs, dtype=bool), first=True)
    while any(ep is not None for ep in running):
        actions = np.asarray(policy(obs))
        if noise is not None:
            rngs = [ep.rng if ep and ep.rng else np.random.default_rng() for ep in running]
            actions = noise(actions, space, rngs)
        next_obs, reward, terminated, truncated, info = env.step(actions)
        success = _successes(info, num_envs)
        done = np.asarray(terminated) | np.asarray(truncated)  # idle sub-envs included
        for i, ep in enumerate(running):
            if ep is None:
                continue
            if record:
                ep.observations.append(row(obs, i))
                ep.actions.append(np.array(actions[i]))
            ep.rewards.append(float(reward[i]))
            ep.terminations.append(bool(terminated[i]))
            ep.truncations.append(bool(truncated[i]))
            if success is not None:
                ep.success = bool(ep.success) or bool(success[i])
            if done[i]:
                if record:
                    ep.observations.append(row(next_obs, i))
                finished[ep.index] = ep
                plan.finished(ep)
                running[i] = None
        obs = next_obs
        if done.any():
            reset_obs, new = start(done)
            for i in np.flatnonzero(done):
                if new[i] is not None:
                    obs = _with_row(obs, int(i), row(reset_obs, int(i)))
                    running[i] = new[i]
    return [finished[k] for k in sorted(finished)]
