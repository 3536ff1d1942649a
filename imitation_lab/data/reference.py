"""Reference scores for datasets that carry none (Minari's ``mujoco/*`` ids, Minari#323).

The values are D4RL's (``d4rl/infos.py``, REF_MIN_SCORE: a random policy, REF_MAX_SCORE: the
D4RL expert), shared by every ``<env>-*-v2`` dataset of an env:
https://github.com/Farama-Foundation/D4RL/blob/master/d4rl/infos.py. D4RL measured them on the
mujoco-py ``-v2`` envs; Minari's ``mujoco/*-v0`` datasets were collected on gymnasium ``-v5``
envs, so a score computed with them is "D4RL-normalized", not identical to the paper setting.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from minari import MinariDataset

#: env name (the second part of ``mujoco/<env>/<name>-vN``) -> (ref_min_score, ref_max_score)
D4RL_REFERENCE_SCORES: dict[str, tuple[float, float]] = {
    "halfcheetah": (-280.178953, 12135.0),
    "hopper": (-20.272305, 3234.3),
    "walker2d": (1.629008, 4592.3),
    "ant": (-325.6, 3879.7),
}

ScoreFn = Callable[[np.ndarray], np.ndarray]


def reference_scores(dataset: MinariDataset) -> tuple[float, float, str] | None:
    """(ref_min, ref_max, where from) for ``dataset``: its own metadata, else the D4RL table."""
    meta = dataset.storage.metadata
    if meta.get("ref_min_score") is not None and meta.get("ref_max_score") is not None:
        return float(meta["ref_min_score"]), float(meta["ref_max_score"]), "dataset"
    parts = dataset.spec.dataset_id.split("/")
    if len(parts) == 3 and parts[0] == "mujoco" and parts[1] in D4RL_REFERENCE_SCORES:
        low, high = D4RL_REFERENCE_SCORES[parts[1]]
        return low, high, "d4rl"
    return None


def normalized_score_fn(dataset: MinariDataset) -> ScoreFn | None:
    """``returns -> (returns - ref_min) / (ref_max - ref_min)`` (x100 is up to the caller)."""
    refs = reference_scores(dataset)
    return None if refs is None else score_fn_from(refs[0], refs[1])


def score_fn_from(low: float | None, high: float | None) -> ScoreFn | None:
    """``returns -> (returns - low) / (high - low)``; None without two distinct references."""
    if low is None or high is None or high == low:
        return None
    low, high = float(low), float(high)
    return lambda returns: (np.asarray(returns, dtype=np.float64) - low) / (high - low)
