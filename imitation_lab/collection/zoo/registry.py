"""Expert checkpoint folders by name (``tqc_HalfCheetah``, ``cs285_Hopper``), and scoring them."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from imitation_lab.collection.zoo.cs285 import CS285, load_cs285_policy
from imitation_lab.collection.zoo.policy import ExpertPolicy
from imitation_lab.collection.zoo.sb3 import ZOO_ALGOS, load_zoo_policy
from imitation_lab.envs.rollout import PerEnvQuota, make_vector_env, rollout
from imitation_lab.errors import DatasetError

EXPERTS_DIR_ENV_VAR = "IMITATION_LAB_EXPERTS_DIR"
#: ``../shared/experts`` beside a source checkout (absent in an installed package)
REPO_EXPERTS_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "experts"


def resolve_experts_dir(experts_dir: str | os.PathLike[str] | None = None) -> Path:
    """``experts_dir``, else ``$IMITATION_LAB_EXPERTS_DIR``, else ``../shared/experts`` of the
    repo; it must be an existing folder (else one ``DatasetError`` saying how to set it)."""
    chosen = experts_dir or os.environ.get(EXPERTS_DIR_ENV_VAR) or REPO_EXPERTS_DIR
    root = Path(chosen).expanduser()
    if not root.is_dir():
        raise DatasetError(
            f"Experts folder {root} does not exist. Set source.experts_dir=<folder> or "
            f"${EXPERTS_DIR_ENV_VAR} to the folder holding <algo>_<Env>/ checkpoints."
        )
    return root


def _source_kind(name: str) -> str | None:
    prefix = name.split("_", 1)[0].lower()
    if prefix == CS285:
        return CS285
    return prefix if prefix in ZOO_ALGOS and "_" in name else None


def list_experts(experts_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the expert folders (``<algo>_<Env>`` / ``cs285_<Env>``) in ``experts_dir``."""
    root = resolve_experts_dir(experts_dir)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _source_kind(p.name))


def find_expert(
    name: str,
    experts_dir: str | os.PathLike[str] | None = None,
    *,
    env_id: str | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    deterministic: bool = True,
) -> ExpertPolicy:
    """Load the expert folder ``experts_dir/name`` (``tqc_HalfCheetah``, ``cs285_Hopper``, ...)
    with the loader its prefix names (``cs285`` or an rl-zoo algo)."""
    kind = _source_kind(name)
    if kind is None:
        raise ValueError(
            f"unknown expert {name!r}: names are '<source>_<Env>' with source in "
            f"{[CS285, *sorted(ZOO_ALGOS)]}"
        )
    root = resolve_experts_dir(experts_dir)
    folder = root / name
    if not folder.is_dir():
        raise FileNotFoundError(
            f"expert folder not found: {folder} (available: {', '.join(list_experts(root))})"
        )
    if kind == CS285:
        return load_cs285_policy(folder, env_id, deterministic=deterministic, env_kwargs=env_kwargs)
    return load_zoo_policy(folder, env_id, deterministic=deterministic, env_kwargs=env_kwargs)


def evaluate_expert(
    policy: ExpertPolicy, seeds: Iterable[int] = range(5)
) -> tuple[np.ndarray, np.ndarray]:
    """One episode per seed (reset with that seed) in ``policy.make_env()``: (returns, lengths)."""
    seeds = [int(s) for s in seeds]
    env = make_vector_env(policy.make_env, 1)
    try:
        episodes = [rollout(env, policy, PerEnvQuota([1], [seed]))[0] for seed in seeds]
    finally:
        env.close()
    returns = np.asarray([ep.total_reward for ep in episodes])
    if not math.isfinite(float(returns.sum())):
        warnings.warn(f"{policy.name}: non-finite returns {returns.tolist()}", stacklevel=2)
    return returns, np.asarray([ep.length for ep in episodes])
