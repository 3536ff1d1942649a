"""The flattened-array cache: written on first load, used on the second, invalidated on change."""

from __future__ import annotations

from pathlib import Path

import minari
import pytest
import torch

from imitation_lab.data import cache
from imitation_lab.data.cache import CACHE_DIR_NAME, load_flat
from imitation_lab.data.loader import load_training_data
from tests.datasets.helpers import make_dataset, pendulum_episode


def _cache_files(dataset_id: str) -> list:
    folder = cache.dataset_dir(minari.load_dataset(dataset_id)) / CACHE_DIR_NAME
    return sorted(folder.glob("flat-*"))


def test_second_load_reads_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    make_dataset("tests/pendulum/cached-v0", [pendulum_episode(5), pendulum_episode(8, 1)])
    first = load_training_data("tests/pendulum/cached-v0")
    assert len(_cache_files("tests/pendulum/cached-v0")) == 1

    def no_flatten(dataset: object) -> None:
        raise AssertionError("flatten_dataset must not run on a cache hit")

    monkeypatch.setattr(cache, "flatten_dataset", no_flatten)
    second = load_training_data("tests/pendulum/cached-v0")
    for name in ("obs", "act", "rewards", "terminations", "truncations"):
        assert torch.equal(getattr(first.data, name), getattr(second.data, name)), name
    assert (first.data.episode_returns == second.data.episode_returns).all()
    assert first.info["content_key"] == second.info["content_key"]


def test_changed_dataset_invalidates_the_cache() -> None:
    make_dataset("tests/pendulum/changing-v0", [pendulum_episode(5)])
    before = load_training_data("tests/pendulum/changing-v0")
    old_files = _cache_files("tests/pendulum/changing-v0")
    minari.delete_dataset("tests/pendulum/changing-v0")
    make_dataset("tests/pendulum/changing-v0", [pendulum_episode(9, seed=7)])
    after = load_training_data("tests/pendulum/changing-v0")
    assert len(after.data) == 9 and len(before.data) == 5
    assert after.info["content_key"] != before.info["content_key"]
    new_files = _cache_files("tests/pendulum/changing-v0")
    assert len(new_files) == 1 and new_files != old_files


def test_corrupt_cache_file_is_rebuilt() -> None:
    make_dataset("tests/pendulum/corrupt-v0", [pendulum_episode(6)])
    dataset = minari.load_dataset("tests/pendulum/corrupt-v0")
    load_flat(dataset)
    (path,) = _cache_files("tests/pendulum/corrupt-v0")
    (path / "act.npy").write_bytes(b"not an npy file")
    data, _ = load_flat(dataset)
    assert len(data) == 6
    assert (path / "act.npy").stat().st_size > 100  # rewritten


def test_cached_observations_are_memory_mapped() -> None:
    """The cache is a folder of .npy files; observations are read with mmap, not copied."""
    make_dataset("tests/pendulum/mmap-v0", [pendulum_episode(7)])
    first = load_training_data("tests/pendulum/mmap-v0")
    second = load_training_data("tests/pendulum/mmap-v0")
    (path,) = _cache_files("tests/pendulum/mmap-v0")
    assert (path / "obs.npy").is_file() and (path / "meta.json").is_file()
    maps = Path("/proc/self/maps").read_text()  # the file is mapped into this process
    assert str((path / "obs.npy").resolve()) in maps
    assert torch.equal(first.data.obs, second.data.obs)


def test_cache_off_writes_nothing() -> None:
    make_dataset("tests/pendulum/nocache-v0", [pendulum_episode(4)])
    data, _ = load_flat(minari.load_dataset("tests/pendulum/nocache-v0"), use_cache=False)
    assert len(data) == 4
    assert _cache_files("tests/pendulum/nocache-v0") == []
