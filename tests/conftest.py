"""Every test runs against a temporary Minari store and an offline W&B; nothing hits the network."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.slurm.cluster import SlurmCluster, unavailable_reason

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "conf"
#: W&B offline and quiet, plots without a display: every test and its subprocesses
OFFLINE_ENV = {
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
    "WANDB_DISABLE_GIT": "true",
    "MPLBACKEND": "Agg",
}


def subprocess_env(minari_store: Path, **extra: str) -> dict[str, str]:
    """A test subprocess's environment: ours without W&B keys or Hydra flags, the suite's temp
    Minari store, offline W&B, one thread; ``extra`` last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "HYDRA_"))}
    env |= OFFLINE_ENV | {"MINARI_DATASETS_PATH": str(minari_store), "OMP_NUM_THREADS": "1"}
    return env | extra


@pytest.fixture(scope="session")
def minari_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One temp Minari store per test session (built-in datasets get built once)."""
    return tmp_path_factory.mktemp("minari_datasets")


@pytest.fixture(autouse=True)
def _isolated_env(minari_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(minari_store))
    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)


@pytest.fixture(autouse=True)
def _sigint_as_it_was() -> Iterator[None]:
    """Each test leaves SIGINT's handler and mask as it found them (a Jupyter kernel manager
    installs its own): what the next test's subprocesses inherit stays the suite's. The suite
    itself may start with SIGINT ignored (a CI runner that starts it in the background); tests
    that send Ctrl-C start their process as a terminal would (``tests.pausing``)."""
    before = signal.getsignal(signal.SIGINT)
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    yield
    if signal.getsignal(signal.SIGINT) is not before:
        signal.signal(signal.SIGINT, before)
    if signal.pthread_sigmask(signal.SIG_BLOCK, []) != blocked:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """A real single-node Slurm cluster for the session (skips with the reason where it cannot
    start); its daemons are stopped by their pid files at the end."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"no Slurm cluster: {reason}")
    # not under pytest's tmp dirs: those are 0700 and munged runs as user munge
    root = Path(tempfile.mkdtemp(prefix="imitation-lab-slurm-"))
    cluster = SlurmCluster(root)
    try:
        cluster.start()
    except RuntimeError as err:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"Slurm cannot start here: {err}")
    atexit.register(cluster.stop)  # also on an interrupted session
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
