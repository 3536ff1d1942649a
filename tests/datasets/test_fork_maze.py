"""The built-in bimodal data: the fork maze's expert goes round the obstacle on either side,
the side is a fair coin the fed observation does not show, and the dataset records its maze
(its eval env is the fork maze, not gymnasium's open one)."""

from __future__ import annotations

import gymnasium as gym
import minari
import numpy as np

from imitation_lab.collect import collect
from imitation_lab.collection.maze_expert import FORK_MAZE, fork_maze_expert
from tests.datasets.helpers import compose_collect


def test_the_expert_takes_both_ways_and_always_arrives() -> None:
    expert = fork_maze_expert()
    env = gym.make("PointMaze_Open-v3", maze_map=FORK_MAZE, continuing_task=False)
    sides, arrived, entries = [], 0, []
    for episode in range(24):
        obs, _ = env.reset(seed=episode)
        sides.append(expert.side(obs["desired_goal"]))
        entry = None
        for _ in range(300):
            if entry is None and obs["observation"][1] > -1.0:  # entering the fork's cell
                entry = obs["observation"].copy()
            action = expert({k: v[None] for k, v in obs.items()})[0]
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                arrived += bool(info["success"])
                break
        entries.append(entry)
    env.close()
    assert arrived == 24
    assert 6 <= sides.count("left") <= 18  # a fair coin over 24 episodes
    # where the two ways split, the state does not tell them apart: x, y, vx, vy of the
    # left-going and the right-going episodes overlap (means within one spread)
    entries_by_side = {
        side: np.stack([e for e, s in zip(entries, sides, strict=True) if s == side])
        for side in ("left", "right")
    }
    gap = np.abs(entries_by_side["left"].mean(0) - entries_by_side["right"].mean(0))
    spread = np.concatenate(list(entries_by_side.values())).std(0)
    assert bool(np.all(gap <= spread + 1e-3)), (gap, spread)


def test_the_dataset_records_its_maze_for_evaluation(tmp_path) -> None:
    summary = collect(compose_collect([
        "source=scripted", "source.name=pointmaze_fork", "dataset_id=me/fork/small-v0",
        "episodes=4", "ref_episodes=1", "num_envs=2",
    ]))  # fmt: skip
    assert summary["episodes"] == 4
    env = minari.load_dataset("me/fork/small-v0").recover_environment(eval_env=True)
    assert env.unwrapped.maze.maze_map == FORK_MAZE
    env.close()
