"""Find a Minari dataset: local store first, then a built-in recipe, then Minari's download."""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

import minari
from minari import MinariDataset
from minari.storage.datasets_root_dir import get_dataset_path

from imitation_lab.data.builtin import BUILTIN_RECIPES
from imitation_lab.data.collect import collect_dataset
from imitation_lab.errors import DatasetError

log = logging.getLogger(__name__)


def datasets_root() -> Path:
    """The local Minari store (``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``)."""
    return Path(get_dataset_path()).expanduser()


def is_local(dataset_id: str) -> bool:
    """Whether ``dataset_id`` is complete in the local store."""
    return (Path(get_dataset_path(dataset_id)) / "data").exists()


@contextlib.contextmanager
def _store_lock() -> Iterator[None]:
    """Serialize building/downloading across processes (parallel sweep jobs share a store)."""
    root = datasets_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".imitation_lab.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_builtin(dataset_id: str) -> MinariDataset:
    """Build one of ``BUILTIN_RECIPES`` into the local store."""
    recipe = BUILTIN_RECIPES[dataset_id]
    log.info(
        "Building %s from the built-in %s expert (%d episodes)...",
        dataset_id,
        recipe.env_id,
        recipe.episodes,
    )
    return collect_dataset(
        dataset_id,
        recipe.env_id,
        recipe.make_expert(),
        episodes=recipe.episodes,
        seed=recipe.seed,
        algorithm_name=recipe.algorithm_name,
        description=recipe.description,
        ref_episodes=recipe.ref_episodes,
    )


def download(dataset_id: str) -> None:
    """Minari's remote download, with network and unknown-id failures as one clear error."""
    try:
        minari.download_dataset(dataset_id)
    except Exception as err:  # network errors come from several libraries (urllib3, gcs, hf)
        raise DatasetError(
            f"Dataset '{dataset_id}' is not in the local Minari store ({datasets_root()}), "
            f"is not a built-in dataset ({', '.join(sorted(BUILTIN_RECIPES))}), and "
            f"downloading it failed: {type(err).__name__}: {err}. Check the id "
            "(`minari list remote`), your network, or build it with imitation_lab's collect."
        ) from err
    if not is_local(dataset_id):
        raise DatasetError(
            f"Downloading '{dataset_id}' reported success but left no data in "
            f"{get_dataset_path(dataset_id)} (Minari#220). Delete that folder and retry."
        )


def load_or_build(dataset_id: str, *, download_missing: bool = True) -> MinariDataset:
    """Load ``dataset_id`` from the local store, building or downloading it on first use."""
    if not is_local(dataset_id):
        with _store_lock():
            if not is_local(dataset_id):  # another process may have finished it meanwhile
                if dataset_id in BUILTIN_RECIPES:
                    build_builtin(dataset_id)
                elif download_missing:
                    download(dataset_id)
                else:
                    raise DatasetError(
                        f"Dataset '{dataset_id}' is not in the local Minari store "
                        f"({datasets_root()}) and dataset.download=false. Set "
                        "dataset.download=true, or pick a built-in id: "
                        f"{', '.join(sorted(BUILTIN_RECIPES))}."
                    )
    try:
        return minari.load_dataset(dataset_id)
    except Exception as err:
        raise DatasetError(
            f"Dataset '{dataset_id}' exists at {get_dataset_path(dataset_id)} but could not be "
            f"read: {type(err).__name__}: {err}. Delete the folder to rebuild/redownload it."
        ) from err
