"""Cache of flattened training arrays, next to the Minari dataset they come from.

``<dataset dir>/imitation_lab_cache/flat-<key>.npz`` where ``key`` hashes the dataset id, the
cache format and the name, size and modification time of every file under ``<dataset dir>/data``
(no file is read, so computing it costs microseconds). Rebuilding, redownloading or editing the
dataset changes the key; stale cache files are removed when a new one is written.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import torch
from minari import MinariDataset

from imitation_lab.data.buffer import OfflineData, flatten_dataset
from imitation_lab.files import atomic_write

log = logging.getLogger(__name__)
CACHE_FORMAT = 1
CACHE_DIR_NAME = "imitation_lab_cache"
_FIELDS = ("obs", "act", "rewards", "terminations", "truncations")


def dataset_dir(dataset: MinariDataset) -> Path:
    """The dataset's folder (the parent of its ``data/`` folder)."""
    return Path(dataset.spec.data_path).parent


def content_key(dataset: MinariDataset) -> str:
    """Hash of the dataset id, cache format and its data files' names, sizes and mtimes."""
    digest = hashlib.sha256(f"{dataset.spec.dataset_id}|{CACHE_FORMAT}".encode())
    data_dir = Path(dataset.spec.data_path)
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"|{path.relative_to(data_dir)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def cache_path(dataset: MinariDataset) -> Path:
    return dataset_dir(dataset) / CACHE_DIR_NAME / f"flat-{content_key(dataset)}.npz"


def _save(data: OfflineData, path: Path) -> None:
    arrays = {name: getattr(data, name).numpy() for name in _FIELDS}
    arrays["episode_returns"] = data.episode_returns
    atomic_write(path, lambda handle: np.savez(handle, **arrays))
    for stale in path.parent.glob("flat-*.npz"):
        if stale != path:
            stale.unlink(missing_ok=True)


def _load(path: Path) -> OfflineData:
    with np.load(path) as arrays:
        tensors = {name: torch.from_numpy(arrays[name]) for name in _FIELDS}
        return OfflineData(**tensors, episode_returns=arrays["episode_returns"])


def load_flat(dataset: MinariDataset, *, use_cache: bool = True) -> tuple[OfflineData, str]:
    """``flatten_dataset(dataset)``, read from / written to the cache; returns (data, key)."""
    key = content_key(dataset)
    if not use_cache:
        return flatten_dataset(dataset), key
    path = dataset_dir(dataset) / CACHE_DIR_NAME / f"flat-{key}.npz"
    if path.is_file():
        try:
            return _load(path), key
        except Exception as err:  # a truncated/corrupt cache file is rebuilt, never trusted
            log.warning("Ignoring unreadable cache %s (%s); rebuilding it.", path, err)
    data = flatten_dataset(dataset)
    try:
        _save(data, path)
    except OSError as err:  # a read-only store still trains, just without the cache
        log.warning("Could not write the dataset cache %s: %s", path, err)
    return data, key
