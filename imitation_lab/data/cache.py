"""Cache of flattened training arrays, next to the Minari dataset they come from, memory-mapped.

``<dataset dir>/imitation_lab_cache/flat-<key>/`` is a folder of ``.npy`` files (one per
observation leaf, ``act``, ``rewards``, ...) plus ``meta.json``, written last. ``key`` hashes the
dataset id, the cache format and the name, size and modification time of every file under
``<dataset dir>/data`` (no file is read, so computing it costs microseconds). Rebuilding,
redownloading or editing the dataset changes the key; stale cache entries are removed when a
new one is written.

The first load writes each observation leaf straight into its memory-mapped ``.npy`` file, one
episode at a time; later loads open the files with ``mmap_mode="c"`` (pages are read from disk
when a minibatch touches them, never written back), so a dataset larger than RAM still trains.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import mmap
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from minari import MinariDataset

from imitation_lab.data.buffer import OfflineData, check_spaces, flatten_dataset
from imitation_lab.data.obs import tree_leaves
from imitation_lab.utils.files import atomic_write_text

log = logging.getLogger(__name__)
CACHE_FORMAT = 2
CACHE_DIR_NAME = "imitation_lab_cache"
_FIELDS = ("act", "rewards", "terminations", "truncations")
_META = "meta.json"


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


#: observation leaves up to this size enter ``data_digest`` (image leaves of millions of frames
#: are left out: hashing them would cost seconds per run; actions and rewards still differ)
DIGEST_MAX_LEAF_BYTES = 256 * 2**20


def data_digest(data: OfflineData) -> str:
    """Hash of what training reads: actions, rewards, episode ends and lengths, and the
    observation leaves up to ``DIGEST_MAX_LEAF_BYTES``. Unlike ``content_key`` it does not
    depend on file times, so a copy has the same digest and a rebuild (another seed) another:
    a resumed run compares it with its checkpoint's (``identity.RESUME_MUST_MATCH``)."""
    digest = hashlib.sha256()
    arrays = [getattr(data, name) for name in _FIELDS]
    arrays += [
        a for a in tree_leaves(data.obs) if a.numel() * a.element_size() <= DIGEST_MAX_LEAF_BYTES
    ]
    for array in arrays:
        digest.update(np.ascontiguousarray(array.numpy()).tobytes())
    if data.episode_lengths is not None:
        digest.update(np.asarray(data.episode_lengths, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def cache_path(dataset: MinariDataset) -> Path:
    """The cache folder of ``dataset``'s current content."""
    return dataset_dir(dataset) / CACHE_DIR_NAME / f"flat-{content_key(dataset)}"


def _leaf_file(key: str) -> str:
    return f"obs.{key.replace('/', '.')}.npy" if key else "obs.npy"


class _NpyWriter:
    """Rows of a new ``.npy`` file written with plain file writes (the page cache holds them,
    not this process's memory, as a writable memory map would)."""

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: np.dtype) -> None:
        header = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        self.offset, self.dtype = int(header.offset), np.dtype(dtype)
        del header
        self.row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * self.dtype.itemsize
        self.handle = open(path, "r+b")  # noqa: SIM115 (closed in close())

    def __setitem__(self, rows: slice, values: np.ndarray) -> None:
        self.handle.seek(self.offset + int(rows.start) * self.row_bytes)
        self.handle.write(np.ascontiguousarray(values, dtype=self.dtype).tobytes())

    def close(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()


def _write(dataset: MinariDataset, final: Path) -> None:
    """Flatten ``dataset`` into a temp folder next to ``final``, then rename it into place."""
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        files: list[_NpyWriter] = []

        def allocate(name: str, shape: tuple[int, ...], dtype: np.dtype) -> _NpyWriter:
            files.append(_NpyWriter(tmp / _leaf_file(name.removeprefix("obs.")), shape, dtype))
            return files[-1]

        try:
            data = flatten_dataset(dataset, allocate)  # type: ignore[arg-type]
        finally:
            for writer in files:
                writer.close()
        for name in _FIELDS:
            np.save(tmp / f"{name}.npy", getattr(data, name).numpy())
        np.save(tmp / "episode_returns.npy", data.episode_returns)
        np.save(tmp / "episode_lengths.npy", data.episode_lengths)
        meta = {"format": CACHE_FORMAT, "dataset_id": dataset.spec.dataset_id, "steps": len(data)}
        (tmp / _META).write_text(json.dumps(meta))
        for path in tmp.iterdir():  # durable before the rename makes the entry visible
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        del data
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for stale in final.parent.glob("flat-*"):
        if stale != final:
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)  # the .npz files of cache format 1


def _random_access(array: np.ndarray) -> None:
    """Tell the kernel a memory-mapped image array is read at random rows (minibatches): no
    readahead, so each sampled frame faults in its own pages, not megabytes around it (with
    an 8 MB readahead, 256 random frames mapped ~300 MB per step)."""
    mapping = getattr(array, "_mmap", None)
    if mapping is not None and hasattr(mmap, "MADV_RANDOM"):
        mapping.madvise(mmap.MADV_RANDOM)


def _load(dataset: MinariDataset, path: Path) -> OfflineData:
    meta = json.loads((path / _META).read_text())
    if meta.get("format") != CACHE_FORMAT:
        raise ValueError(f"cache format {meta.get('format')}, expected {CACHE_FORMAT}")
    spec = check_spaces(dataset)

    def read(name: str, mmap: bool = False) -> np.ndarray:
        return np.load(path / name, mmap_mode="c" if mmap else None, allow_pickle=False)

    leaves = {}
    for leaf in spec.leaves:
        array = read(_leaf_file(leaf.key), True)
        if leaf.kind == "image":
            _random_access(array)
        leaves[leaf.key] = torch.from_numpy(array)
    tensors = {name: torch.from_numpy(read(f"{name}.npy")) for name in _FIELDS}
    steps = int(meta["steps"])
    if any(len(t) != steps for t in [*tensors.values(), *leaves.values()]):
        raise ValueError("cache arrays have different lengths")
    data = OfflineData(
        obs=spec.build(leaves),
        **tensors,
        episode_returns=read("episode_returns.npy"),
        episode_lengths=read("episode_lengths.npy"),
        spec=None if spec.is_flat_vector else spec,
    )
    if "data_digest" not in meta:  # computed once, on the first load of a new cache entry
        meta["data_digest"] = data_digest(data)
        with contextlib.suppress(OSError):  # a read-only store: computed again next time
            atomic_write_text(path / _META, json.dumps(meta))
    data.digest = meta["data_digest"]
    return data


def load_flat(dataset: MinariDataset, *, use_cache: bool = True) -> tuple[OfflineData, str]:
    """``flatten_dataset(dataset)``, read from / written to the cache; returns (data, key)."""
    key = content_key(dataset)
    if not use_cache:
        return _digested(flatten_dataset(dataset)), key
    path = dataset_dir(dataset) / CACHE_DIR_NAME / f"flat-{key}"
    if (path / _META).is_file():
        try:
            return _load(dataset, path), key
        except Exception as err:  # a truncated/corrupt cache entry is rebuilt, never trusted
            log.warning("Ignoring unreadable cache %s (%s); rebuilding it.", path, err)
            shutil.rmtree(path, ignore_errors=True)
    try:
        _write(dataset, path)
    except OSError as err:  # a read-only store still trains, just without the cache
        log.warning("Could not write the dataset cache %s: %s", path, err)
        return _digested(flatten_dataset(dataset)), key
    return _load(dataset, path), key


def _digested(data: OfflineData) -> OfflineData:
    data.digest = data_digest(data)
    return data
