#!/usr/bin/env python
"""Time loading a 1M-step Minari dataset: raw array read vs first load vs cached load.

Synthesizes a HalfCheetah-v5-shaped dataset (1000 episodes x 1000 steps, float64 observations
of 17 dims, float32 actions of 6 dims) in a temporary ``MINARI_DATASETS_PATH``, then times

* ``raw read``: h5py reads every episode's observations and actions (no Minari, no copies);
* ``first load``: ``load_training_data`` with no cache file (Minari open, validation against the
  env, flatten into tensors, cache write);
* ``cached load``: ``load_training_data`` again (Minari open, validation, cache read);
* ``content key``: the cache key (stat of the data files), and, for comparison, a SHA-256 of the
  file bytes (what a byte-exact key would cost).

    OMP_NUM_THREADS=1 python benchmarks/dataset_load.py [--episodes 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path


def _timed(fn: Callable[[], object], repeats: int, before: Callable[[], None] | None = None):
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def build(dataset_id: str, episodes: int, length: int) -> None:
    import minari
    import numpy as np
    from minari.data_collector.episode_buffer import EpisodeBuffer

    rng = np.random.default_rng(0)
    buffers = [
        EpisodeBuffer(
            id=i,
            observations=rng.normal(size=(length + 1, 17)),
            actions=rng.uniform(-1, 1, size=(length, 6)).astype(np.float32),
            rewards=list(rng.normal(size=length)),
            terminations=[False] * length,
            truncations=[False] * (length - 1) + [True],
            infos={},
        )
        for i in range(episodes)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        minari.create_dataset_from_buffers(dataset_id, buffers, env="HalfCheetah-v5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="il_bench_minari_"))
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    import h5py
    import minari
    import torch

    from imitation_lab.data.cache import CACHE_DIR_NAME, content_key
    from imitation_lab.data.loader import load_training_data

    torch.set_num_threads(1)
    dataset_id = "bench/halfcheetah/synthetic-v0"
    try:
        start = time.perf_counter()
        build(dataset_id, args.episodes, args.length)
        build_s = time.perf_counter() - start
        dataset = minari.load_dataset(dataset_id)
        data_file = Path(dataset.spec.data_path) / "main_data.hdf5"
        cache_dir = Path(dataset.spec.data_path).parent / CACHE_DIR_NAME

        def raw_read() -> None:
            with h5py.File(data_file, "r") as f:
                for name in f:
                    if name.startswith("episode_"):
                        f[name]["observations"][()]
                        f[name]["actions"][()]

        def drop_cache() -> None:
            shutil.rmtree(cache_dir, ignore_errors=True)

        def load() -> None:
            load_training_data(dataset_id)

        def byte_hash() -> None:
            digest = hashlib.sha256()
            with open(data_file, "rb") as handle:
                while chunk := handle.read(1 << 24):
                    digest.update(chunk)

        rows = [
            ("raw read (h5py, obs + actions)", *_timed(raw_read, args.repeats)),
            ("first load (no cache)", *_timed(load, args.repeats, before=drop_cache)),
        ]
        load()  # make sure the cache exists
        rows.append(("cached load", *_timed(load, args.repeats)))
        rows.append(("content key (stat)", *_timed(lambda: content_key(dataset), args.repeats)))
        rows.append(("SHA-256 of the bytes", *_timed(byte_hash, args.repeats)))
        (cache_file,) = cache_dir.glob("flat-*.npz")
        steps = dataset.total_steps
        data_mib = data_file.stat().st_size / 2**20
        cache_mib = cache_file.stat().st_size / 2**20
        print(
            f"{steps:,} steps, {dataset.total_episodes} episodes; main_data.hdf5 {data_mib:.0f} "
            f"MiB, cache {cache_mib:.0f} MiB; building the dataset took {build_s:.1f} s\n"
        )
        print("| step | median s | min s |\n|---|---|---|")
        for name, median, best in rows:
            print(f"| {name} | {median:.3f} | {best:.3f} |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
