"""Writing datasets into the store without ever losing one: build aside, then swap, last.

A new dataset is written into a staging store inside the Minari store
(``<store>/.imitation_lab/staging/<id>/``; Minari ignores hidden folders), then moved into
place under the store lock with one rename. An existing dataset is replaced only when asked
(``overwrite``), only once the new one is complete, and only then deleted; a crash at any point
leaves either the old dataset or the new one, never half of one, and never neither.
Every path is checked to stay inside the store (``imitation_lab.data.ids``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from imitation_lab.data.ids import check_dataset_id, dataset_dir, store_root
from imitation_lab.errors import STORAGE_ERRNOS, DatasetError

log = logging.getLogger(__name__)
PRIVATE = ".imitation_lab"  # our folder inside the store (hidden: Minari does not list it)
_LOCK_DEPTH = {"depth": 0, "handle": None}


def private_dir() -> Path:
    return store_root() / PRIVATE


@contextlib.contextmanager
def store_lock() -> Iterator[None]:
    """One writer at a time in the store (builds, collect, swaps); re-entrant in a process."""
    if _LOCK_DEPTH["depth"] > 0:
        _LOCK_DEPTH["depth"] += 1
        try:
            yield
        finally:
            _LOCK_DEPTH["depth"] -= 1
        return
    folder = private_dir()
    _writable(folder)
    with open(folder / "store.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _LOCK_DEPTH.update(depth=1, handle=handle)
        try:
            yield
        finally:
            _LOCK_DEPTH.update(depth=0, handle=None)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _writable(folder: Path) -> None:
    """Create ``folder``; a read-only or full store is one ``DatasetError``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        if err.errno not in STORAGE_ERRNOS:
            raise
        raise store_write_error(err, folder) from err


def store_write_error(err: OSError, path: Path) -> DatasetError:
    """One line for an OS error while writing into the store (read-only, full, ...)."""
    root = store_root()
    if err.errno == errno.ENOSPC:
        what = "the disk is full"
        fix = "free space or point MINARI_DATASETS_PATH at another disk"
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        what = "the Minari store is not writable"
        fix = "point MINARI_DATASETS_PATH at a folder you can write to"
    else:
        what, fix = f"{type(err).__name__}: {err.strerror or err}", "check the store folder"
    return DatasetError(
        f"Cannot write {path}: {what} ({root}). Nothing in the store was replaced; {fix}."
    )


@contextlib.contextmanager
def staged_write(dataset_id: str, *, overwrite: bool = False) -> Iterator[Path]:
    """Write a dataset aside, then publish it: ``MINARI_DATASETS_PATH`` points at a private
    staging store while the block runs (Minari writes ``<root>/<dataset_id>`` there), and on
    success the dataset is moved into the real store (``publish``). On any error nothing in
    the store changes. Stale staging folders of killed processes are removed first.
    """
    check_dataset_id(dataset_id, key="dataset_id")
    staging = private_dir() / "staging"
    _writable(staging)
    _remove_stale(staging)
    root = staging / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    root.mkdir()
    try:
        with open(root / ".building", "w") as marker:
            fcntl.flock(marker, fcntl.LOCK_EX)  # held while building: not stale
            previous = os.environ.get("MINARI_DATASETS_PATH")
            os.environ["MINARI_DATASETS_PATH"] = str(root)
            try:
                yield root
            except OSError as err:
                if err.errno not in STORAGE_ERRNOS:
                    raise  # not the disk (e.g. a network error of a download): the caller's
                raise store_write_error(err, root / dataset_id) from err
            finally:
                if previous is None:
                    os.environ.pop("MINARI_DATASETS_PATH", None)
                else:
                    os.environ["MINARI_DATASETS_PATH"] = previous
            publish(dataset_id, root, overwrite=overwrite)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _remove_stale(staging: Path) -> None:
    for folder in staging.iterdir():
        marker = folder / ".building"
        try:
            with open(marker) as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # another process is building there
        except OSError:
            pass  # no marker: a folder left mid-creation
        shutil.rmtree(folder, ignore_errors=True)


def publish(dataset_id: str, staging_root: Path, *, overwrite: bool) -> Path:
    """Move the complete dataset ``staging_root/<id>`` into the store (the last step).

    Without ``overwrite`` an existing dataset (e.g. built meanwhile by another process) is
    kept and this raises; with it, the old one is moved aside, the new one moved in, and only
    then the old one deleted.
    """
    target = dataset_dir(check_dataset_id(dataset_id, key="dataset_id"))
    staged = staging_root / dataset_id
    if not (staged / "data").is_dir():
        raise DatasetError(
            f"Writing '{dataset_id}' left no data in {staged} (for downloads: Minari#220); "
            "nothing in the store was changed. Retry, or check the id and the remote."
        )
    with store_lock():
        old: Path | None = None
        try:
            if os.path.lexists(target):
                if not overwrite:
                    raise DatasetError(
                        f"Dataset '{dataset_id}' already exists in the local Minari store "
                        f"({target}); it was kept. Pass overwrite=true to replace it, or pick "
                        "another dataset_id."
                    )
                old = private_dir() / "trash" / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
                old.parent.mkdir(parents=True, exist_ok=True)
                os.rename(target, old)  # the old one is set aside, not deleted yet
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staged, target)
        except OSError as err:
            if old is not None and not os.path.lexists(target):
                os.rename(old, target)  # put the old one back
            raise store_write_error(err, target) from err
        _ensure_namespace(dataset_id)
        if old is not None:  # the new dataset is in place: now the old one may go
            _delete(old)
    log.info("Dataset %s written to %s.", dataset_id, target)
    return target


def _delete(path: Path) -> None:
    if path.is_symlink():
        path.unlink()  # a linked dataset: the link goes, its target stays
    else:
        shutil.rmtree(path, ignore_errors=True)


def _ensure_namespace(dataset_id: str) -> None:
    """Minari's namespace metadata for the dataset's namespace, in the real store."""
    from minari.dataset.minari_dataset import parse_dataset_id
    from minari.namespace import create_namespace, list_local_namespaces

    namespace = parse_dataset_id(dataset_id)[0]
    if namespace is not None and namespace not in list_local_namespaces():
        with contextlib.suppress(ValueError):  # created meanwhile
            create_namespace(namespace)
