"""Dataset ids are checked before any filesystem call: ``namespace/name-vN`` inside the store.

A Minari id names a folder of the local store (``MINARI_DATASETS_PATH``): an absolute path,
``..``, ``~`` or a backslash would point anywhere, and a delete or overwrite would follow it.
Every read, build, overwrite and delete goes through ``check_dataset_id`` / ``dataset_dir``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from imitation_lab.errors import DatasetError

_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_VERSION = re.compile(r"-v\d+$")
EXAMPLE = "imitation-lab/pendulum/expert-v0"


def store_root() -> Path:
    """The local Minari store (``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``), as Minari
    finds it (without creating it)."""
    configured = os.environ.get("MINARI_DATASETS_PATH")
    return Path(configured or Path("~") / ".minari" / "datasets").expanduser()


def check_dataset_id(dataset_id: object, key: str = "dataset.id") -> str:
    """``dataset_id`` if it is a valid Minari id of this store, else one ``DatasetError``."""
    if not isinstance(dataset_id, str) or not dataset_id.strip():
        raise DatasetError(f"{key} is empty; give a Minari id such as {EXAMPLE}.")
    where = f"{key}={dataset_id!r}"
    if dataset_id.startswith(("/", "~")) or "\\" in dataset_id or ":" in dataset_id:
        raise DatasetError(
            f"{where} is a path, not a Minari dataset id: ids name folders inside the Minari "
            f"store ({store_root()}), e.g. {EXAMPLE}. To use another store, set "
            "MINARI_DATASETS_PATH."
        )
    parts = dataset_id.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise DatasetError(
            f"{where} has an empty, '.' or '..' part: ids are (namespace/)name-vN, e.g. {EXAMPLE}."
        )
    if not _VERSION.search(dataset_id):
        raise DatasetError(
            f"{where} has no version: Minari ids end in -vN, e.g. {dataset_id}-v0 ({EXAMPLE})."
        )
    bad = [part for part in parts if not _PART.match(part)]
    if bad:
        raise DatasetError(
            f"{where}: {bad[0]!r} is not a valid id part (letters, digits, '_', '.', '+', '-'; "
            f"e.g. {EXAMPLE})."
        )
    dataset_dir(dataset_id)  # inside the store, lexically
    return dataset_id


def dataset_dir(dataset_id: str) -> Path:
    """The store folder of a checked id; raises if it would leave the store."""
    root = os.path.normpath(store_root())
    path = os.path.normpath(os.path.join(root, dataset_id))
    if os.path.commonpath([root, path]) != root or path == root:
        raise DatasetError(
            f"dataset id {dataset_id!r} resolves to {path}, outside the Minari store {root}."
        )
    return Path(path)
