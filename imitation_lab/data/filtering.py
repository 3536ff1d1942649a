"""Which episodes train: filtered BC (CORL's "10%-BC", ``dataset.top_fraction``) and the
validation split (``dataset.val_fraction``).

``dataset.top_fraction=f`` keeps the ``ceil(f * N)`` episodes with the highest returns (at least
one); ties are broken by episode order (the earlier episode first), so the kept set is a
deterministic function of the data. ``dataset.min_return=r`` instead keeps every episode whose
return is at least ``r``. The kept episode ids and counts go into ``dataset_info.json``.

``dataset.val_fraction=f`` then holds out ``ceil(f * N)`` whole episodes (at least one, never
all) for the validation loss: a permutation seeded with ``VAL_SEED``, the same for every run
seed, so seeds are compared on the same held-out episodes.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np
import torch

from imitation_lab.data.buffer import OfflineData
from imitation_lab.data.obs import tree_map
from imitation_lab.errors import DatasetError

log = logging.getLogger(__name__)
#: the seed of the validation split: one split per dataset (and filter), whatever the run seed
VAL_SEED = 0


def kept_episodes(
    returns: np.ndarray, *, top_fraction: float | None = None, min_return: float | None = None
) -> np.ndarray:
    """Sorted indices of the episodes to keep (all of them when neither rule is set)."""
    returns = np.asarray(returns, dtype=np.float64)
    n = len(returns)
    if top_fraction is not None and min_return is not None:
        raise DatasetError(
            "dataset.top_fraction and dataset.min_return are two ways to filter episodes: set "
            "one of them."
        )
    if top_fraction is not None:
        count = max(1, math.ceil(top_fraction * n))
        order = np.lexsort((np.arange(n), -returns))  # highest return first, ties: earlier
        return np.sort(order[:count])
    if min_return is not None:
        kept = np.flatnonzero(returns >= min_return)
        if len(kept) == 0:
            raise DatasetError(
                f"dataset.min_return={min_return} keeps no episode (the best return is "
                f"{returns.max():.4g}): lower it, or use dataset.top_fraction."
            )
        return kept
    return np.arange(n)


def select_episodes(data: OfflineData, episodes: np.ndarray) -> OfflineData:
    """``data`` with only ``episodes`` (indices into its episodes), in their order."""
    if data.episode_lengths is None:
        raise DatasetError("filtering episodes needs their lengths (rebuild the dataset cache)")
    lengths = np.asarray(data.episode_lengths, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    rows = torch.from_numpy(
        np.concatenate([np.arange(starts[e], starts[e] + lengths[e]) for e in episodes])
    )

    def take(leaf: torch.Tensor) -> torch.Tensor:
        return leaf[rows]

    return replace(
        data,
        obs=tree_map(take, data.obs),
        act=take(data.act),
        rewards=take(data.rewards),
        terminations=take(data.terminations),
        truncations=take(data.truncations),
        episode_returns=np.asarray(data.episode_returns)[episodes],
        episode_lengths=lengths[episodes],
    )


def filter_episodes(
    data: OfflineData,
    dataset_id: str,
    *,
    top_fraction: float | None = None,
    min_return: float | None = None,
) -> tuple[OfflineData, dict | None]:
    """``data`` filtered by the rule set (or as is), and what to record of the filter."""
    if top_fraction is None and min_return is None:
        return data, None
    returns = np.asarray(data.episode_returns, dtype=np.float64)
    kept = kept_episodes(returns, top_fraction=top_fraction, min_return=min_return)
    rule = (
        f"top_fraction={top_fraction}" if top_fraction is not None else f"min_return={min_return}"
    )
    log.info(
        "%s: dataset.%s keeps %d of %d episodes (returns %.4g..%.4g of %.4g..%.4g).",
        dataset_id,
        rule,
        len(kept),
        len(returns),
        returns[kept].min(),
        returns[kept].max(),
        returns.min(),
        returns.max(),
    )
    record = {
        "rule": rule,
        "kept_episodes": len(kept),
        "total_episodes": len(returns),
        "episode_ids": [int(e) for e in kept],
        "kept_return_mean": float(returns[kept].mean()),
    }
    return select_episodes(data, kept), record


def split_validation(
    data: OfflineData, dataset_id: str, val_fraction: float | None
) -> tuple[OfflineData, OfflineData | None, dict | None]:
    """``(train data, validation data, what to record)``; no split without ``val_fraction``."""
    if val_fraction is None:
        return data, None, None
    lengths = data.episode_lengths
    n = 0 if lengths is None else len(lengths)
    if n < 2:
        raise DatasetError(
            f"dataset.val_fraction={val_fraction} holds out whole episodes, but {dataset_id} "
            f"has {n} episode(s) to train on: use a dataset with more episodes, or no split."
        )
    count = min(n - 1, max(1, math.ceil(val_fraction * n)))
    order = np.random.default_rng(VAL_SEED).permutation(n)
    held_out, kept = np.sort(order[:count]), np.sort(order[count:])
    log.info(
        "%s: dataset.val_fraction=%s holds out %d of %d episodes for val/loss.",
        dataset_id,
        val_fraction,
        count,
        n,
    )
    record = {"val_fraction": val_fraction, "val_episodes": int(count),
              "episode_ids": [int(e) for e in held_out]}  # fmt: skip
    return select_episodes(data, kept), select_episodes(data, held_out), record
