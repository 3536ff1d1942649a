"""Dict, goal-conditioned, image and text observations: from a plain-Minari dataset to a run."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import minari
import numpy as np
import pytest
import torch

from imitation_lab.actors import CNNActor, MLPActor, MultiInputActor
from imitation_lab.collection.minigrid_expert import GoalSuccessInfo, register_minigrid_envs
from imitation_lab.collection.writer import storable_space
from imitation_lab.config.build import load_dataset
from imitation_lab.config.checks import check_mlp_inputs
from imitation_lab.config.schemas import validate
from imitation_lab.data.normalize import make_normalizer
from imitation_lab.data.obs import ObsSpec
from imitation_lab.errors import ConfigError, DatasetError
from imitation_lab.train import train
from imitation_lab.training.fit import training_tensors
from tests.datasets.helpers import collect_random
from tests.helpers import compose_config

TINY = ["trainer.steps=20", "trainer.eval_episodes=1", "trainer.eval_envs=1"]


@pytest.fixture
def minigrid_id() -> str:
    """A MiniGrid dataset (image + Discrete direction + Text mission) written by DataCollector
    into the temp store (function scope: the store's env var is set per test)."""
    register_minigrid_envs()
    dataset_id = "tests/minigrid/random-v0"
    if dataset_id not in minari.list_local_datasets():
        env = GoalSuccessInfo(gym.make("MiniGrid-Empty-5x5-v0", max_steps=20))
        env.action_space.seed(0)
        collect_random(
            dataset_id, env, 2, {"observation_space": storable_space(env.observation_space)}
        )
    return dataset_id


@pytest.fixture
def pointmaze_id() -> str:
    """A PointMaze dataset (Dict of float vectors, info["success"]) written by DataCollector."""
    from imitation_lab.collection.maze_expert import register_robotics_envs

    register_robotics_envs()
    dataset_id = "tests/pointmaze/random-v0"
    if dataset_id not in minari.list_local_datasets():
        env = gym.make("PointMaze_UMaze-v3", max_episode_steps=30)
        env.action_space.seed(0)
        collect_random(dataset_id, env, 2)
    return dataset_id


def test_dict_observations_keep_their_keys_and_dtypes(minigrid_id: str) -> None:
    loaded = load_dataset(minigrid_id)
    obs = loaded.data.obs
    assert sorted(obs.keys()) == ["direction", "image"]  # the text mission is dropped
    assert obs.image.dtype == torch.uint8 and obs.direction.dtype == torch.int64
    assert loaded.obs_spec is not None and loaded.obs_spec.dropped == ("mission",)
    # images stay uint8 and are not copied into the training tensors
    norm = make_normalizer(loaded.data.spec, obs, enabled=True)
    policy_actor = MLPActor(observation_space=loaded.observation_space, act_dim=7)
    tensors = training_tensors(loaded.data, norm, [_policy(policy_actor, loaded)])
    assert tensors.obs.image.data_ptr() == obs.image.data_ptr()
    batch, _ = tensors.batch(torch.zeros(1, 4, dtype=torch.long))
    assert batch.image.shape == (1, 4, 7, 7, 3) and batch.image.dtype == torch.uint8


def _policy(actor, loaded):
    from imitation_lab.policy.imitation import ImitationPolicy

    return ImitationPolicy(
        actor=actor,
        optim=torch.optim.Adam(actor.parameters()),
        action_space=loaded.dataset.action_space,
        action_bound_method=None,
    )


def test_obs_keys_select_and_unknown_keys_are_one_error(minigrid_id: str) -> None:
    loaded = load_dataset(minigrid_id, obs_keys=["image"])
    assert list(loaded.data.obs.keys()) == ["image"]
    with pytest.raises(DatasetError, match=r"tests/minigrid/random-v0.*no observation key 'pos'"):
        load_dataset(minigrid_id, obs_keys=["pos"])
    with pytest.raises(DatasetError, match=r"'mission' \(a text part"):
        load_dataset(minigrid_id, obs_keys=["mission"])


@pytest.mark.parametrize("actor", ["mlp", "multi_input"])
def test_image_dict_dataset_trains_and_evaluates(
    minigrid_id: str, tmp_path: Path, actor: str
) -> None:
    overrides = [f"dataset.id={minigrid_id}", "bounding=none", f"actor={actor}", *TINY]
    if actor == "multi_input":
        overrides += ["actor.hidden_sizes=[16]", "actor.image_features=16"]
    summary = train(compose_config(overrides, tmp_path))
    assert summary["step"] == 20 and 0.0 <= summary["final/success_rate"] <= 1.0
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert info["obs_keys"] == ["direction", "image"]


def test_goal_conditioned_dataset_reports_success_rate(pointmaze_id: str, tmp_path: Path) -> None:
    summary = train(compose_config([f"dataset.id={pointmaze_id}", *TINY], tmp_path))
    assert "final/success_rate" in summary
    state = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert "norms.observation.mean" in state["normalizer"]  # per-key statistics


def test_two_seeds_on_dict_observations_equal_single_runs(
    pointmaze_id: str, tmp_path: Path
) -> None:
    """The MLP's flatten step runs once before the stacked MLP; members equal single runs."""
    common = [f"dataset.id={pointmaze_id}", "trainer.steps=15", "trainer.eval_episodes=0"]
    train(compose_config([*common, "trainer.num_seeds=2"], tmp_path / "both"))
    train(compose_config([*common, "seed=1"], tmp_path / "single"))
    both = torch.load(tmp_path / "both/seed_1/checkpoints/last.pt", weights_only=True)["policy"]
    single = torch.load(tmp_path / "single/checkpoints/last.pt", weights_only=True)["policy"]
    for key in single:
        torch.testing.assert_close(both[key], single[key], atol=1e-5, rtol=0)


def test_stacked_members_refuse_other_actors_at_start() -> None:
    cfg = compose_config(["actor=cnn", "trainer.num_seeds=2"])
    with pytest.raises(ConfigError, match=r"trainer.num_seeds=2 .*CNNActor.*actor=mlp"):
        validate(cfg)


def test_actors_take_every_kind_of_observation() -> None:
    image = gym.spaces.Box(0, 255, (40, 40, 3), np.uint8)
    spaces = {
        "tuple": gym.spaces.Tuple((gym.spaces.Box(-1, 1, (2,)), gym.spaces.Discrete(3))),
        "nested": gym.spaces.Dict(
            {
                "a": gym.spaces.Dict({"b": gym.spaces.MultiBinary(2)}),
                "c": gym.spaces.Box(-1, 1, (2, 2)),
            }
        ),
        "image": gym.spaces.Dict({"img": image, "v": gym.spaces.Box(-1, 1, (3,))}),
    }
    for name, space in spaces.items():
        obs = ObsSpec.of(space).zeros(2)
        for actor in (MLPActor, MultiInputActor):
            logits, _ = actor(observation_space=space, act_dim=4)(obs)
            assert logits.shape == (2, 4), (name, actor)
    frames = torch.zeros(2, 40, 40, 3, dtype=torch.uint8)
    assert CNNActor(observation_space=image, act_dim=2)(frames)[0].shape == (2, 2)
    assert MLPActor(obs_dim=3, act_dim=1)(torch.zeros(2, 3))[0].shape == (2, 1)  # Python API
    with pytest.raises(ConfigError, match="actor=multi_input"):
        CNNActor(observation_space=spaces["image"], act_dim=2)


def test_spaces_that_cannot_be_fed_are_one_error() -> None:
    with pytest.raises(DatasetError, match=r"me/text-v0.*no observation part"):
        ObsSpec.of(gym.spaces.Text(8), dataset_id="me/text-v0")
    graph = gym.spaces.Graph(gym.spaces.Box(0, 1, (2,)), gym.spaces.Discrete(2))
    with pytest.raises(DatasetError, match=r"me/graph-v0.*'g' of type Graph.*dataset.obs_keys"):
        ObsSpec.of(
            gym.spaces.Dict({"g": graph, "v": gym.spaces.Box(0, 1, (1,))}), dataset_id="me/graph-v0"
        )
    big = gym.spaces.Box(0, 255, (210, 160, 3), np.uint8)
    with pytest.raises(ConfigError, match=r"atari/pong/expert-v0.*actor=cnn.*actor=multi_input"):
        check_mlp_inputs(big, "atari/pong/expert-v0")
