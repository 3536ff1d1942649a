"""Every test runs against a temporary Minari store and an offline W&B; nothing hits the network."""

from __future__ import annotations

import atexit
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.slurm.cluster import SlurmCluster, unavailable_reason

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "conf"


@pytest.fixture(scope="session")
def minari_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One temp Minari store per test session (built-in datasets get built once)."""
    return tmp_path_factory.mktemp("minari_datasets")


@pytest.fixture(autouse=True)
def _isolated_env(minari_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(minari_store))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    monkeypatch.setenv("MPLBACKEND", "Agg")
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
