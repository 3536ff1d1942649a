"""``dataset.frame_stack``: training stacks equal the eval env's, for images and Dicts with text."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import minari
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from imitation_lab.config.build import load_dataset
from imitation_lab.config.schemas import validate
from imitation_lab.data.normalize import make_normalizer
from imitation_lab.errors import ConfigError, DatasetError
from imitation_lab.eval_app import run_eval
from imitation_lab.inference import checkpoint_source, load_policy
from imitation_lab.policy.imitation import ImitationPolicy
from imitation_lab.train import train
from imitation_lab.training.fit import training_tensors
from tests.datasets.helpers import collect_random
from tests.datasets.test_dict_obs import minigrid_id  # noqa: F401 (fixture)
from tests.helpers import compose_config

COUNTER_ID = "tests/counter/random-v0"
SHAPE = (12, 12)


class CounterEnv(gym.Env):
    """Frames filled with ``10 * (seed % 5) + t``: a stack shows its order and its padding."""

    observation_space = gym.spaces.Box(0, 255, SHAPE, np.uint8)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.base, self.t = 10 * ((seed or 0) % 5), 0
        self.length = 3 + (seed or 0) % 4
        return self._frame(), {}

    def step(self, action):
        reward = float(action == self.t % 2)
        self.t += 1
        return self._frame(), reward, self.t >= self.length, False, {}

    def _frame(self) -> np.ndarray:
        return np.full(SHAPE, self.base + self.t, np.uint8)


gym.register("CounterImage-v0", entry_point=f"{__name__}:CounterEnv")


@pytest.fixture
def counter_id() -> str:
    if COUNTER_ID not in minari.list_local_datasets():
        env = gym.make("CounterImage-v0")
        env.action_space.seed(0)
        collect_random(COUNTER_ID, env, 4)  # episodes of 3, 4, 5, 6 steps
    return COUNTER_ID


def _tensors(loaded, actor_obs_space) -> object:
    from imitation_lab.actors import MLPActor

    actor = MLPActor(observation_space=actor_obs_space, act_dim=int(loaded.dataset.action_space.n))
    policy = ImitationPolicy(
        actor=actor,
        optim=torch.optim.Adam(actor.parameters()),
        action_space=loaded.dataset.action_space,
        action_bound_method=None,
    )
    norm = make_normalizer(loaded.data.spec, loaded.data.obs, enabled=True)
    return training_tensors(loaded.data, norm, [policy])


def _replay(env: gym.Env, seed: int, actions: np.ndarray) -> list:
    """The eval env's (stacked) observations along a dataset episode's actions."""
    obs, _ = env.reset(seed=seed)
    seen = [obs]
    for action in actions[:-1]:
        obs, *_ = env.step(int(action))
        seen.append(obs)
    return seen


def test_stacks_are_the_last_frames_clamped_at_the_episode_start(counter_id: str) -> None:
    loaded = load_dataset(counter_id, frame_stack=3)
    assert loaded.observation_space.shape == (3, *SHAPE)
    assert loaded.data.obs.shape == (18, *SHAPE)  # single frames, uint8, not copied
    tensors = _tensors(loaded, loaded.observation_space)
    stacks, _ = tensors.batch(torch.arange(18).view(1, -1))
    got = stacks[0, :, :, 0, 0].tolist()  # one pixel of each frame: its step value
    expected = []
    for seed in range(4):
        base = 10 * seed
        for t in range(3 + seed):
            expected.append([base + max(t - 2, 0), base + max(t - 1, 0), base + t])
    assert got == expected
    # the eval env stacks the same way (FrameStackObservation, reset padding)
    env = loaded.eval_env()
    rows = 0
    for seed in range(4):
        n = 3 + seed
        seen = _replay(env, seed, loaded.data.act[rows : rows + n].numpy())
        np.testing.assert_array_equal(np.stack(seen), stacks[0, rows : rows + n].numpy())
        rows += n


def test_frame_stacked_image_run_trains_evaluates_and_reloads(
    counter_id: str, tmp_path: Path
) -> None:
    overrides = [
        f"dataset.id={counter_id}",
        "dataset.frame_stack=3",
        "bounding=none",
        "actor=cnn",
        "actor.features=16",
        "trainer.steps=30",
        "trainer.eval_episodes=4",
        "trainer.eval_envs=2",
    ]
    summary = train(compose_config(overrides, tmp_path))
    assert summary["step"] == 30 and "final/return_mean" in summary
    policy = load_policy(tmp_path)
    assert policy.frame_stack == 3
    env = policy.make_env()
    assert env.observation_space.shape == (3, *SHAPE)
    obs, _ = env.reset(seed=0)
    assert policy(obs[None]).shape == (1,)
    with pytest.raises(DatasetError, match=r"frame_stack=3.*frame_stack=1"):
        checkpoint_source(str(tmp_path))


def test_dict_with_text_stacks_its_fed_parts(minigrid_id: str, tmp_path: Path) -> None:  # noqa: F811
    loaded = load_dataset(minigrid_id, frame_stack=2)
    assert loaded.observation_space["image"].shape == (2, 7, 7, 3)
    assert isinstance(loaded.observation_space["direction"], gym.spaces.MultiDiscrete)
    tensors = _tensors(loaded, loaded.observation_space)
    n = int(loaded.data.episode_lengths[0])
    stacks, _ = tensors.batch(torch.arange(n).view(1, -1))
    seen = _replay(loaded.eval_env(), 0, loaded.data.act[:n].numpy())
    assert sorted(seen[0]) == ["direction", "image"]  # the text mission is removed first
    for key in ("direction", "image"):
        np.testing.assert_array_equal(np.stack([o[key] for o in seen]), stacks[key][0].numpy())
    # K stacked members take stacks too, and each still equals its single run
    common = [f"dataset.id={minigrid_id}", "dataset.frame_stack=2", "bounding=none"]
    common += ["trainer.steps=10"]
    summary = train(compose_config([*common, "trainer.num_seeds=2"], tmp_path / "both"))
    assert 0.0 <= summary["final/success_rate"] <= 1.0
    single = train(compose_config([*common, "seed=1"], tmp_path / "single"))
    both = json.loads((tmp_path / "both/seed_1/DONE.json").read_text())["summary"]
    assert both["final/return_mean"] == pytest.approx(single["final/return_mean"], abs=1e-6)
    weights = [
        torch.load(tmp_path / run / "checkpoints/last.pt", weights_only=True)["policy"]
        for run in ("both/seed_1", "single")
    ]
    for key in weights[1]:
        torch.testing.assert_close(weights[0][key], weights[1][key], atol=1e-5, rtol=0)


def test_stacked_vector_observations_train_and_eval_repeats_the_run(tmp_path: Path) -> None:
    """A flat Box stacked is a [n, obs_dim] Box (the MLP flattens it); ``eval`` of the
    checkpoint alone rebuilds the stacking and repeats the run's final evaluation exactly."""
    overrides = ["dataset.frame_stack=3", "trainer.steps=200", "trainer.eval_episodes=2"]
    overrides += ["trainer.eval_envs=2", "actor.hidden_sizes=[16]", "logger=none"]
    summary = train(compose_config(overrides, tmp_path / "run"))
    state = torch.load(tmp_path / "run/checkpoints/last.pt", weights_only=True)
    assert state["policy"]["actor.net.0.weight"].shape == (16, 9)  # 3 x Pendulum's 3 dims
    cfg = OmegaConf.create(
        {"checkpoint": str(tmp_path / "run"), "episodes": None, "num_envs": None, "seed": None,
         "env_id": None, "device": "cpu", "video_episodes": 0}
    )  # fmt: skip
    assert run_eval(cfg, tmp_path / "eval")["return_mean"] == summary["final/return_mean"]


def test_frame_stack_below_one_is_one_error() -> None:
    with pytest.raises(ConfigError, match=r"dataset.frame_stack=0 .*>= 1"):
        validate(compose_config(["dataset.frame_stack=0"]))


def test_stacked_parts_keep_their_layout_and_offsets() -> None:
    """frames x CHW images merge frames into channels; a stacked Discrete(start=s) part (a
    MultiDiscrete with that start) one-hots ``value - s``."""
    from imitation_lab.actors import CNNActor
    from imitation_lab.actors.encoders import flatten_leaf
    from imitation_lab.data.obs import ObsSpec

    chw = ObsSpec.of(gym.spaces.Box(0, 255, (3, 40, 40), np.uint8)).stacked(2)
    actor = CNNActor(observation_space=chw.space, act_dim=2)
    assert actor.encoder.convs[0].in_channels == 6
    assert actor(torch.zeros(5, 2, 3, 40, 40, dtype=torch.uint8))[0].shape == (5, 2)
    leaf = ObsSpec.of(gym.spaces.Discrete(3, start=1)).stacked(2).leaves[0]
    assert isinstance(leaf.space, gym.spaces.MultiDiscrete)
    one_hot = flatten_leaf(leaf, torch.tensor([[1, 3]]))
    assert one_hot.tolist() == [[1.0, 0.0, 0.0, 0.0, 0.0, 1.0]]
