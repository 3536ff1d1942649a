"""rliable's cross-task statistics in numpy (Agarwal et al., 2021; ``rliable.metrics``).

Scores of one arm are given as strata: one array of runs per task (rliable's ``runs x tasks``
matrix, but tasks may have different run counts). CIs are 95 % stratified-bootstrap percentile
intervals: runs are resampled with replacement within each task, as rliable's
``StratifiedBootstrap``; for a pair of arms both are resampled independently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imitation_lab.report.stats import BOOTSTRAP_SEED, CI_LEVEL, REPS, iqm

Strata = Sequence[np.ndarray]


def _as_strata(strata: Strata) -> list[np.ndarray]:
    return [np.asarray(s, dtype=np.float64) for s in strata]


def _resample(strata: Strata, reps: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``reps`` bootstrap copies of each task's runs: a list of ``(reps, n_task)`` arrays."""
    return [s[rng.integers(0, len(s), size=(reps, len(s)))] for s in _as_strata(strata)]


def _percentile(values: np.ndarray, level: float) -> tuple[float, float]:
    alpha = (1.0 - level) / 2.0
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)], axis=0)
    return low, high


def _task_poi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + P(X = Y) / 2 of one task, batched over leading axes: the Mann-Whitney U
    statistic of ``x`` over ``y`` divided by ``n_x * n_y`` (``scipy.stats.mannwhitneyu``)."""
    diff = x[..., :, None] - y[..., None, :]
    return (np.sign(diff) + 1.0).mean(axis=(-2, -1)) / 2.0


def probability_of_improvement(x: Strata, y: Strata) -> float:
    """rliable's ``probability_of_improvement``: the mean over tasks of P(X > Y), ties 1/2.

    ``x[i]`` and ``y[i]`` are the runs of the two arms on task ``i``."""
    x, y = _as_strata(x), _as_strata(y)
    if len(x) != len(y) or not x:
        raise ValueError("both arms need the same, non-empty list of tasks")
    return float(np.mean([_task_poi(a, b) for a, b in zip(x, y, strict=True)]))


def probability_of_improvement_ci(
    x: Strata, y: Strata, reps: int = REPS, level: float = CI_LEVEL, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """Percentile CI of :func:`probability_of_improvement`, both arms resampled within tasks."""
    rng = np.random.default_rng(seed)
    bx, by = _resample(x, reps, rng), _resample(y, reps, rng)
    values = np.mean([_task_poi(a, b) for a, b in zip(bx, by, strict=True)], axis=0)
    low, high = _percentile(values, level)
    return float(low), float(high)


def aggregate_mean(strata: Strata) -> float:
    """rliable's ``aggregate_mean``: the mean over tasks of each task's mean score."""
    return float(np.mean([s.mean() for s in _as_strata(strata)]))


def aggregate_iqm(strata: Strata) -> float:
    """rliable's ``aggregate_iqm``: the interquartile mean of all runs of all tasks."""
    return float(iqm(np.concatenate(_as_strata(strata))))


def aggregate_stats(
    strata: Strata, reps: int = REPS, level: float = CI_LEVEL, seed: int = BOOTSTRAP_SEED
) -> dict[str, float]:
    """Aggregate IQM and mean over tasks with stratified-bootstrap CIs."""
    rng = np.random.default_rng(seed)
    boot = _resample(strata, reps, rng)
    iqms = iqm(np.concatenate(boot, axis=1), axis=-1)
    means = np.mean([b.mean(axis=-1) for b in boot], axis=0)
    iqm_ci, mean_ci = _percentile(iqms, level), _percentile(means, level)
    return {
        "n_tasks": len(boot),
        "n_runs": int(sum(b.shape[1] for b in boot)),
        "iqm": aggregate_iqm(strata),
        "iqm_ci_low": float(iqm_ci[0]),
        "iqm_ci_high": float(iqm_ci[1]),
        "mean": aggregate_mean(strata),
        "mean_ci_low": float(mean_ci[0]),
        "mean_ci_high": float(mean_ci[1]),
    }


def _fraction_above(runs: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Fraction of ``runs`` (last axis) with score > tau, for each tau (new last axis)."""
    return (runs[..., :, None] > taus).mean(axis=-2)


def performance_profile(
    strata: Strata,
    taus: np.ndarray,
    reps: int = 2_000,
    level: float = CI_LEVEL,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, np.ndarray]:
    """rliable's run-score performance profile: the fraction of all runs (over every task)
    with score > tau at each tau, with a stratified-bootstrap CI per tau."""
    taus = np.asarray(taus, dtype=np.float64)
    rng = np.random.default_rng(seed)
    boot = np.concatenate(_resample(strata, reps, rng), axis=1)
    low, high = _percentile(_fraction_above(boot, taus), level)
    return {
        "tau": taus,
        "fraction": _fraction_above(np.concatenate(_as_strata(strata)), taus),
        "low": low,
        "high": high,
    }
