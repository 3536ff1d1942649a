"""Dataset validation on load: each problem is one DatasetError that names the dataset."""

from __future__ import annotations

import gymnasium as gym
import minari
import numpy as np
import pytest
from minari.data_collector.episode_buffer import EpisodeBuffer

from imitation_lab.data.loader import load_training_data
from imitation_lab.data.store import load_or_build
from imitation_lab.errors import DatasetError
from tests.datasets.helpers import make_dataset, pendulum_episode


def test_valid_dataset_loads_with_provenance() -> None:
    make_dataset("tests/pendulum/valid-v3", [pendulum_episode(5), pendulum_episode(7, 1)])
    loaded = load_training_data("tests/pendulum/valid-v3")
    assert len(loaded.data) == 12
    assert loaded.data.obs.dtype.is_floating_point and loaded.data.obs.shape == (12, 3)
    info = loaded.info
    assert info["dataset_id"] == "tests/pendulum/valid-v3"
    assert info["dataset_version"] == 3
    assert (info["env_id"], info["env_version"], info["eval_env_id"]) == (
        "Pendulum-v1",
        1,
        "Pendulum-v1",
    )
    assert (info["total_episodes"], info["total_steps"]) == (2, 12)
    assert loaded.score_fn is None  # no reference scores: no normalized score


def test_empty_dataset() -> None:
    make_dataset("tests/pendulum/empty-v0", [])
    with pytest.raises(DatasetError, match=r"'tests/pendulum/empty-v0' is empty"):
        load_training_data("tests/pendulum/empty-v0")


@pytest.mark.parametrize("field", ["observations", "actions"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values(field: str, bad: float) -> None:
    episode = pendulum_episode(6)
    getattr(episode, field)[2, 0] = bad
    dataset_id = f"tests/pendulum/nonfinite-{field}-{int(np.isnan(bad))}-v0"
    make_dataset(dataset_id, [episode])
    with pytest.raises(DatasetError, match=rf"'{dataset_id}' has NaN/inf in its {field}"):
        load_training_data(dataset_id)


def test_observation_space_differs_from_env() -> None:
    """Data recorded with other bounds/shape than the env it names (e.g. another env version)."""
    wide = gym.spaces.Box(-10.0, 10.0, shape=(3,), dtype=np.float32)
    make_dataset("tests/pendulum/otherspace-v0", [pendulum_episode()], observation_space=wide)
    with pytest.raises(DatasetError, match=r"'tests/pendulum/otherspace-v0' has observation space"):
        load_training_data("tests/pendulum/otherspace-v0")


def test_discrete_actions_must_be_integers() -> None:
    episode = EpisodeBuffer(
        observations=np.zeros((3, 4), dtype=np.float32),
        actions=np.array([0.5, 1.0], dtype=np.float32),
        rewards=[1.0, 1.0],
        terminations=[False, True],
        truncations=[False, False],
        infos={},
    )
    make_dataset("tests/cartpole/floatacts-v0", [episode], env="CartPole-v1")
    with pytest.raises(DatasetError, match=r"'tests/cartpole/floatacts-v0' .* non-integer"):
        load_training_data("tests/cartpole/floatacts-v0")


def test_offline_download_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """The network boundary (Minari's remote listing) fails as it does without network."""

    def no_network(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Failed to resolve 'storage.googleapis.com'")

    monkeypatch.setattr("imitation_lab.data.store.probe_remote", lambda dataset_id: None)
    monkeypatch.setattr(minari.storage.hosting, "list_remote_datasets", no_network)
    with pytest.raises(DatasetError) as err:
        load_or_build("mujoco/halfcheetah/expert-v0")
    message = str(err.value)
    assert "mujoco/halfcheetah/expert-v0" in message and "ConnectionError" in message
    assert "network" in message


def test_download_that_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Minari#220: a download that 'succeeds' but writes no data is caught after the download."""
    monkeypatch.setattr("imitation_lab.data.store.probe_remote", lambda dataset_id: None)
    monkeypatch.setattr(minari, "download_dataset", lambda dataset_id: None)
    with pytest.raises(DatasetError, match=r"left no data .*Minari#220.*nothing in the store"):
        load_or_build("mujoco/hopper/medium-v0")


@pytest.mark.parametrize("download", [False, True])
def test_unbuilt_local_dataset_says_how_to_build_it_and_never_downloads(
    download: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids in imitation_lab's own namespace are made locally: the error names the preset."""
    import minari

    def no_network(*args, **kwargs):
        raise AssertionError("an imitation-lab/ id must never be downloaded")

    monkeypatch.setattr(minari, "download_dataset", no_network)
    with pytest.raises(DatasetError, match=r"imitation-lab collect preset=hopper_expert"):
        load_or_build("imitation-lab/hopper/expert-v0", download_missing=download)
