"""The datasets imitation_lab builds itself, offline, from its scripted experts, on first use."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from minari import MinariDataset

from imitation_lab.collection.experts import SCRIPTED_EXPERTS
from imitation_lab.collection.writer import collect_dataset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuiltinRecipe:
    """How to build one dataset: which scripted expert, how many episodes, the seed."""

    expert: str  # a key of SCRIPTED_EXPERTS
    episodes: int
    seed: int
    description: str
    ref_episodes: int = 50


BUILTIN_RECIPES: dict[str, BuiltinRecipe] = {
    "imitation-lab/pendulum/expert-v0": BuiltinRecipe(
        expert="pendulum",
        episodes=50,
        seed=0,
        description=(
            "Pendulum-v1 swing-up expert (energy pumping + PD balance, imitation_lab built-in), "
            "50 episodes x 200 steps. ref_min_score: uniform random policy; ref_max_score: "
            "the expert, both averaged over 50 seeded episodes."
        ),
    ),
    "imitation-lab/pendulum/mixed-v0": BuiltinRecipe(
        expert="pendulum_mixed",
        episodes=150,
        seed=0,
        description=(
            "Pendulum-v1, mixed quality: each episode is, with probability 1/3 each, the "
            "swing-up expert, the expert with Gaussian action noise (std 0.5 x the torque "
            "range, clipped) or uniform random torques (imitation_lab built-in), 150 episodes "
            "x 200 steps. ref_min_score: uniform random policy; ref_max_score: the noiseless "
            "expert, both over 50 seeded episodes. For filtered BC (dataset.top_fraction)."
        ),
    ),
    "imitation-lab/cartpole/expert-v0": BuiltinRecipe(
        expert="cartpole",
        episodes=20,
        seed=0,
        description=(
            "CartPole-v1 linear state-feedback expert (imitation_lab built-in), 20 episodes of "
            "500 steps. ref_min_score: uniform random policy; ref_max_score: the expert."
        ),
    ),
    "imitation-lab/pointmaze/umaze-v0": BuiltinRecipe(
        expert="pointmaze_umaze",
        episodes=100,
        seed=0,
        description=(
            "PointMaze_UMaze-v3 (gymnasium-robotics; Dict observation: observation, "
            "achieved_goal, desired_goal; sparse reward, continuing task) waypoint-planner + PD "
            "expert (imitation_lab built-in, as D4RL's maze data was made), 100 episodes x 300 "
            "steps. ref_min_score: uniform random policy; ref_max_score: the expert, both over "
            "50 seeded episodes."
        ),
    ),
    "imitation-lab/pointmaze/fork-v0": BuiltinRecipe(
        expert="pointmaze_fork",
        episodes=200,
        seed=0,
        description=(
            "PointMaze (gymnasium-robotics) on a fork maze: one obstacle between the start "
            "pocket and the goal, gone round on the left or on the right with probability 1/2 "
            "each (the sign of the goal's offset in its cell, which observation alone does not "
            "show): a bimodal demonstration set where the two ways split at speed, at the "
            "same states. Waypoint + PD expert (imitation_lab built-in), episodes end at the "
            "goal (continuing_task=False). ref_min_score: uniform random policy; ref_max_score: "
            "the expert, both over 50 seeded episodes."
        ),
    ),
    "imitation-lab/minigrid/memory-fixedfork-s13-v0": BuiltinRecipe(
        expert="minigrid_memory",
        episodes=500,
        seed=0,
        description=(
            "MiniGrid's MemoryS13 with the fork's objects in a fixed order (key above, ball "
            "below; imitation_lab.envs.memory): a scripted expert looks at the cue in the start "
            "room, walks the hallway with it out of sight, then steps next to the matching "
            "object (imitation_lab built-in), 500 episodes. A memory task: which way to turn "
            "is the cue's type, out of sight at the fork. ref_min_score: uniform random policy; "
            "ref_max_score: the expert."
        ),
    ),
    "imitation-lab/minigrid/empty-random-6x6-v0": BuiltinRecipe(
        expert="minigrid_empty_random",
        episodes=500,
        seed=0,
        description=(
            "MiniGrid-Empty-Random-6x6-v0 (Dict observation: 7x7x3 uint8 image, direction, "
            "text mission; 3 of 7 actions used) shortest-path expert on the true grid "
            "(imitation_lab built-in), 500 episodes. info['success'] = goal reached "
            "(GoalSuccessInfo in the env specs). ref_min_score: uniform random policy; "
            "ref_max_score: the expert, both over 50 seeded episodes."
        ),
    ),
}


def build_builtin(dataset_id: str) -> MinariDataset:
    """Build the built-in dataset ``dataset_id`` (a key of ``BUILTIN_RECIPES``) into the store."""
    recipe = BUILTIN_RECIPES[dataset_id]
    expert = SCRIPTED_EXPERTS[recipe.expert]
    log.info(
        "Building %s from the built-in %s expert (%d episodes)...",
        dataset_id,
        expert.env_id,
        recipe.episodes,
    )
    return collect_dataset(
        dataset_id,
        expert.env_id,
        expert.make(),
        episodes=recipe.episodes,
        seed=recipe.seed,
        algorithm_name=expert.algorithm_name,
        description=recipe.description,
        ref_episodes=recipe.ref_episodes,
        env_wrappers=expert.env_wrappers,
        env_kwargs=dict(expert.env_kwargs),
        ref_policy=None if expert.reference is None else expert.reference(),
    )
