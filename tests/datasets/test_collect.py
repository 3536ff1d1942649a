"""``collect``: rollouts, noise, sources and the Hydra app, on real envs and real Minari files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import minari
import numpy as np
import pytest
from hydra.errors import HydraException

from imitation_lab.collect import collect
from imitation_lab.collection.experts import CartPoleExpert, PendulumSwingUpExpert
from imitation_lab.collection.writer import (
    EpsilonNoise,
    GaussianNoise,
    average_return,
    rollout,
)
from imitation_lab.errors import ConfigError, DatasetError
from tests.conftest import REPO_ROOT
from tests.datasets.helpers import compose_collect


def test_rollout_does_not_depend_on_the_number_of_envs() -> None:
    kwargs = {"seed": 3, "episodes": 4, "noise": GaussianNoise(0.2)}
    one = rollout("Pendulum-v1", PendulumSwingUpExpert(), num_envs=1, **kwargs)
    three = rollout("Pendulum-v1", PendulumSwingUpExpert(), num_envs=3, **kwargs)
    assert len(one.buffers) == 4
    for a, b in zip(one.buffers, three.buffers, strict=True):
        np.testing.assert_array_equal(a.observations, b.observations)
        np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_allclose(one.returns, three.returns)


class StepCounter:
    """A stateful policy like rl-zoo's time-feature experts: action = 0.01 x steps since reset."""

    def __init__(self) -> None:
        self.steps: np.ndarray | None = None

    def reset(self, mask: np.ndarray | None = None) -> None:
        if mask is None or self.steps is None:
            self.steps = None
        else:
            self.steps[np.asarray(mask)] = 0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if self.steps is None:
            self.steps = np.zeros(len(obs), dtype=np.int64)
        actions = (0.01 * self.steps)[:, None].astype(np.float32)
        self.steps += 1
        return actions


def test_stateful_policies_are_reset_per_episode() -> None:
    result = rollout("Pendulum-v1", StepCounter(), seed=0, episodes=5, num_envs=3)
    assert len(result.buffers) == 5
    for buffer in result.buffers:
        expected = 0.01 * np.arange(len(buffer.actions), dtype=np.float32)
        np.testing.assert_allclose(buffer.actions[:, 0], expected, rtol=1e-6)


def test_noise_changes_actions_and_stays_in_bounds() -> None:
    clean = rollout("Pendulum-v1", PendulumSwingUpExpert(), seed=0, episodes=1)
    noisy = rollout(
        "Pendulum-v1", PendulumSwingUpExpert(), seed=0, episodes=1, noise=GaussianNoise(0.5)
    )
    first_clean, first_noisy = clean.buffers[0].actions[0], noisy.buffers[0].actions[0]
    assert not np.allclose(first_clean, first_noisy)  # same first obs, perturbed action
    assert np.abs(noisy.buffers[0].actions).max() <= 2.0


def test_epsilon_noise_on_discrete_actions() -> None:
    space = gym.spaces.Discrete(2)
    rngs = [np.random.default_rng(i) for i in range(200)]
    actions = EpsilonNoise(1.0)(np.zeros(200, dtype=np.int64), space, rngs)
    assert set(actions.tolist()) == {0, 1}
    unchanged = EpsilonNoise(0.0)(np.zeros(200, dtype=np.int64), space, rngs)
    assert (unchanged == 0).all()


def test_steps_budget_takes_whole_episodes() -> None:
    result = rollout("CartPole-v1", CartPoleExpert(), seed=0, steps=700, num_envs=4)
    assert result.steps >= 700
    assert result.steps - int(result.lengths[-1]) < 700  # the fewest first episodes
    assert all(buf.truncations[-1] or buf.terminations[-1] for buf in result.buffers)


def test_collect_app_scripted_expert(tmp_path: Path) -> None:
    cfg = compose_collect(
        ["dataset_id=tests/pendulum/collected-v0", "episodes=3", "ref_episodes=3", "num_envs=2"]
    )
    summary = collect(cfg)
    dataset = minari.load_dataset("tests/pendulum/collected-v0")
    assert (dataset.total_episodes, dataset.total_steps) == (3, 600)
    assert summary["steps"] == 600
    meta = dataset.storage.metadata
    expected_max = average_return(
        "Pendulum-v1", PendulumSwingUpExpert(), episodes=3, seed=1_000_000
    )
    assert meta["ref_max_score"] == pytest.approx(expected_max)
    assert meta["ref_min_score"] < -900 < meta["ref_max_score"]  # random policy vs swing-up
    assert meta["algorithm_name"] == "scripted-energy-swingup-pd"
    assert "uniform random policy" in meta["description"]
    assert dataset.recover_environment(eval_env=True).spec.id == "Pendulum-v1"
    # normalized score works through Minari's own function
    assert minari.get_normalized_score(dataset, np.array(expected_max)) == pytest.approx(1.0)


def test_collect_refuses_to_overwrite_unless_asked() -> None:
    overrides = ["dataset_id=tests/pendulum/twice-v0", "episodes=1", "ref_episodes=1"]
    collect(compose_collect(overrides))
    with pytest.raises(DatasetError, match=r"already exists.*overwrite=true"):
        collect(compose_collect(overrides))
    collect(compose_collect([*overrides[:1], "episodes=2", "ref_episodes=1", "overwrite=true"]))
    assert minari.load_dataset("tests/pendulum/twice-v0").total_episodes == 2


def test_noisy_preset_composes_and_collects() -> None:
    cfg = compose_collect(["preset=pendulum_noisy", "episodes=2", "ref_episodes=1"])
    assert cfg.noise.std == 0.3
    summary = collect(cfg)
    assert summary["dataset_id"] == "imitation-lab/pendulum/noisy-v0"
    description = minari.load_dataset(summary["dataset_id"]).storage.metadata["description"]
    assert "Gaussian action noise std=0.3" in description


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        (["source.name=acrobot"], DatasetError, "Unknown scripted expert 'acrobot'"),
        (["episodes=null"], ConfigError, "exactly one of episodes / steps"),
        (["steps=100"], ConfigError, "exactly one of episodes / steps"),
        (["noise=epsilon", "noise.epsilon=1.5"], ConfigError, "noise.epsilon=1.5"),
        (
            ["source=zoo", "source.name=tqc_HalfCheetah", "source.experts_dir=/nonexistent"],
            DatasetError,
            "Experts folder /nonexistent does not exist",
        ),
        (["source=checkpoint", "source.path=/nonexistent/last.pt"], DatasetError, "not exist"),
    ],
)
def test_collect_user_errors(overrides: list[str], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        collect(compose_collect(["dataset_id=tests/pendulum/err-v0", *overrides]))


def test_unknown_source_fails_at_compose() -> None:
    with pytest.raises(HydraException, match="source"):
        compose_collect(["source=gym_zoo"])


def test_zoo_folder_name_must_exist(tmp_path: Path) -> None:
    (tmp_path / "sac_Pendulum").mkdir()
    with pytest.raises(DatasetError, match="tqc_Pendulum"):
        collect(
            compose_collect(
                [
                    "dataset_id=tests/pendulum/zoo-v0",
                    "source=zoo",
                    "source.name=tqc_Pendulum",
                    f"source.experts_dir={tmp_path}",
                ]
            )
        )


@pytest.mark.slow
def test_cli_collect_subcommand(tmp_path: Path, minari_store: Path) -> None:
    """``imitation-lab collect`` end to end in a subprocess; ``minari show`` reads the result."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "imitation_lab.cli",
            "collect",
            "source.name=cartpole",
            "dataset_id=tests/cartpole/cli-v0",
            "episodes=2",
            "ref_episodes=2",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "minari"), "show", "tests/cartpole/cli-v0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "CartPole-v1" in shown.stdout and "1000" in shown.stdout  # 2 x 500 steps


def test_cli_collect_error_is_one_line(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "imitation_lab.collect",
            "source.name=acrobot",
            "dataset_id=tests/x/err-v0",
            f"hydra.run.dir={tmp_path}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert "error: Unknown scripted expert 'acrobot'" in run.stderr
    assert "Traceback" not in run.stderr
