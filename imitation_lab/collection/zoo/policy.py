"""``ExpertPolicy``: a loaded checkpoint as a numpy callable on the plain env observation."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imitation_lab.collection.zoo.envs import describe_env


@dataclass(frozen=True)
class TimeFeature:
    max_steps: int
    test_mode: bool = False  # sb3-contrib: constant 1.0 instead of the remaining time


@dataclass(frozen=True)
class VecNormalizeObs:
    mean: np.ndarray
    var: np.ndarray
    epsilon: float
    clip: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        # Same arithmetic as stable_baselines3 VecNormalize.normalize_obs.
        z = np.clip((x - self.mean) / np.sqrt(self.var + self.epsilon), -self.clip, self.clip)
        return z.astype(np.float32)


class ExpertPolicy:
    """A loaded expert: ``action = policy(obs)`` on one observation or a batch ``(N, obs_dim)``.

    ``obs`` is the plain observation of ``make_env()`` (``gymnasium.make(env_id, **env_kwargs)``);
    padding, time feature and observation normalisation are applied inside (see module docs).
    Returns float actions of shape ``action_space.shape`` (or ``(N, *shape)``) for ``Box``
    spaces and integer actions of shape ``()`` (or ``(N,)``) for ``Discrete`` ones.

    Attributes: ``name`` (e.g. ``'tqc_HalfCheetah'``), ``algo``, ``source`` (checkpoint path),
    ``env_id`` (gymnasium id, e.g. ``'HalfCheetah-v5'``), ``env_kwargs``, ``observation_space``
    and ``action_space`` (of that env), ``obs_dim``, ``policy_obs_dim`` (the checkpoint's input
    size), ``deterministic`` and ``stateful`` (True when a time feature is used).
    """

    def __init__(
        self,
        *,
        name: str,
        algo: str,
        source: Path,
        env_id: str,
        env_kwargs: Mapping[str, Any],
        observation_space: Any,
        action_space: Any,
        predict_fn: Callable[[np.ndarray], np.ndarray],
        policy_obs_dim: int,
        pad_to: int | None = None,
        time_feature: TimeFeature | None = None,
        obs_normalizer: VecNormalizeObs | None = None,
        deterministic: bool = True,
    ) -> None:
        self.name = name
        self.algo = algo
        self.source = source
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs)
        self.observation_space = observation_space
        self.action_space = action_space
        self.obs_dim = int(observation_space.shape[0])
        self.policy_obs_dim = int(policy_obs_dim)
        self.deterministic = deterministic
        self._predict_fn = predict_fn
        self._pad_to = pad_to
        self._time_feature = time_feature
        self._obs_normalizer = obs_normalizer
        self._steps: np.ndarray | None = None  # per-row env step counters (stateful only)

    # -- state ---------------------------------------------------------------------------------
    @property
    def stateful(self) -> bool:
        """True if actions depend on the step within the episode (TimeFeatureWrapper)."""
        return self._time_feature is not None

    def reset(self, mask: np.ndarray | Sequence[bool] | Sequence[int] | None = None) -> None:
        """Start new episodes: all of them (``mask=None``) or the rows selected by ``mask``
        (booleans or indices into the batch). A no-op for stateless policies."""
        if mask is None or self._steps is None:
            self._steps = None
            return
        self._steps[np.asarray(mask)] = 0

    # -- inference -----------------------------------------------------------------------------
    def _as_batch(self, obs: Any) -> tuple[np.ndarray, bool]:
        x = np.asarray(obs)
        if x.ndim not in (1, 2) or x.shape[-1] != self.obs_dim:
            raise ValueError(
                f"{self.name}: expected an observation of shape ({self.obs_dim},) or "
                f"(N, {self.obs_dim}) from {describe_env(self.env_id, self.env_kwargs)}, "
                f"got shape {x.shape}"
            )
        single = x.ndim == 1
        return (x[None] if single else x), single

    def _steps_for(self, n: int, elapsed_steps: Any) -> tuple[np.ndarray, bool]:
        if elapsed_steps is not None:
            return np.broadcast_to(np.asarray(elapsed_steps, dtype=np.float64), (n,)), False
        if self._steps is None:
            self._steps = np.zeros(n, dtype=np.int64)
        elif self._steps.shape != (n,):
            raise ValueError(
                f"{self.name}: called with a batch of {n} observations but the step counters "
                f"track {self._steps.shape[0]}; call reset() when the batch size changes"
            )
        return self._steps.astype(np.float64), True

    def _preprocess(self, batch: np.ndarray, steps: np.ndarray | None) -> np.ndarray:
        x = batch.astype(np.float64, copy=False)
        if self._pad_to is not None:
            x = np.concatenate([x, np.zeros((len(x), self._pad_to - x.shape[1]))], axis=1)
        if self._time_feature is not None:
            assert steps is not None
            tf = self._time_feature
            feature = np.ones(len(x)) if tf.test_mode else 1.0 - steps / tf.max_steps
            x = np.concatenate([x, feature[:, None]], axis=1)
        if self._obs_normalizer is not None:
            x = self._obs_normalizer(x)
        return x

    def policy_input(self, obs: Any, elapsed_steps: Any = None) -> np.ndarray:
        """The checkpoint's own input for ``obs`` (padded, time feature, normalised); for
        debugging. Stateful policies need ``elapsed_steps`` here (counters are not used)."""
        batch, single = self._as_batch(obs)
        steps = None
        if self.stateful:
            if elapsed_steps is None:
                raise ValueError(f"{self.name}: policy_input() needs elapsed_steps")
            steps, _ = self._steps_for(len(batch), elapsed_steps)
        x = self._preprocess(batch, steps)
        return x[0] if single else x

    def __call__(self, obs: Any, elapsed_steps: Any = None) -> np.ndarray:
        batch, single = self._as_batch(obs)
        steps, advance = None, False
        if self.stateful:
            steps, advance = self._steps_for(len(batch), elapsed_steps)
        actions = np.asarray(self._predict_fn(self._preprocess(batch, steps)))
        if advance:
            assert self._steps is not None
            self._steps += 1
        return actions[0] if single else actions

    # -- environments --------------------------------------------------------------------------
    def make_env(self, **overrides: Any) -> Any:
        """``gymnasium.make(env_id, **env_kwargs, **overrides)``: the plain env whose
        observations this policy consumes (and a dataset should record)."""
        import gymnasium as gym

        return gym.make(self.env_id, **{**self.env_kwargs, **overrides})

    def make_vec_env(self, num_envs: int, **overrides: Any) -> Any:
        """``gymnasium.make_vec`` of :meth:`make_env`'s env (sync vectorisation by default)."""
        import gymnasium as gym

        vectorization_mode = overrides.pop("vectorization_mode", "sync")
        return gym.make_vec(
            self.env_id,
            num_envs=num_envs,
            vectorization_mode=vectorization_mode,
            **{**self.env_kwargs, **overrides},
        )

    def __repr__(self) -> str:
        extras = []
        if self._pad_to is not None:
            extras.append(f"pad_to={self._pad_to}")
        if self._time_feature is not None:
            extras.append(f"time_feature(max_steps={self._time_feature.max_steps})")
        if self._obs_normalizer is not None:
            extras.append("vecnormalize")
        return (
            f"ExpertPolicy(name={self.name!r}, algo={self.algo!r}, "
            f"env={describe_env(self.env_id, self.env_kwargs)!r}, obs_dim={self.obs_dim}, "
            f"policy_obs_dim={self.policy_obs_dim}" + "".join(f", {e}" for e in extras) + ")"
        )
