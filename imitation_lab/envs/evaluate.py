"""Seeded evaluation of one policy or K members in one vector env (one batched forward per step).

Member ``m`` owns sub-envs ``[m*E, (m+1)*E)``: sub-env ``i`` of a member with seed ``s`` is
reset with ``s + i`` and runs a fixed quota of the ``episodes``, so its episodes are exactly
those of a single run with seed ``s`` (evaluated alone with ``E`` envs), never dependent on
timing or on the other members.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from imitation_lab.data.reference import ScoreFn
from imitation_lab.envs.rollout import PerEnvQuota, make_vector_env, rollout, split_quota

ActFn = Callable[[np.ndarray], np.ndarray]

__all__ = ["EvalResult", "eval_envs_per_member", "evaluate", "evaluate_members", "make_vector_env"]


@dataclass
class EvalResult:
    """Per-episode returns, lengths and (where the env reports ``info["success"]``) success."""

    returns: np.ndarray
    lengths: np.ndarray
    successes: np.ndarray | None = None

    def metrics(self, score_fn: ScoreFn | None) -> dict[str, float]:
        """Mean/std of return, mean length, success rate (where reported) and, with
        ``score_fn``, mean/std of the normalized score (x100)."""
        out = {
            "return_mean": float(self.returns.mean()),
            "return_std": float(self.returns.std()),
            "length_mean": float(self.lengths.mean()),
        }
        if self.successes is not None:
            out["success_rate"] = float(np.mean(self.successes))
        if score_fn is not None:
            scores = 100.0 * np.asarray(score_fn(self.returns), dtype=np.float64)
            out["normalized_score"] = float(scores.mean())
            out["normalized_score_std"] = float(scores.std())
        return out


def eval_envs_per_member(eval_envs: int, eval_episodes: int) -> int:
    """Sub-envs per member: ``trainer.eval_envs``, but no more than there are episodes."""
    return min(eval_envs, max(1, eval_episodes))


def evaluate_members(
    act_fn: ActFn, vector_env: gym.vector.VectorEnv, episodes: int, seeds: Sequence[int | None]
) -> list[EvalResult | None]:
    """``episodes`` seeded episodes for every member whose seed is not None (else None)."""
    per_member, remainder = divmod(vector_env.num_envs, len(seeds))
    if remainder:
        raise ValueError(f"{vector_env.num_envs} envs do not split over {len(seeds)} members.")
    quota: list[int] = []
    env_seeds: list[int | None] = []
    for seed in seeds:
        quota += split_quota(episodes, per_member) if seed is not None else [0] * per_member
        env_seeds += [None if seed is None else seed + i for i in range(per_member)]
    done = rollout(vector_env, act_fn, PerEnvQuota(quota, env_seeds))
    results: list[EvalResult | None] = []
    for m, seed in enumerate(seeds):
        mine = [ep for ep in done if ep.env_index // per_member == m]
        if seed is None:
            results.append(None)
            continue
        successes = [ep.success for ep in mine]
        results.append(
            EvalResult(
                returns=np.array([ep.total_reward for ep in mine]),
                lengths=np.array([ep.length for ep in mine]),
                successes=None if None in successes else np.array(successes, dtype=bool),
            )
        )
    return results


def evaluate(
    act_fn: ActFn, vector_env: gym.vector.VectorEnv, episodes: int, seed: int
) -> EvalResult:
    """Exactly ``episodes`` episodes of one policy; env ``i`` is seeded ``seed + i``."""
    result = evaluate_members(act_fn, vector_env, episodes, [seed])[0]
    assert result is not None
    return result
