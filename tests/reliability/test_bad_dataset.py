"""Bad datasets → one ``error:`` line from the train entry point before any training.

The Hydra app runs in-process (``main()`` with ``sys.argv``) so the network boundary, Minari's
remote listing, can be replaced; the subprocess path of the same handler is covered in
``test_bad_config.py``.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import minari
import numpy as np
import pytest

from tests.datasets.helpers import make_dataset, pendulum_episode
from tests.reliability.conftest import run_main_in_process


def _no_network(*args: object, **kwargs: object) -> None:
    raise ConnectionError("Failed to resolve 'huggingface.co' (no network)")


def test_remote_id_when_the_hub_fails_after_the_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The probe got through, the download itself fails (e.g. the network dropped)."""
    monkeypatch.setattr("imitation_lab.data.store.probe_remote", lambda dataset_id: None)
    monkeypatch.setattr(minari.storage.hosting, "list_remote_datasets", _no_network)
    line = run_main_in_process(
        tmp_path, ["dataset.id=mujoco/hopper/expert-v0"], monkeypatch, capsys
    )
    assert "'mujoco/hopper/expert-v0'" in line and "ConnectionError" in line
    assert "network" in line


def test_unknown_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """The remote answers but has no such dataset."""
    monkeypatch.setattr("imitation_lab.data.store.probe_remote", lambda dataset_id: None)
    monkeypatch.setattr(minari.storage.hosting, "list_remote_datasets", lambda **kw: {})
    line = run_main_in_process(
        tmp_path, ["dataset.id=nobody/nothing/expert-v0"], monkeypatch, capsys
    )
    assert "'nobody/nothing/expert-v0'" in line and "Check the id" in line


def test_unknown_id_without_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    overrides = ["dataset.id=nobody/nothing/expert-v0", "dataset.download=false"]
    line = run_main_in_process(tmp_path, overrides, monkeypatch, capsys)
    assert "'nobody/nothing/expert-v0'" in line and "dataset.download=true" in line


def _nan_actions() -> list:
    episode = pendulum_episode(8)
    episode.actions[3, 0] = np.nan
    return [episode]


BAD_DATASETS = {
    # id: (episodes, extra create kwargs, what the message must say)
    "reliability/pendulum/wrongspace-v0": (
        lambda: [pendulum_episode(8)],
        {"observation_space": gym.spaces.Box(-10.0, 10.0, shape=(3,), dtype=np.float32)},
        "has observation space",
    ),
    "reliability/pendulum/empty-v0": (list, {}, "is empty"),
    "reliability/pendulum/nan-v0": (_nan_actions, {}, "NaN/inf in its actions"),
}


@pytest.mark.parametrize("dataset_id", sorted(BAD_DATASETS))
def test_bad_local_dataset(
    dataset_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    episodes, kwargs, fragment = BAD_DATASETS[dataset_id]
    make_dataset(dataset_id, episodes(), **kwargs)
    line = run_main_in_process(tmp_path, [f"dataset.id={dataset_id}"], monkeypatch, capsys)
    assert f"'{dataset_id}'" in line and fragment in line
