"""Every test runs against a temporary Minari store and an offline W&B; nothing hits the network."""

from __future__ import annotations

from pathlib import Path

import pytest

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
