"""Find a Minari dataset: local store first, then a builder (built-ins), then Minari's download.

Builders are passed in by the caller (``imitation_lab.build`` passes the built-in recipes of
``imitation_lab.collection.builtin``): reading datasets does not depend on making them.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import minari
from minari import MinariDataset
from minari.storage.datasets_root_dir import get_dataset_path

from imitation_lab.errors import DatasetError

log = logging.getLogger(__name__)
#: dataset id -> a function that builds it into the local store
Builders = Mapping[str, Callable[[], object]]
#: ids in this namespace are made by imitation_lab (built-in or `collect`), never downloaded
OWN_NAMESPACE = "imitation-lab"


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


def download(dataset_id: str, builders: Builders) -> None:
    """Minari's remote download, with network and unknown-id failures as one clear error."""
    try:
        minari.download_dataset(dataset_id)
    except Exception as err:  # network errors come from several libraries (urllib3, gcs, hf)
        raise DatasetError(
            f"Dataset '{dataset_id}' is not in the local Minari store ({datasets_root()}), "
            f"is not a built-in dataset ({', '.join(sorted(builders))}), and "
            f"downloading it failed: {type(err).__name__}: {err}. Check the id "
            "(`minari list remote`), your network, or build it with imitation_lab's collect."
        ) from err
    if not is_local(dataset_id):
        raise DatasetError(
            f"Downloading '{dataset_id}' reported success but left no data in "
            f"{get_dataset_path(dataset_id)} (Minari#220). Delete that folder and retry."
        )


def _not_built(dataset_id: str) -> DatasetError:
    """An id of our own namespace that is neither local nor built-in: say how to make it."""
    parts = dataset_id.split("/")
    preset = "_".join(parts[1:]).rsplit("-v", 1)[0] if len(parts) == 3 else "<name>"
    return DatasetError(
        f"Dataset '{dataset_id}' is not in the local Minari store ({datasets_root()}) and is "
        f"not a built-in dataset; ids under '{OWN_NAMESPACE}/' are made locally, never "
        f"downloaded. Build it first: `imitation-lab collect preset={preset}` (if "
        f"conf/collect/preset/{preset}.yaml exists) or `imitation-lab collect ... "
        f"dataset_id={dataset_id}`."
    )


def load_or_build(
    dataset_id: str, *, download_missing: bool = True, builders: Builders | None = None
) -> MinariDataset:
    """Load ``dataset_id`` from the local store, building or downloading it on first use."""
    builders = builders or {}
    if not is_local(dataset_id):
        with _store_lock():
            if not is_local(dataset_id):  # another process may have finished it meanwhile
                if dataset_id in builders:
                    builders[dataset_id]()
                elif dataset_id.split("/")[0] == OWN_NAMESPACE:
                    raise _not_built(dataset_id)
                elif download_missing:
                    download(dataset_id, builders)
                else:
                    raise DatasetError(
                        f"Dataset '{dataset_id}' is not in the local Minari store "
                        f"({datasets_root()}) and dataset.download=false. Set "
                        "dataset.download=true, or pick a built-in id: "
                        f"{', '.join(sorted(builders))}."
                    )
    try:
        return minari.load_dataset(dataset_id)
    except Exception as err:
        raise DatasetError(
            f"Dataset '{dataset_id}' exists at {get_dataset_path(dataset_id)} but could not be "
            f"read: {type(err).__name__}: {err}. Delete the folder to rebuild/redownload it."
        ) from err
