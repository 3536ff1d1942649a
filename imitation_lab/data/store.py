"""Find a Minari dataset: local store first, then a builder (built-ins), then Minari's download.

Builders are passed in by the caller (``imitation_lab.config.build`` passes the built-in recipes of
``imitation_lab.collection.builtin``): reading datasets does not depend on making them. Ids
are checked before any filesystem call; builds and downloads are written aside and moved in
whole (``imitation_lab.data.staging``), so a loader never sees half a dataset.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlparse

import minari
from minari import MinariDataset

from imitation_lab.data.ids import check_dataset_id, dataset_dir, store_root
from imitation_lab.data.staging import staged_write, store_lock
from imitation_lab.errors import DatasetError

log = logging.getLogger(__name__)
#: dataset id -> a function that builds it into the local store
Builders = Mapping[str, Callable[[], object]]
#: ids in this namespace are made by imitation_lab (built-in or `collect`), never downloaded
OWN_NAMESPACE = "imitation-lab"
PROBE_TIMEOUT_S = 2.0  # one connection attempt to the remote before downloading
REMOTE_HOSTS = {"hf": "huggingface.co", "gcp": "storage.googleapis.com"}


def is_local(dataset_id: str) -> bool:
    """Whether ``dataset_id`` (checked first) is complete in the local store."""
    return (dataset_dir(check_dataset_id(dataset_id)) / "data").exists()


def remote_host() -> tuple[str, int] | None:
    """The host Minari downloads from (``MINARI_REMOTE``, Hugging Face by default), or None
    when it cannot be probed directly (behind a proxy)."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    from minari.storage.remotes import DEFAULT_REMOTE

    kind = os.environ.get("MINARI_REMOTE", DEFAULT_REMOTE).split("://", 1)[0]
    if kind == "hf" and os.environ.get("HF_ENDPOINT"):
        parsed = urlparse(os.environ["HF_ENDPOINT"])
        return parsed.hostname or "huggingface.co", parsed.port or 443
    host = REMOTE_HOSTS.get(kind)
    return (host, 443) if host else None


def probe_remote(dataset_id: str) -> None:
    """One quick connection to the remote: offline is one clear error in seconds, not after
    the hub's retry storm."""
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise _offline(dataset_id, "HF_HUB_OFFLINE=1 is set")
    address = remote_host()
    if address is None:
        return
    start = time.monotonic()
    try:
        socket.create_connection(address, timeout=PROBE_TIMEOUT_S).close()
    except OSError as err:
        waited = time.monotonic() - start
        raise _offline(dataset_id, f"{address[0]} did not answer ({err}; {waited:.1f} s)") from err


def _offline(dataset_id: str, why: str) -> DatasetError:
    return DatasetError(
        f"Dataset '{dataset_id}' is not in the local Minari store ({store_root()}) and cannot "
        f"be downloaded: {why}. Connect to the network and retry, copy the dataset into the "
        "store, or train on a built-in dataset (dataset=pendulum)."
    )


def download(dataset_id: str, builders: Builders) -> None:
    """Minari's remote download into a staging store, then moved in whole."""
    probe_remote(dataset_id)
    try:
        with staged_write(dataset_id):
            minari.download_dataset(dataset_id)
    except DatasetError:
        raise
    except Exception as err:  # network errors come from several libraries (urllib3, gcs, hf)
        raise DatasetError(
            f"Dataset '{dataset_id}' is not in the local Minari store ({store_root()}), "
            f"is not a built-in dataset ({', '.join(sorted(builders))}), and "
            f"downloading it failed: {type(err).__name__}: {err}. Check the id "
            "(`minari list remote`), your network, or build it with imitation_lab's collect."
        ) from err


def _not_built(dataset_id: str) -> DatasetError:
    """An id of our own namespace that is neither local nor built-in: say how to make it."""
    parts = dataset_id.split("/")
    preset = "_".join(parts[1:]).rsplit("-v", 1)[0] if len(parts) == 3 else "<name>"
    return DatasetError(
        f"Dataset '{dataset_id}' is not in the local Minari store ({store_root()}) and is "
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
    check_dataset_id(dataset_id)
    if not is_local(dataset_id):
        with store_lock():
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
                        f"({store_root()}) and dataset.download=false. Set "
                        "dataset.download=true, or pick a built-in id: "
                        f"{', '.join(sorted(builders))}."
                    )
    try:
        return minari.load_dataset(dataset_id)
    except Exception as err:
        raise unreadable(dataset_id, err) from err


def unreadable(dataset_id: str, err: BaseException) -> DatasetError:
    """A dataset whose files cannot be read (corrupt, truncated, foreign): one line."""
    detail = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return DatasetError(
        f"Dataset '{dataset_id}' at {dataset_dir(dataset_id)} cannot be read "
        f"({type(err).__name__}: {detail}): its files are corrupt, truncated or not Minari's. "
        f"Remove it with `minari delete {dataset_id}` and run again (built-in ids are rebuilt, "
        "remote ids downloaded; your own: imitation-lab collect ... overwrite=true)."
    )
