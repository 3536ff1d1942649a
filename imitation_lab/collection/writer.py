"""Collect a policy's episodes and write them as a Minari dataset with reference scores.

Episode ``k`` is reset with seed ``seed + k`` and draws its action noise from its own generator,
so a dataset does not depend on how many envs ran in parallel, as long as the policy's batched
output equals its per-row output (scripted experts: yes; torch networks differ in the last bits,
which MuJoCo's chaotic dynamics amplify over an episode, so their datasets depend on num_envs).
Policies are batch-aware callables ``actions = policy(obs[N, obs_dim])``; a ``reset(mask)``
method, when present (stateful rl-zoo experts with a time feature), is called for every sub-env
that starts an episode.
"""

from __future__ import annotations

import dataclasses
import math
import string
import warnings
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import minari
import numpy as np
from gymnasium.envs.registration import WrapperSpec
from minari import MinariDataset
from minari.data_collector.episode_buffer import EpisodeBuffer

from imitation_lab.data.obs import is_text, tree_leaves
from imitation_lab.data.staging import staged_write
from imitation_lab.envs.rollout import ActionNoise, Episode, PolicyFn, SeededEpisodes
from imitation_lab.envs.rollout import rollout as run_episodes
from imitation_lab.errors import DatasetError


@dataclass(frozen=True)
class GaussianNoise:
    """``a + N(0, (std * half_range)^2)`` per dimension, clipped to the Box bounds."""

    std: float

    def __call__(
        self, actions: np.ndarray, space: gym.Space, rngs: list[np.random.Generator]
    ) -> np.ndarray:
        if not isinstance(space, gym.spaces.Box):
            raise DatasetError(f"Gaussian action noise needs a Box action space, got {space}.")
        half_range = (space.high - space.low) / 2.0
        noise = np.stack([rng.normal(size=space.shape) for rng in rngs]) * self.std * half_range
        return np.clip(actions + noise, space.low, space.high).astype(space.dtype)


@dataclass(frozen=True)
class EpsilonNoise:
    """With probability ``epsilon`` a uniformly random action replaces the policy's."""

    epsilon: float

    def __call__(
        self, actions: np.ndarray, space: gym.Space, rngs: list[np.random.Generator]
    ) -> np.ndarray:
        out = np.array(actions, copy=True)
        for i, rng in enumerate(rngs):
            if rng.random() < self.epsilon:
                out[i] = _uniform_action(space, rng)
        return out


def _uniform_action(space: gym.Space, rng: np.random.Generator) -> np.ndarray:
    if isinstance(space, gym.spaces.Discrete):
        return np.asarray(space.start + rng.integers(space.n), dtype=space.dtype)
    if isinstance(space, gym.spaces.Box):
        return rng.uniform(space.low, space.high).astype(space.dtype)
    raise DatasetError(f"Random actions need a Box or Discrete action space, got {space}.")


class RandomPolicy:
    """Uniform random actions for a batch (the D4RL ``ref_min_score`` policy)."""

    def __init__(self, action_space: gym.Space, seed: int) -> None:
        self.action_space = action_space
        self.rng = np.random.default_rng(seed)

    def __call__(self, obs: Any) -> np.ndarray:
        num = len(tree_leaves(obs)[0])  # observations may be dicts/tuples of [N, ...] arrays
        return np.stack([_uniform_action(self.action_space, self.rng) for _ in range(num)])


@dataclass
class Rollout:
    """Finished episodes, in episode order (``buffers`` is empty when not recorded)."""

    returns: np.ndarray
    lengths: np.ndarray
    buffers: list[EpisodeBuffer] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return int(self.lengths.sum())


def _buffer(episode: Episode) -> EpisodeBuffer:
    return EpisodeBuffer(
        id=episode.index,
        observations=_stack(episode.observations),
        actions=np.stack(episode.actions),
        rewards=list(episode.rewards),
        terminations=list(episode.terminations),
        truncations=list(episode.truncations),
        infos={},
    )


def _stack(rows: list[Any]) -> Any:
    """Stack per-step observations (arrays, or dicts/tuples of them, text) along a new axis."""
    first = rows[0]
    if isinstance(first, str):  # text parts (MiniGrid's mission): Minari stores a list of str
        return [str(r) for r in rows]
    if isinstance(first, dict):
        return {key: _stack([r[key] for r in rows]) for key in first}
    if isinstance(first, tuple):
        return tuple(_stack([r[i] for r in rows]) for i in range(len(first)))
    return np.stack(rows)


#: characters of the Text space that stands in for unserializable string spaces
TEXT_CHARSET = string.ascii_letters + string.digits + " ,.;:'!?-_"


def storable_space(space: gym.Space) -> gym.Space:
    """``space`` with string spaces Minari cannot serialize (MiniGrid's ``MissionSpace``)
    replaced by ``Text`` (as Minari's own D4RL/minigrid datasets store the mission)."""
    if isinstance(space, gym.spaces.Dict):
        return gym.spaces.Dict({k: storable_space(s) for k, s in space.spaces.items()})
    if isinstance(space, gym.spaces.Tuple):
        return gym.spaces.Tuple([storable_space(s) for s in space.spaces])
    if is_text(space) and not isinstance(space, gym.spaces.Text):
        return gym.spaces.Text(max_length=256, charset=TEXT_CHARSET)
    return space


def make_vec_env(env_id: str, num_envs: int, env_kwargs: dict[str, Any]) -> gym.vector.VectorEnv:
    """Sync vector env without autoreset: the rollout resets finished sub-envs itself."""
    return gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.DISABLED},
        **env_kwargs,
    )


def rollout(
    env_id: str,
    policy: PolicyFn,
    *,
    seed: int,
    episodes: int | None = None,
    steps: int | None = None,
    num_envs: int = 1,
    noise: ActionNoise | None = None,
    record: bool = True,
    env_kwargs: dict[str, Any] | None = None,
) -> Rollout:
    """Run ``episodes`` whole episodes, or the fewest first episodes with ``>= steps`` steps.

    Episode ``k`` is reset with ``seed + k`` (``imitation_lab.envs.rollout.SeededEpisodes``).
    """
    if (episodes is None) == (steps is None):
        raise DatasetError("Give exactly one of episodes or steps to collect.")
    budget = episodes if episodes is not None else steps
    assert budget is not None
    if budget <= 0:
        raise DatasetError(f"Nothing to collect: episodes/steps must be > 0, got {budget}.")
    num_envs = max(1, min(num_envs, episodes or num_envs))
    env = make_vec_env(env_id, num_envs, env_kwargs or {})
    try:
        ordered = run_episodes(
            env,
            policy,
            SeededEpisodes(seed, episodes=episodes, steps=steps),
            record=record,
            noise=noise,
            noise_seed=seed,
        )
    finally:
        env.close()
    if steps is not None:  # the shortest prefix (in episode order) that reaches the budget
        cumulative = np.cumsum([ep.length for ep in ordered])
        ordered = ordered[: int(np.searchsorted(cumulative, steps)) + 1]
    return Rollout(
        returns=np.array([ep.total_reward for ep in ordered]),
        lengths=np.array([ep.length for ep in ordered]),
        buffers=[_buffer(ep) for ep in ordered] if record else [],
    )


def average_return(
    env_id: str,
    policy: PolicyFn | None,
    episodes: int,
    seed: int,
    *,
    num_envs: int = 1,
    env_kwargs: dict[str, Any] | None = None,
) -> float:
    """Mean undiscounted return over seeded episodes; ``policy=None`` samples uniformly."""
    if policy is None:
        probe = gym.make(env_id, **(env_kwargs or {}))
        policy = RandomPolicy(probe.action_space, seed)
        probe.close()
    result = rollout(
        env_id,
        policy,
        seed=seed,
        episodes=episodes,
        num_envs=num_envs,
        record=False,
        env_kwargs=env_kwargs,
    )
    return float(np.mean(result.returns))


@dataclass(frozen=True)
class ReferenceScores:
    """D4RL-style normalization: random policy (0) and reference expert (100)."""

    ref_min_score: float
    ref_max_score: float


def reference_scores(
    env_id: str,
    expert: PolicyFn,
    *,
    episodes: int,
    seed: int,
    num_envs: int = 1,
    env_kwargs: dict[str, Any] | None = None,
) -> ReferenceScores:
    """Random policy and ``expert`` (as given, no noise) over ``episodes`` seeded episodes."""
    kwargs = {"episodes": episodes, "seed": seed, "num_envs": num_envs, "env_kwargs": env_kwargs}
    return ReferenceScores(
        ref_min_score=average_return(env_id, None, **kwargs),  # type: ignore[arg-type]
        ref_max_score=average_return(env_id, expert, **kwargs),  # type: ignore[arg-type]
    )


def collect_dataset(
    dataset_id: str,
    env_id: str,
    policy: PolicyFn,
    *,
    seed: int,
    algorithm_name: str,
    description: str,
    episodes: int | None = None,
    steps: int | None = None,
    num_envs: int = 1,
    noise: ActionNoise | None = None,
    ref_episodes: int = 50,
    ref_policy: PolicyFn | None = None,
    env_kwargs: dict[str, Any] | None = None,
    eval_env_id: str | None = None,
    env_wrappers: tuple[WrapperSpec, ...] = (),
    overwrite: bool = False,
) -> MinariDataset:
    """Collect ``policy``'s episodes (plus ``noise``) into a new local Minari dataset.

    The dataset is written aside and moved into the store only when complete; an existing
    one with the same id is replaced then (``overwrite``), never before.

    ``ref_min_score`` is a uniform random policy's mean return and ``ref_max_score`` that of
    ``ref_policy`` (default: ``policy`` itself, without noise), each over ``ref_episodes``
    episodes seeded apart from the data, so ``minari.get_normalized_score`` works on the result.
    Dict observations are recorded as such; text parts Minari cannot serialize (MiniGrid's
    ``MissionSpace``) are declared as ``Text``. ``env_wrappers`` (observation-preserving, e.g.
    a success signal) are recorded in the env specs, so ``recover_environment`` applies them.
    """
    env_kwargs = dict(env_kwargs or {})
    data = rollout(
        env_id,
        policy,
        seed=seed,
        episodes=episodes,
        steps=steps,
        num_envs=num_envs,
        noise=noise,
        env_kwargs=env_kwargs,
    )
    refs = reference_scores(
        env_id,
        ref_policy or policy,
        episodes=ref_episodes,
        seed=seed + 1_000_000,
        num_envs=num_envs,
        env_kwargs=env_kwargs,
    )
    if not math.isfinite(refs.ref_max_score - refs.ref_min_score):
        raise DatasetError(f"Reference scores for '{dataset_id}' are not finite: {refs}.")
    probe = gym.make(env_id, **env_kwargs)
    env_spec, observation_space = probe.spec, storable_space(probe.observation_space)
    probe.close()
    eval_spec = gym.make(eval_env_id or env_id, **env_kwargs).spec
    assert env_spec is not None and eval_spec is not None
    if env_wrappers:
        env_spec = dataclasses.replace(env_spec, additional_wrappers=tuple(env_wrappers))
        eval_spec = dataclasses.replace(eval_spec, additional_wrappers=tuple(env_wrappers))
    with staged_write(dataset_id, overwrite=overwrite), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # author/email/permalink not set
        minari.create_dataset_from_buffers(
            dataset_id=dataset_id,
            buffer=data.buffers,
            env=env_spec,
            eval_env=eval_spec,
            observation_space=observation_space,
            algorithm_name=algorithm_name,
            author="imitation_lab",
            ref_min_score=refs.ref_min_score,
            ref_max_score=refs.ref_max_score,
            description=description,
        )
    return minari.load_dataset(dataset_id)
