"""Statistics for few-seed RL results, rliable's protocol in numpy (Agarwal et al., 2021).

IQM, stratified-bootstrap percentile CIs; used by ``imitation_lab.report`` and the notebooks.
(rliable itself pulls arch, statsmodels, pandas and seaborn.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

CI_LEVEL = 0.95
REPS = 10_000  # bootstrap resamples for the final-score CIs
BOOTSTRAP_SEED = 0  # reports are deterministic


def iqm(scores: np.ndarray, axis: int = -1) -> np.ndarray | float:
    """Interquartile mean: the mean of the middle 50 % (``scipy.stats.trim_mean(x, 0.25)``)."""
    scores = np.sort(np.asarray(scores, dtype=np.float64), axis=axis)
    n = scores.shape[axis]
    cut = int(0.25 * n)
    middle = np.take(scores, np.arange(cut, n - cut), axis=axis)
    return middle.mean(axis=axis)


def stratified_bootstrap_ci(
    strata: Sequence[np.ndarray],
    statistic: Callable[..., np.ndarray | float],
    reps: int = REPS,
    level: float = CI_LEVEL,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile CI of ``statistic`` when each stratum's scores are resampled on their own.

    ``statistic(samples, axis=-1)`` gets an array ``(reps, n)`` of resampled scores (all
    strata side by side), as rliable's ``StratifiedBootstrap`` resamples runs within a task.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for scores in strata:
        scores = np.asarray(scores, dtype=np.float64)
        parts.append(scores[rng.integers(0, len(scores), size=(reps, len(scores)))])
    values = np.asarray(statistic(np.concatenate(parts, axis=1), axis=-1))
    alpha = (1.0 - level) / 2.0
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def group_stats(strata: Sequence[np.ndarray]) -> dict[str, float]:
    """n, mean, std, median, IQM and the bootstrap CIs of the mean and the IQM."""
    scores = np.concatenate([np.asarray(s, dtype=np.float64) for s in strata])
    n = len(scores)
    if n == 0:
        return {"n": 0}
    mean_ci = stratified_bootstrap_ci(strata, np.mean)
    iqm_ci = stratified_bootstrap_ci(strata, iqm)
    return {
        "n": n,
        "mean": float(scores.mean()),
        "std": float(scores.std(ddof=1)) if n > 1 else math.nan,
        "median": float(np.median(scores)),
        "iqm": float(iqm(scores)),
        "mean_ci_low": mean_ci[0],
        "mean_ci_high": mean_ci[1],
        "iqm_ci_low": iqm_ci[0],
        "iqm_ci_high": iqm_ci[1],
    }
